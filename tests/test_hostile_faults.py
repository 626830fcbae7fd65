"""Faults a hostile user (or bad luck) causes: nothing hangs, nothing is lost silently.

After every fault the books balance: sent = acknowledged + queued + dead-lettered.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from melange_lab import (
    Consumer,
    MessageDispatcher,
    QueuePublisher,
    SimulatedBroker,
    TopicPublisher,
)
from melange_lab.backends.sqs import SQSBackend
from melange_lab.errors import BrokerStopped, InvalidParameter, QueueNotFound
from melange_lab.events import EventKind
from melange_lab.models import Message, MessageDto
from melange_lab.serializers import SerializerRegistry
from tests.scenarios import Recorder, ledger, total_count, visible_count

VISIBILITY = 5


def _raw_sqs() -> Any:
    """Another program's SQS client on the same simulated broker (moto answers it too)."""
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        aws_access_key_id="another-program",
        aws_secret_access_key="another-program",
    )


def _dead_letters(broker: SimulatedBroker, registry: SerializerRegistry, count: int) -> None:
    """``count`` messages in 'src-dlq', each received once from 'src' and never acknowledged."""
    broker.backend.declare_queue(
        "src", dead_letter_queue_name="src-dlq", max_receive_count=1, visibility_timeout=VISIBILITY
    )
    publisher = QueuePublisher(registry, broker.backend)
    for n in range(count):
        publisher.publish("src", {"n": n})
    source = broker.backend.get_queue("src")
    while broker.backend.retrieve_messages(source, wait_time_seconds=0):
        pass
    broker.clock.advance(VISIBILITY + 1)
    assert broker.backend.retrieve_messages(source, wait_time_seconds=0) == []
    assert total_count(broker.backend, "src-dlq") == count


# -- redrive --------------------------------------------------------------------------------


