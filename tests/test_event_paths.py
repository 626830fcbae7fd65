"""The same scenarios report the same events on every path into the broker (issue #20).

The lab's publishers, plain boto3 in the kernel, another process through ``broker.serve()``
(a real child process), and melange's ``AWSBackend`` pointed at ``broker.serve()``: the broker
reports what happened where its state changed, so the event logs agree, event for event: kinds,
both ids on every event about a queue copy (in normal form), receive counts and reasons.
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
from melange_lab.backends.sqs.sqs_backend import AWSBackend  # melange's import path
from melange_lab.serializers import SerializerRegistry
from tests.event_scenarios import (
    CLIENT_SCENARIOS,
    SCENARIOS,
    Boto3Driver,
    Driver,
    LabDriver,
    count_filter_evaluations,
)

REPO = Path(__file__).resolve().parent.parent
# another process, and AWSBackend over HTTP, need moto's server on a loopback port
SERVED = ("another_process", "aws_backend")
PATHS = ("lab", "boto3", *(pytest.param(p, marks=pytest.mark.server) for p in SERVED))
CLIENT_PATHS = ("boto3", pytest.param("another_process", marks=pytest.mark.server))


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


def _aws_backend(url: str, region: str) -> AWSBackend:
    """melange's AWSBackend as a learner points it at a served broker."""
    settings = {
        "endpoint_url": url,
        "region_name": region,
        "aws_access_key_id": "aws-backend",
        "aws_secret_access_key": "aws-backend",
    }
    return AWSBackend(extra_settings=settings, sns_settings=settings, wait_time_seconds=0)


def _driver(path: str, broker: SimulatedBroker, registry: SerializerRegistry, child: Any) -> Any:
    if path == "lab":
        return LabDriver(broker, registry)
    if path == "boto3":
        return Boto3Driver(broker.client("sqs"), broker.client("sns"))
    server = broker.serve()
    if path == "aws_backend":
        return LabDriver(broker, registry, _aws_backend(server.url, broker.region))
    child.connect(server.url, broker.region)
    return child


def _run_on(
    path: str, scenario: Any, latency: float, registry: SerializerRegistry, request: Any
) -> list[tuple[Any, ...]]:
    run, _ = scenario
    child = request.getfixturevalue("child") if path == "another_process" else None
    with SimulatedBroker(clock="manual", delivery_latency=latency) as broker:
        result: list[tuple[Any, ...]] = run(_driver(path, broker, registry, child), broker)
        return result


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_path_into_the_broker_reports_the_same_events(
    scenario: str, path: str, registry: SerializerRegistry, request: pytest.FixtureRequest
) -> None:
    latency = 2.0 if scenario == "delivery_latency" else 0.0
    found = _run_on(path, SCENARIOS[scenario], latency, registry, request)
    assert found == SCENARIOS[scenario][1]


@pytest.mark.parametrize("path", CLIENT_PATHS)
@pytest.mark.parametrize("scenario", sorted(CLIENT_SCENARIOS))
def test_batches_purge_and_unsubscribe_are_reported_alike_in_and_out_of_the_kernel(
    scenario: str, path: str, registry: SerializerRegistry, request: pytest.FixtureRequest
) -> None:
    found = _run_on(path, CLIENT_SCENARIOS[scenario], 0.0, registry, request)
    assert found == CLIENT_SCENARIOS[scenario][1]


@pytest.mark.parametrize("path", PATHS)
def test_each_filter_policy_is_evaluated_once_per_subscription_per_publish_on_every_path(
    path: str,
    registry: SerializerRegistry,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    evaluations = count_filter_evaluations(monkeypatch)
    child = request.getfixturevalue("child") if path == "another_process" else None
    with SimulatedBroker(clock="manual") as broker:
        driver: Driver = _driver(path, broker, registry, child)
        driver.create_topic("shop")
        for queue, manifests in (("a", ["json"]), ("b", ["Other"]), ("c", ["json", "x"])):
            driver.create_queue(queue)
            driver.subscribe("shop", queue, manifests=manifests)
        driver.create_queue("everything")
        driver.subscribe("shop", "everything")
        for n in range(3):
            driver.publish("shop", {"n": n})
        kinds = [e.kind.value for e in broker.events]
    assert len(evaluations) == 3 * 3  # three policies, three publishes; none for "everything"
    assert (kinds.count("delivered"), kinds.count("filtered")) == (3 * 3, 3)
