"""Delivery semantics as plain functions taking a backend (fakeredis's lesson).

Each scenario declares its own queues, runs, and asserts. ``advance(seconds)`` moves time:
``broker.clock.advance`` on the simulated broker, ``time.sleep`` on a real endpoint (queues
here use a 1-second visibility timeout so that stays quick). Queue names carry ``prefix`` so
a scenario can run against a shared endpoint.

SNS delivers to SQS asynchronously on AWS and LocalStack: a queue may still be empty right
after a topic publish. So a scenario never counts a queue right after publishing: it waits,
bounded, until the deliveries it expects arrived (``eventually``), and before asserting that
something did NOT arrive it lets a real endpoint settle (``settle``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from melange_lab import Consumer, MessageDispatcher, QueuePublisher, TopicPublisher
from melange_lab.backends import LocalSQSBackend
from melange_lab.backends.sqs import SQSBackend
from melange_lab.events import EventKind
from melange_lab.inspection import BrokerInspector
from melange_lab.models import Message
from melange_lab.serializers import SerializerRegistry
from tests.messages import OrderCreated

Advance = Callable[[float], Any]
VISIBILITY = 1  # seconds; short, so a real endpoint needs only short sleeps
DELIVERY_TIMEOUT = 10.0  # seconds a scenario waits for an asynchronous SNS delivery
SETTLE_SECONDS = 1.0  # on a real endpoint, before asserting a delivery did not happen


def eventually(check: Callable[[], bool], timeout: float = DELIVERY_TIMEOUT) -> bool:
    """Polls ``check`` until it holds or ``timeout`` real seconds passed; returns the last."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def settle(backend: SQSBackend) -> None:
    """Gives a real endpoint's asynchronous deliveries time to land (the lab's are done)."""
    if isinstance(backend, LocalSQSBackend):
        time.sleep(SETTLE_SECONDS)


@dataclass(frozen=True)
class Ledger:
    """Where every sent message is now: sent = acknowledged + in queues + in dead-letter queues."""

    sent: int
    acknowledged: int
    in_queues: int
    in_dead_letter_queues: int

    @property
    def balanced(self) -> bool:
        return self.sent == self.acknowledged + self.in_queues + self.in_dead_letter_queues


def ledger(backend: SQSBackend) -> Ledger:
    """Counts from the event log (sends, acks) and the broker's queue counts."""
    events = list(backend.events)
    sent = sum(1 for e in events if e.kind is EventKind.PUBLISHED and e.queue is not None)
    sent += sum(1 for e in events if e.kind is EventKind.DELIVERED)
    acknowledged = len({e.message_id for e in events if e.kind is EventKind.ACKNOWLEDGED})
    queues = BrokerInspector(backend).queues()
    in_dlqs = sum(q.total for q in queues if q.is_dead_letter_queue)
    in_queues = sum(q.total for q in queues if not q.is_dead_letter_queue)
    return Ledger(sent, acknowledged, in_queues, in_dlqs)


class Recorder(Consumer):
    """Records what it processes; raises for payloads listed in ``failing``."""

    def __init__(self, failing: Callable[[Any], bool] = lambda _: False) -> None:
        super().__init__()
        self.seen: list[Any] = []
        self._failing = failing

    def process(self, message: Any, **kwargs: Any) -> None:
        self.seen.append(message)
        if self._failing(message):
            raise RuntimeError(f"cannot handle {message!r}")


def visible_count(backend: SQSBackend, queue: str) -> int:
    return int(backend.queue_attributes(backend.get_queue(queue))["ApproximateNumberOfMessages"])


