"""``python -m tests.suites``: run other projects' suites against the lab (``make fidelity``).

Runs moto's own SQS/SNS tests (stock and with the lab's layers) and, given a LocalStack
checkout (``LOCALSTACK_TESTS``), LocalStack's AWS-validated SNS/SQS tests against the lab,
stock moto's server and LocalStack; compares the lab's runs with the classification, writes
the outcomes to ``.cache/fidelity/`` and docs/fidelity.md's suites section, and exits 1 if
the lab fails a test the classification does not list (or passes one it lists).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tests.suites import localstack_suite, moto_suite, report
from tests.suites.endpoints import ENDPOINTS, running
from tests.suites.outcomes import Classification, Outcomes, verdict

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / ".cache" / "fidelity"


def _load(path: Path) -> Outcomes | None:
    return Outcomes(json.loads(path.read_text())) if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.suites", description=__doc__)
    parser.add_argument(
        "--suites", nargs="+", choices=("moto", "localstack"), default=["moto", "localstack"]
    )
    parser.add_argument("--endpoints", nargs="+", choices=ENDPOINTS, default=list(ENDPOINTS))
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="run nothing: report the outcomes already in .cache/fidelity",
    )
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "fidelity.md")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)

    if "moto" in args.suites and not args.reuse:
        started = time.monotonic()
        moto_suite.run_all(RESULTS)
        print(f"moto's suites: {time.monotonic() - started:.0f} s", flush=True)
    if "localstack" in args.suites and not args.reuse:
        root = localstack_suite.checkout()
        for name in args.endpoints:
            started = time.monotonic()
            with running(name) as target:
                localstack_suite.run(
                    target,
                    root,
                    RESULTS / f"localstack-{name}.json",
                    RESULTS / f"localstack-{name}.log",
                )
            print(f"LocalStack's suite on {name}: {time.monotonic() - started:.0f} s", flush=True)

    moto = {n: o for n in ("lab", "stock") if (o := _load(RESULTS / f"moto-{n}.json"))}
    localstack = {n: o for n in ENDPOINTS if (o := _load(RESULTS / f"localstack-{n}.json"))}
    report.write(args.doc, report.section(localstack, moto))
    status = 0
    for suite, outcomes in (("moto", moto), ("localstack", localstack)):
        for name, run in outcomes.items():
            print(f"{suite} on {name}: {dict(run.counts())}")
        lab = outcomes.get("lab")
        if lab is None:
            continue
        found = verdict(lab, Classification.load(suite))
        if not found.clean:
            print(f"{suite}: the lab's run does not match the classification:\n{found.explain()}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
