"""The same scenarios report the same events on every path into the broker (issue #20).

The lab's publishers, plain boto3 in the kernel, and another process through
``broker.serve()`` (a real child process): the broker reports what happened where its state
changed, so the three event logs agree, event for event, ids included (in normal form).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from melange_lab import SimulatedBroker
from melange_lab.serializers import SerializerRegistry
from tests.event_scenarios import SCENARIOS, Boto3Driver, Driver, LabDriver

REPO = Path(__file__).resolve().parent.parent
# another process needs a child Python and moto's server on a loopback port
PATHS = ("lab", "boto3", pytest.param("another_process", marks=pytest.mark.server))


class AnotherProcess:
    """A ``Boto3Driver`` in a child process, one JSON line per call."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.event_driver"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"op": op, "args": args, "kwargs": kwargs}) + "\n")
        self._process.stdin.flush()
        answer = json.loads(self._process.stdout.readline() or '{"error": "the child died"}')
        if "error" in answer:
            raise AssertionError(f"another process, {op}{args}: {answer['error']}")
        return answer["ok"]

    def __getattr__(self, op: str) -> Callable[..., Any]:
        return lambda *args, **kwargs: self.call(op, *args, **kwargs)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)


@pytest.fixture(scope="module")
def child() -> Iterator[AnotherProcess]:
    process = AnotherProcess()
    try:
        yield process
    finally:
        process.close()


def _driver(path: str, broker: SimulatedBroker, registry: SerializerRegistry, child: Any) -> Driver:
    if path == "lab":
        return LabDriver(broker, registry)
    if path == "boto3":
        return Boto3Driver(broker.client("sqs"), broker.client("sns"))
    server = broker.serve()
    child.connect(server.url, broker.region)
    driver: Driver = child
    return driver


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_path_into_the_broker_reports_the_same_events(
    scenario: str, path: str, registry: SerializerRegistry, request: pytest.FixtureRequest
) -> None:
    run, expected = SCENARIOS[scenario]
    latency = 2.0 if scenario == "delivery_latency" else 0.0
    child = request.getfixturevalue("child") if path == "another_process" else None
    with SimulatedBroker(clock="manual", delivery_latency=latency) as broker:
        assert run(_driver(path, broker, registry, child), broker) == expected