def test_redrive_into_the_dead_letter_queue_itself_is_refused_and_moves_nothing(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    _dead_letters(broker, registry, 3)
    with pytest.raises(InvalidParameter, match="src-dlq"):
        broker.redrive("src-dlq", to_queue="src-dlq")
    dlq = broker.backend.get_queue("src-dlq")
    with pytest.raises(InvalidParameter, match="src-dlq"):
        broker.backend.redrive(dlq, dlq)
    assert visible_count(broker.backend, "src-dlq") == 3
    assert ledger(broker.backend).balanced


def test_redrive_moves_only_the_messages_present_when_it_started(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    _dead_letters(broker, registry, 12)
    dlq_url = broker.backend.get_queue("src-dlq").url
    raw = _raw_sqs()

    def another_dead_letter_arrives(event: Any) -> None:  # as if consumers kept failing
        if event.kind is EventKind.REDRIVEN:
            raw.send_message(QueueUrl=dlq_url, MessageBody=json.dumps({"Message": "{}"}))

    broker.subscribe(another_dead_letter_arrives)
    moved = broker.redrive("src-dlq")

    assert len(moved) == 12 == len(set(moved))
    assert total_count(broker.backend, "src") == 12
    assert total_count(broker.backend, "src-dlq") == 12  # the newcomers wait for the next one
    assert len(broker.events.of_kind(EventKind.REDRIVEN)) == 12


def test_redrive_to_a_deleted_queue_puts_the_dead_letters_back_at_once(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    _dead_letters(broker, registry, 3)
    source = broker.backend.get_queue("src")
    _raw_sqs().delete_queue(QueueUrl=source.url)  # deleted behind the lab's back

    with pytest.raises(QueueNotFound, match="'src'"):
        broker.backend.redrive(broker.backend.get_queue("src-dlq"), source)

    assert visible_count(broker.backend, "src-dlq") == 3  # visible now, not in flight
    assert broker.events.of_kind(EventKind.REDRIVEN) == []


# -- a stopped or replaced broker -----------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records (and refuses) every attempt to open a connection."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError(f"the test refused a connection to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def _uses_of_a_kept_backend(backend: SQSBackend) -> list[Any]:
    return [
        backend.queue_names,
        backend.list_queues,
        backend.list_topics,
        lambda: backend.get_queue("kept"),
        lambda: backend.declare_topic("kept-topic"),
        lambda: backend.declare_queue("new"),
        lambda: backend.retrieve_messages(backend.get_queue("kept")),
    ]


def test_a_backend_kept_after_stop_raises_broker_stopped_and_never_touches_the_network(
    registry: SerializerRegistry, no_network: list[Any]
) -> None:
    broker = SimulatedBroker(clock="manual")
    backend = broker.backend
    backend.declare_queue("kept")
    backend.declare_topic("kept-topic")
    broker.stop()
    for use in _uses_of_a_kept_backend(backend):
        with pytest.raises(BrokerStopped, match="stopped"):
            use()
    with pytest.raises(BrokerStopped):
        QueuePublisher(registry, backend).publish("kept", {"n": 1})
    assert no_network == []


def test_a_backend_kept_after_a_new_broker_cannot_read_the_new_brokers_queues(
    registry: SerializerRegistry, no_network: list[Any]
) -> None:
    first = SimulatedBroker(clock="manual")
    old_backend = first.backend
    old_backend.declare_queue("kept")
    old_backend.declare_topic("kept-topic")
    second = SimulatedBroker(clock="manual")
    try:
        second.backend.declare_queue("kept")
        QueuePublisher(registry, second.backend).publish("kept", {"secret": 1})
        for use in _uses_of_a_kept_backend(old_backend):
            with pytest.raises(BrokerStopped, match="newer SimulatedBroker"):
                use()
        assert total_count(second.backend, "kept") == 1  # untouched by the old backend
    finally:
        second.stop()
    assert no_network == []


# -- the clock ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, "x", None])
def test_a_refused_clock_advance_leaves_the_broker_usable(
    broker: SimulatedBroker, registry: SerializerRegistry, bad: Any
) -> None:
    broker.backend.declare_queue("tick", visibility_timeout=VISIBILITY)
    before = broker.clock.now()
    with pytest.raises(InvalidParameter, match="seconds"):
        broker.clock.advance(bad)
    assert broker.clock.now() - before < 1
    QueuePublisher(registry, broker.backend).publish("tick", {"n": 1})
    assert len(broker.backend.retrieve_messages(broker.backend.get_queue("tick"))) == 1
    broker.clock.advance(VISIBILITY + 1)
    assert visible_count(broker.backend, "tick") == 1  # timeouts still expire on the clock


def test_a_long_poll_on_a_manual_clock_ends_after_its_wait_in_real_time(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue, _ = broker.backend.declare_queue("quiet")
    assert broker.backend.retrieve_messages(queue, wait_time_seconds=1) == []
    late = threading.Timer(
        0.2, QueuePublisher(registry, broker.backend).publish, ("quiet", {"n": 1})
    )
    late.start()
    try:
        received = broker.backend.retrieve_messages(queue, wait_time_seconds=5)
    finally:
        late.join()
    assert len(received) == 1  # the poll saw a message that arrived while it waited


# -- poison messages ------------------------------------------------------------------------

POISON = {
    "serializer_id 1.5": {
        "MessageBody": json.dumps({"Message": "{}"}),
        "MessageAttributes": {
            "manifest": {"DataType": "String", "StringValue": "json"},
            "serializer_id": {"DataType": "Number", "StringValue": "1.5"},
        },
    },
    "unknown serializer_id": {
        "MessageBody": json.dumps({"Message": "{}"}),
        "MessageAttributes": {
            "manifest": {"DataType": "String", "StringValue": "json"},
            "serializer_id": {"DataType": "Number", "StringValue": "77"},
        },
    },
    "envelope with a non-string Message": {
        "MessageBody": json.dumps({"Message": 5, "MessageAttributes": {"manifest": "json"}}),
    },
    "100,000-deep JSON": {"MessageBody": "[" * 100_000 + "]" * 100_000},
}


@pytest.mark.parametrize("poison", list(POISON))
def test_a_poison_message_fails_alone_and_reaches_the_dead_letter_queue_with_its_reason(
    broker: SimulatedBroker, registry: SerializerRegistry, poison: str
) -> None:
    broker.backend.declare_queue(
        "inbox", dead_letter_queue_name="inbox-dlq", max_receive_count=2, visibility_timeout=5
    )
    inbox = broker.backend.get_queue("inbox")
    publisher = QueuePublisher(registry, broker.backend)
    publisher.publish("inbox", {"n": 0})
    bad_id = _raw_sqs().send_message(QueueUrl=inbox.url, **POISON[poison])["MessageId"]
    publisher.publish("inbox", {"n": 1})
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(recorder)

    for _ in range(3):
        dispatcher.consume_loop("inbox")
        broker.clock.advance(6)

    assert sorted(m["n"] for m in recorder.seen) == [0, 1]  # the neighbours were processed
    assert total_count(broker.backend, "inbox") == 0
    assert total_count(broker.backend, "inbox-dlq") == 1
    failures = [e for e in broker.events.of_kind(EventKind.FAILED) if e.message_id == bad_id]
    assert len(failures) == 2 and all("decoded" in str(e.reason) for e in failures)
    (dead,) = broker.events.of_kind(EventKind.DEAD_LETTERED)
    assert dead.message_id == bad_id and "last failure" in str(dead.reason)
    books = ledger(broker.backend)
    assert books.balanced, books  # the poison one, sent by plain boto3, is counted too


def test_a_background_consumer_keeps_running_past_a_poison_message(
    registry: SerializerRegistry,
) -> None:
    broker = SimulatedBroker()  # real time: background consumers poll in real time
    try:
        broker.backend.declare_queue("inbox", visibility_timeout=60)
        inbox = broker.backend.get_queue("inbox")
        _raw_sqs().send_message(QueueUrl=inbox.url, **POISON["serializer_id 1.5"])
        seen: list[Any] = []
        dispatcher = MessageDispatcher(registry, backend=broker.backend)
        dispatcher.attach_consumer(Consumer(on_message=seen.append))
        dispatcher.start("inbox", poll_interval=0.01)
        QueuePublisher(registry, broker.backend).publish("inbox", {"n": 1})
        _wait_for(lambda: len(seen) == 1)
        assert dispatcher.running
        summary = dispatcher.stop()
        assert (summary.failed, summary.processed, summary.stopped_because) == (1, 1, "stopped")
    finally:
        broker.stop()


def _wait_for(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- a handler that exits or is interrupted -------------------------------------------------


class _Interrupting(Consumer):
    def __init__(self, on_n: int, error: BaseException) -> None:
        super().__init__()
        self.seen: list[int] = []
        self._on_n = on_n
        self._error = error

    def process(self, message: Any, **kwargs: Any) -> None:
        self.seen.append(message["n"])
        if message["n"] == self._on_n:
            raise self._error


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(3)])
def test_an_interrupt_in_a_handler_propagates_after_releasing_the_rest_of_the_batch(
    broker: SimulatedBroker, registry: SerializerRegistry, error: BaseException
) -> None:
    broker.backend.declare_queue("jobs", visibility_timeout=VISIBILITY)
    publisher = QueuePublisher(registry, broker.backend)
    for n in range(5):
        publisher.publish("jobs", {"n": n})
    consumer = _Interrupting(on_n=1, error=error)
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(consumer)

    with pytest.raises(type(error)):
        dispatcher.consume_loop("jobs")

    started = len(consumer.seen)
    (stopped,) = broker.events.of_kind(EventKind.DISPATCHER_STOPPED)
    assert type(error).__name__ in str(stopped.reason)
    assert stopped.detail["released"] == 5 - started
    assert visible_count(broker.backend, "jobs") == 5 - started  # released at once
    assert total_count(broker.backend, "jobs") == 5 - started + 1  # the interrupted one waits
    assert ledger(broker.backend).balanced


def test_a_background_consumer_stopped_by_sys_exit_records_why(
    registry: SerializerRegistry,
) -> None:
    broker = SimulatedBroker()
    try:
        broker.backend.declare_queue("jobs", visibility_timeout=60)
        publisher = QueuePublisher(registry, broker.backend)
        for n in range(4):
            publisher.publish("jobs", {"n": n})
        consumer = _Interrupting(on_n=0, error=SystemExit("handler gave up"))
        dispatcher = MessageDispatcher(registry, backend=broker.backend)
        dispatcher.attach_consumer(consumer)
        dispatcher.start("jobs", poll_interval=0.01)
        _wait_for(lambda: not dispatcher.running)
        summary = dispatcher.stop()
        assert "SystemExit" in summary.stopped_because
        assert "handler gave up" in summary.stopped_because
        assert broker.events.of_kind(EventKind.DISPATCHER_STOPPED)
        assert visible_count(broker.backend, "jobs") == 4 - len(consumer.seen)
        assert ledger(broker.backend).balanced
    finally:
        broker.stop()


# -- fan-out to a deleted queue -------------------------------------------------------------


def test_fan_out_to_a_deleted_queue_delivers_to_the_others_and_reports_it(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    topic = broker.backend.declare_topic("orders")
    for name in ("audit", "billing", "shipping"):
        broker.backend.declare_queue(name, topic)
    _raw_sqs().delete_queue(QueueUrl=broker.backend.get_queue("billing").url)

    message_id = TopicPublisher(registry, broker.backend).publish("orders", {"n": 1})

    assert total_count(broker.backend, "audit") == total_count(broker.backend, "shipping") == 1
    (failed,) = broker.events.of_kind(EventKind.DELIVERY_FAILED)
    assert (failed.queue, failed.published_id, failed.message_id) == ("billing", message_id, None)
    assert "billing" in str(failed.reason)
    assert ledger(broker.backend).balanced
    # SNS keeps the subscription: the queue, declared again, gets the next message
    broker.backend.declare_queue("billing", topic)
    assert sorted(s.queue for s in broker.subscriptions()) == ["audit", "billing", "shipping"]
    TopicPublisher(registry, broker.backend).publish("orders", {"n": 2})
    assert total_count(broker.backend, "billing") == 1
    assert ledger(broker.backend).balanced


# -- FIFO duplicates ------------------------------------------------------------------------


def test_a_fifo_duplicate_is_dropped_with_a_deduplicated_event(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("pay.fifo")
    publisher = QueuePublisher(registry, broker.backend)
    first = publisher.publish(
        "pay.fifo", {"v": 1}, message_group_id="g", message_deduplication_id="p1"
    )
    again = publisher.publish(
        "pay.fifo", {"v": 2}, message_group_id="g", message_deduplication_id="p1"
    )

    assert again == first
    assert total_count(broker.backend, "pay.fifo") == 1
    (deduplicated,) = broker.events.of_kind(EventKind.DEDUPLICATED)
    assert deduplicated.queue == "pay.fifo"
    assert deduplicated.message_id == deduplicated.published_id == first
    assert "p1" in str(deduplicated.reason)
    assert ledger(broker.backend).balanced

    broker.clock.advance(301)  # past the 5-minute window, the same id is a new message
    publisher.publish("pay.fifo", {"v": 3}, message_group_id="g", message_deduplication_id="p1")
    assert total_count(broker.backend, "pay.fifo") == 2
    assert len(broker.events.of_kind(EventKind.DEDUPLICATED)) == 1


def test_content_based_duplicates_to_a_fifo_topic_are_reported_once_per_publish(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    topic = broker.backend.declare_topic("orders.fifo", content_based_deduplication=True)
    broker.backend.declare_queue("ledger.fifo", topic)
    publisher = TopicPublisher(registry, broker.backend)
    for _ in range(3):
        publisher.publish("orders.fifo", {"same": True}, message_group_id="g")

    assert total_count(broker.backend, "ledger.fifo") == 1
    assert len(broker.events.of_kind(EventKind.DEDUPLICATED)) == 2
    assert ledger(broker.backend).balanced


# -- concurrency keeps holding --------------------------------------------------------------


def test_eight_publishers_and_four_background_consumers_deliver_each_message_once(
    registry: SerializerRegistry,
) -> None:
    broker = SimulatedBroker()
    dispatchers: list[MessageDispatcher] = []
    try:
        topic = broker.backend.declare_topic("work")
        broker.backend.declare_queue("jobs", topic, visibility_timeout=120)
        seen: Counter[int] = Counter()
        lock = threading.Lock()

        def count(message: Any) -> None:
            with lock:
                seen[message["n"]] += 1

        for _ in range(4):
            dispatcher = MessageDispatcher(registry, backend=broker.backend)
            dispatcher.attach_consumer(Consumer(on_message=count))
            dispatcher.start("jobs", poll_interval=0.01)
            dispatchers.append(dispatcher)

        def publish(worker: int) -> None:
            publisher = TopicPublisher(registry, broker.backend)
            for i in range(15):
                publisher.publish("work", {"n": worker * 100 + i})

        publishers = [threading.Thread(target=publish, args=(w,)) for w in range(8)]
        for thread in publishers:
            thread.start()
        for thread in publishers:
            thread.join()
        _wait_for(lambda: sum(seen.values()) >= 120, seconds=30)
        summaries = [d.stop() for d in dispatchers]
        dispatchers.clear()

        assert sorted(seen) == sorted(w * 100 + i for w in range(8) for i in range(15))
        assert set(seen.values()) == {1}
        assert sum(s.acknowledged for s in summaries) == 120
        assert ledger(broker.backend).balanced
    finally:
        for dispatcher in dispatchers:
            dispatcher.stop()
        broker.stop()


@pytest.fixture(autouse=True)
def _no_threads_left_behind() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    _wait_for(lambda: not (set(threading.enumerate()) - before), seconds=5)


def test_a_batch_with_a_repeated_deduplication_id_sends_it_once_and_says_so(
    broker: SimulatedBroker,
) -> None:
    broker.backend.declare_queue("jobs.fifo")
    dtos = [
        MessageDto(Message.create(json.dumps({"n": n}), "json", 1), "g", f"job-{n % 2}")
        for n in range(4)
    ]
    ids = broker.backend.publish_to_queue_batch(dtos, broker.backend.get_queue("jobs.fifo"))
    assert len(ids) == 4 and ids[0] == ids[2] and ids[1] == ids[3] and ids[0] != ids[1]
    assert total_count(broker.backend, "jobs.fifo") == 2
    assert len(broker.events.of_kind(EventKind.DEDUPLICATED)) == 2
    assert ledger(broker.backend).balanced
