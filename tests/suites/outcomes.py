"""What a run of another project's suite gave, and how it compares with our classification.

``classification.json`` (beside this module) lists, per suite, every test the lab is allowed
to fail, grouped by a reason and one of these kinds:

- ``out-of-scope``: what the lab does not simulate (other services, IAM, KMS, HTTP, email,
  SMS, Lambda or application endpoints, several accounts or regions);
- ``on-purpose``: the lab follows AWS's recorded answer or documentation where the test
  expects something else (for moto's suite: moto's own behaviour);
- ``wire-noise``: moto's HTTP server answers in a form the test reads differently (protocol
  details the lab does not control);
- ``cannot-follow``: AWS behaviour the lab cannot reproduce (e.g. signatures over AWS's own
  certificates), said why;
- ``not-aws``: the test asks, when not run against AWS, for what AWS does not do (its own
  code or comments say so), and the lab does what AWS does;
- ``unverified``: the lab and the test disagree and neither AWS's documentation nor a
  recording of AWS settles who is right.

Everything not listed must pass on the lab; a listed test that passes is reported too, so
the list never keeps an entry that no longer applies.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLASSIFICATION = Path(__file__).resolve().parent / "classification.json"
KINDS = ("out-of-scope", "on-purpose", "wire-noise", "cannot-follow", "not-aws", "unverified")
FAILED = ("failed", "error")


@dataclass(frozen=True)
class Outcomes:
    """``{node id: {"outcome", "message"}}`` as ``plugins/melange_outcomes.py`` writes it."""

    by_test: dict[str, dict[str, str]]

    def with_outcome(self, *outcomes: str) -> set[str]:
        return {test for test, seen in self.by_test.items() if seen["outcome"] in outcomes}

    @property
    def passed(self) -> set[str]:
        return self.with_outcome("passed")

    @property
    def failed(self) -> set[str]:
        return self.with_outcome(*FAILED)

    @property
    def skipped(self) -> set[str]:
        return self.with_outcome("skipped")

    def counts(self) -> Counter[str]:
        return Counter(seen["outcome"] for seen in self.by_test.values())

    def message(self, test: str) -> str:
        return self.by_test.get(test, {}).get("message", "")


@dataclass(frozen=True)
class Entry:
    kind: str
    reason: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    entries: tuple[Entry, ...]
    reason_of: dict[str, Entry] = field(default_factory=dict)

    @classmethod
    def load(cls, suite: str, path: Path = CLASSIFICATION) -> Classification:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        entries = tuple(
            Entry(item["kind"], item["reason"], tuple(item["tests"])) for item in raw[suite]
        )
        reason_of: dict[str, Entry] = {}
        for entry in entries:
            if entry.kind not in KINDS:
                raise ValueError(f"{suite}: kind {entry.kind!r} is not one of {KINDS}")
            for test in entry.tests:
                if test in reason_of:
                    raise ValueError(f"{suite}: {test} is classified twice")
                reason_of[test] = entry
        return cls(entries, reason_of)

    @property
    def tests(self) -> set[str]:
        return set(self.reason_of)

    def by_kind(self, tests: set[str]) -> Counter[str]:
        return Counter(self.reason_of[test].kind for test in tests if test in self.reason_of)


@dataclass(frozen=True)
class Verdict:
    """The lab's run against the classification."""

    unexpected: dict[str, str]  # failed, not classified: test -> its failure
    stale: set[str]  # classified, but passed
    unknown: set[str]  # classified, but not in the run at all

    @property
    def clean(self) -> bool:
        return not self.unexpected and not self.stale and not self.unknown

    def explain(self) -> str:
        lines = [f"  FAILS, not classified: {t}\n      {m}" for t, m in self.unexpected.items()]
        lines += [f"  classified, but passes: {t}" for t in sorted(self.stale)]
        lines += [f"  classified, but not in the run: {t}" for t in sorted(self.unknown)]
        return "\n".join(lines)


def verdict(lab: Outcomes, classification: Classification) -> Verdict:
    """Every test the lab fails must be classified; every classified test must still fail."""
    unexpected = {test: lab.message(test) for test in sorted(lab.failed - classification.tests)}
    ran = set(lab.by_test)
    return Verdict(
        unexpected,
        stale=classification.tests & lab.passed,
        unknown=classification.tests - ran,
    )