def total_count(backend: SQSBackend, queue: str) -> int:
    attributes = backend.queue_attributes(backend.get_queue(queue))
    return sum(
        int(attributes[name])
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def ack_on_success(backend: SQSBackend, registry: SerializerRegistry, prefix: str = "") -> None:
    queue = f"{prefix}orders"
    backend.declare_queue(queue, visibility_timeout=VISIBILITY)
    for i in range(3):
        QueuePublisher(registry, backend).publish(queue, {"n": i})
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(recorder)
    summary = dispatcher.consume_loop(queue)
    assert summary.acknowledged == summary.processed == 3
    assert sorted(m["n"] for m in recorder.seen) == [0, 1, 2]
    assert total_count(backend, queue) == 0


def failure_comes_back_after_visibility_timeout(
    backend: SQSBackend, registry: SerializerRegistry, advance: Advance, prefix: str = ""
) -> None:
    queue = f"{prefix}flaky"
    backend.declare_queue(queue, visibility_timeout=VISIBILITY)
    QueuePublisher(registry, backend).publish(queue, {"n": 1})
    attempts = Recorder(failing=lambda _: True)
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(attempts)
    first = dispatcher.consume_loop(queue)
    assert (first.failed, first.acknowledged) == (1, 0)
    assert dispatcher.consume_loop(queue).received == 0  # still invisible
    advance(VISIBILITY + 0.5)
    assert dispatcher.consume_loop(queue).received == 1
    assert len(attempts.seen) == 2


def dead_letter_after_max_receives(
    backend: SQSBackend,
    registry: SerializerRegistry,
    advance: Advance,
    max_receive_count: int = 3,
    prefix: str = "",
) -> int:
    """A message every consumer rejects reaches the DLQ after exactly ``max_receive_count``
    receives; returns how many receives it got."""
    queue, dlq = f"{prefix}payments", f"{prefix}payments-dlq"
    backend.declare_queue(
        queue,
        dead_letter_queue_name=dlq,
        max_receive_count=max_receive_count,
        visibility_timeout=VISIBILITY,
    )
    QueuePublisher(registry, backend).publish(queue, {"n": 1})
    rejecting = Recorder(failing=lambda _: True)
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(rejecting)
    for _ in range(max_receive_count + 2):
        dispatcher.consume_loop(queue)
        advance(VISIBILITY + 0.5)
    assert total_count(backend, queue) == 0
    assert total_count(backend, dlq) == 1
    assert len(rejecting.seen) == max_receive_count
    return len(rejecting.seen)


def undecodable_message_is_dead_lettered(
    backend: SQSBackend,
    registry: SerializerRegistry,
    advance: Advance,
    message: Message,
    prefix: str = "",
) -> list[str]:
    """``message`` (one the registry cannot decode) is never acknowledged and ends in the DLQ;
    returns the reasons the ``failed`` events gave."""
    queue, dlq = f"{prefix}inbox", f"{prefix}inbox-dlq"
    backend.declare_queue(
        queue, dead_letter_queue_name=dlq, max_receive_count=2, visibility_timeout=VISIBILITY
    )
    message_id = backend.publish_to_queue(message, backend.get_queue(queue))
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(recorder)
    for _ in range(4):
        assert dispatcher.consume_loop(queue).acknowledged == 0
        advance(VISIBILITY + 0.5)
    assert recorder.seen == []
    assert total_count(backend, dlq) == 1
    failures = [
        e for e in backend.events if e.kind is EventKind.FAILED and e.message_id == message_id
    ]
    assert len(failures) == 2
    return [str(e.reason) for e in failures]


def fifo_keeps_order_per_group(
    backend: SQSBackend, registry: SerializerRegistry, prefix: str = ""
) -> dict[str, list[int]]:
    queue = f"{prefix}ledger.fifo"
    backend.declare_queue(queue, visibility_timeout=VISIBILITY)
    publisher = QueuePublisher(registry, backend)
    for n in range(4):
        for group in ("alice", "bob", "carol"):
            publisher.publish(queue, {"group": group, "n": n}, message_group_id=group)
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(recorder)
    dispatcher.consume_loop(queue)
    by_group: dict[str, list[int]] = {}
    for seen in recorder.seen:
        by_group.setdefault(seen["group"], []).append(seen["n"])
    assert by_group == {g: [0, 1, 2, 3] for g in ("alice", "bob", "carol")}
    return by_group


def fifo_deduplicates_by_id(
    backend: SQSBackend, registry: SerializerRegistry, prefix: str = ""
) -> None:
    queue = f"{prefix}invoices.fifo"
    backend.declare_queue(queue)
    publisher = QueuePublisher(registry, backend)
    for payload in ({"v": 1}, {"v": 2}):
        publisher.publish(queue, payload, message_group_id="g", message_deduplication_id="inv-1")
    publisher.publish(queue, {"v": 3}, message_group_id="g", message_deduplication_id="inv-2")
    assert total_count(backend, queue) == 2


def filtered_subscription(
    backend: SQSBackend, registry: SerializerRegistry, prefix: str = ""
) -> None:
    """melange's filter_events: a queue gets only the manifests it lists."""
    topic = backend.declare_topic(f"{prefix}events")
    backend.declare_queue(f"{prefix}only-orders", topic, filter_events=["OrderCreated"])
    backend.declare_queue(f"{prefix}everything", topic)
    publisher = TopicPublisher(registry, backend)
    publisher.publish(topic.name, {"kind": "json"})  # manifest "json": filtered out
    assert eventually(lambda: total_count(backend, f"{prefix}everything") == 1)
    settle(backend)
    assert total_count(backend, f"{prefix}only-orders") == 0


def redrive_returns_dead_letters(
    backend: SQSBackend, registry: SerializerRegistry, advance: Advance, prefix: str = ""
) -> None:
    queue, dlq = f"{prefix}jobs", f"{prefix}jobs-dlq"
    backend.declare_queue(
        queue, dead_letter_queue_name=dlq, max_receive_count=1, visibility_timeout=VISIBILITY
    )
    QueuePublisher(registry, backend).publish(queue, {"job": 7})
    body = backend.retrieve_messages(backend.get_queue(queue))[0].metadata["Body"]
    advance(VISIBILITY + 0.5)
    assert backend.retrieve_messages(backend.get_queue(queue)) == []  # moved to the DLQ
    moved = backend.redrive(backend.get_queue(dlq))
    assert len(moved) == 1
    assert total_count(backend, dlq) == 0
    back = backend.retrieve_messages(backend.get_queue(queue))
    assert [m.metadata["Body"] for m in back] == [body]
    assert json.loads(body) == {"Message": json.dumps({"job": 7})}
    assert back[0].serializer_id == 1 and back[0].manifest == "json"


def queue_publish_and_consume(
    backend: SQSBackend, registry: SerializerRegistry, prefix: str = ""
) -> None:
    """A queue message comes back with its manifest and serializer id, and is gone once
    acknowledged (with the backend's own calls, no dispatcher)."""
    queue = f"{prefix}parcels"
    backend.declare_queue(queue, visibility_timeout=VISIBILITY)
    QueuePublisher(registry, backend).publish(queue, OrderCreated("o-1", 30))
    (message,) = backend.retrieve_messages(backend.get_queue(queue))
    assert (message.manifest, message.serializer_id) == ("OrderCreated", 2)
    decoded = registry.deserialize_with_serializerid(message.content, 2, "OrderCreated")
    assert decoded == OrderCreated("o-1", 30)
    backend.acknowledge(message)
    assert total_count(backend, queue) == 0


def fan_out_to_three_queues_with_a_filter(
    backend: SQSBackend, registry: SerializerRegistry, prefix: str = ""
) -> dict[str, list[Any]]:
    """One topic publish reaches the two queues whose subscription lets ``OrderCreated``
    through, and not the one filtering on another manifest; returns what each queue got."""
    topic = backend.declare_topic(f"{prefix}shop")
    wanted = {"audit": None, "billing": ["OrderCreated"], "returns": ["OrderReturned"]}
    for name, manifests in wanted.items():
        backend.declare_queue(f"{prefix}{name}", topic, filter_events=manifests)
    TopicPublisher(registry, backend).publish(topic.name, OrderCreated("o-2", 12))
    for name in ("audit", "billing"):
        assert eventually(lambda name=name: total_count(backend, f"{prefix}{name}") == 1)
    settle(backend)
    received: dict[str, list[Any]] = {}
    for name in wanted:
        recorder = Recorder()
        dispatcher = MessageDispatcher(registry, backend=backend)
        dispatcher.attach_consumer(recorder)
        dispatcher.consume_loop(f"{prefix}{name}")
        received[name] = recorder.seen
    assert received == {
        "audit": [OrderCreated("o-2", 12)],
        "billing": [OrderCreated("o-2", 12)],
        "returns": [],
    }
    return received
