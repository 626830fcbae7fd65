"""A pytest plugin that writes each test's outcome as JSON (``-p melange_outcomes``).

Loaded into other projects' suites (moto's, LocalStack's), in their own interpreters, so it
imports nothing of the lab. The file named by ``MELANGE_SUITE_OUTCOMES`` gets
``{node id: {"outcome": passed|failed|error|skipped, "message": first line of why,
"seconds": its setup, call and teardown}}``; a
failure in setup or teardown is an error, as pytest reports it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

_outcomes: dict[str, dict[str, str]] = {}
_seconds: dict[str, float] = {}


def _message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).strip().splitlines()[0][:500] if crash.message else ""
    if isinstance(report.longrepr, tuple):  # a skip: (file, line, reason)
        return str(report.longrepr[2])[:500]
    return str(report.longrepr or "").strip().splitlines()[-1][:500] if report.longrepr else ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration
    seen = _outcomes.get(report.nodeid)
    if report.when == "call":
        if seen is None or seen["outcome"] == "passed":
            outcome = "passed" if report.passed else "skipped" if report.skipped else "failed"
            _outcomes[report.nodeid] = {"outcome": outcome, "message": _message(report)}
    elif report.failed:  # setup or teardown
        if seen is None or seen["outcome"] == "passed":
            _outcomes[report.nodeid] = {"outcome": "error", "message": _message(report)}
    elif report.skipped and seen is None:
        _outcomes[report.nodeid] = {"outcome": "skipped", "message": _message(report)}


def pytest_sessionfinish(session: pytest.Session, exitstatus: Any) -> None:
    path = os.environ.get("MELANGE_SUITE_OUTCOMES")
    if path:
        for test, seen in _outcomes.items():
            seen["seconds"] = f"{_seconds.get(test, 0.0):.2f}"
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(sorted(_outcomes.items())), out, indent=1)
