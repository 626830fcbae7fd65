"""``broker.stop()`` while another thread is in the middle of a call: the call succeeds on the
broker or raises ``BrokerStopped``; no request ever leaves the process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.httpsession import URLLib3Session

from melange_lab import QueuePublisher, SimulatedBroker
from melange_lab.errors import BrokerStopped
from melange_lab.serializers import JsonSerializer, SerializerRegistry


@pytest.fixture
def outgoing(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records (and blocks) every HTTP request botocore would send and every socket connect
    to an address that is not loopback."""
    attempts: list[str] = []

    def send(self: URLLib3Session, request: Any) -> Any:
        attempts.append(f"HTTP {request.method} {request.url}")
        raise ConnectionRefusedError("the test blocks the network")

    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost") and self.family != socket.AF_UNIX:
            attempts.append(f"connect {address}")
            raise ConnectionRefusedError("the test blocks the network")
        return real_connect(self, address)

    monkeypatch.setattr(URLLib3Session, "send", send)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts


def _registry() -> SerializerRegistry:
    return SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})


def test_a_call_past_the_guard_when_stop_begins_raises_broker_stopped_and_stays_local(
    outgoing: list[str],
) -> None:
    broker = SimulatedBroker()
    backend = broker.backend
    queue = backend.declare_queue("jobs")[0]
    publisher = QueuePublisher(_registry(), backend)
    in_window, stop_done = threading.Event(), threading.Event()

    def pause_once(**_: Any) -> None:
        # after the backend's first check, before moto's handler: where the race lived
        if not in_window.is_set():
            in_window.set()
            stop_done.wait(5)

    backend._sqs.meta.events.register_first("before-send", pause_once)
    outcome: list[BaseException | str] = []

    def publish() -> None:
        try:
            outcome.append(publisher.publish("jobs", {"n": 1}))
        except BaseException as error:  # the outcome is what the test checks
            outcome.append(error)

    thread = threading.Thread(target=publish)
    thread.start()
    assert in_window.wait(5)
    broker.stop()
    stop_done.set()
    thread.join(5)

    assert not thread.is_alive()
    (result,) = outcome
    assert isinstance(result, BrokerStopped), repr(result)
    assert outgoing == []
    assert queue.name == "jobs"


def test_publishing_in_a_loop_while_the_broker_stops_never_leaves_the_process(
    outgoing: list[str],
) -> None:
    for _ in range(3):
        broker = SimulatedBroker()
        backend = broker.backend
        backend.declare_queue("jobs")
        publisher = QueuePublisher(_registry(), backend)
        sent: list[str] = []
        failures: list[BaseException] = []
        started = threading.Event()

        def publish_until_stopped(
            publisher: QueuePublisher = publisher,
            sent: list[str] = sent,
            failures: list[BaseException] = failures,
            started: threading.Event = started,
        ) -> None:
            while True:
                try:
                    sent.append(publisher.publish("jobs", {"n": len(sent)}))
                except BrokerStopped:
                    return
                except BaseException as error:  # anything else is the bug
                    failures.append(error)
                    return
                started.set()

        thread = threading.Thread(target=publish_until_stopped)
        thread.start()
        assert started.wait(5)
        broker.stop()
        thread.join(5)

        assert not thread.is_alive()
        assert failures == []
        assert sent
        assert outgoing == []
        with pytest.raises(BrokerStopped):
            publisher.publish("jobs", {"n": -1})


def test_a_plain_client_from_a_stopped_broker_raises_broker_stopped(outgoing: list[str]) -> None:
    broker = SimulatedBroker()
    client = broker.client("sqs")
    client.create_queue(QueueName="jobs")
    broker.stop()

    with pytest.raises(BrokerStopped):
        client.list_queues()
    assert outgoing == []
