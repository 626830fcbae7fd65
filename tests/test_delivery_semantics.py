"""What happens after a message is sent: acks, retries, dead letters, the clock, FIFO, filters,
and the crafted pickle. Most run a scenario from tests/scenarios.py on the simulated broker."""

from __future__ import annotations

import base64
import json
import os
import pickle
from pathlib import Path

import boto3
import pytest

from melange_lab import (
    Consumer,
    FilterPolicyScope,
    MessageDispatcher,
    MessagingBackendFactory,
    QueuePublisher,
    SimulatedBroker,
    TopicPublisher,
)
from melange_lab.errors import InvalidFilterPolicy, InvalidParameter
from melange_lab.events import EventKind
from melange_lab.models import Message
from melange_lab.serializers import SerializerRegistry
from tests import scenarios
from tests.messages import OrderCreated
from tests.scenarios import Recorder, total_count, visible_count

# -- acknowledgement, retries, dead letters ----------------------------------------------------


def test_message_is_acknowledged_when_processing_succeeds(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    scenarios.ack_on_success(broker.backend, registry)


def test_message_reappears_after_visibility_timeout(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    scenarios.failure_comes_back_after_visibility_timeout(
        broker.backend, registry, broker.clock.advance
    )


def test_message_stays_invisible_until_the_clock_reaches_its_visibility_timeout(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("q", visibility_timeout=30)
    QueuePublisher(registry, broker.backend).publish("q", {"n": 1})
    queue = broker.backend.get_queue("q")
    assert len(broker.backend.retrieve_messages(queue)) == 1
    broker.clock.advance(29)
    assert broker.backend.retrieve_messages(queue) == []
    broker.clock.advance(1)
    assert len(broker.backend.retrieve_messages(queue)) == 1


@pytest.mark.parametrize("max_receive_count", [1, 2, 4])
def test_message_moves_to_dlq_after_exactly_max_receive_count_receives(
    broker: SimulatedBroker, registry: SerializerRegistry, max_receive_count: int
) -> None:
    receives = scenarios.dead_letter_after_max_receives(
        broker.backend, registry, broker.clock.advance, max_receive_count
    )
    assert receives == max_receive_count
    (moved,) = broker.events.of_kind(EventKind.DEAD_LETTERED)
    assert moved.detail["receive_count"] == max_receive_count
    assert "maxReceiveCount" in str(moved.reason)


def test_failed_events_say_which_consumer_raised_what(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    scenarios.failure_comes_back_after_visibility_timeout(
        broker.backend, registry, broker.clock.advance
    )
    failures = broker.events.of_kind(EventKind.FAILED)
    assert [f.detail["receive_count"] for f in failures] == [1, 2]
    assert all("RuntimeError: cannot handle" in str(f.reason) for f in failures)


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (Message.create('{"a": 1}', "json", 99), "no serializer with id 99"),
        (Message.create("{not json", "json", 1), "not valid JSON"),
        (Message.create("plain text", None, None), "no serializer_id attribute"),
        (Message.create("%%%not base64", "OrderCreated", 2), "not base64"),
    ],
    ids=["unknown-serializer-id", "bad-json", "no-serializer-id", "bad-pickle-text"],
)
def test_undecodable_message_is_never_acknowledged_and_ends_in_the_dlq(
    broker: SimulatedBroker, registry: SerializerRegistry, message: Message, why: str
) -> None:
    reasons = scenarios.undecodable_message_is_dead_lettered(
        broker.backend, registry, broker.clock.advance, message
    )
    assert all(why in reason and "dead-lettered" in reason for reason in reasons)
    assert len(broker.events.of_kind(EventKind.DEAD_LETTERED)) == 1
    assert broker.events.of_kind(EventKind.ACKNOWLEDGED) == []


class _RunsAShellCommand:
    """Unpickling this would run a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_crafted_pickle_is_refused_runs_nothing_and_ends_in_the_dlq(
    broker: SimulatedBroker, registry: SerializerRegistry, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    crafted = base64.b64encode(pickle.dumps(_RunsAShellCommand(marker))).decode()
    reasons = scenarios.undecodable_message_is_dead_lettered(
        broker.backend, registry, broker.clock.advance, Message.create(crafted, "OrderCreated", 2)
    )
    assert not marker.exists()
    assert all("system" in reason and "refused" in reason for reason in reasons)
    (dead,) = broker.peek("inbox-dlq")
    assert dead.payload == crafted  # the peek could not decode it either, and kept it whole
    assert dead.decode_error is not None and "refused" in dead.decode_error


def test_redrive_moves_every_dead_letter_back_with_body_and_attributes(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    scenarios.redrive_returns_dead_letters(broker.backend, registry, broker.clock.advance)
    (redriven,) = broker.events.of_kind(EventKind.REDRIVEN)
    assert redriven.queue == "jobs-dlq" and redriven.detail["to_queue"] == "jobs"
    (published,) = broker.events.of_kind(EventKind.PUBLISHED)
    assert redriven.published_id == published.message_id  # the publish it all started with
    assert redriven.detail["from_message_id"] == published.message_id
    assert redriven.message_id != published.message_id  # a new message in "jobs"


def test_broker_redrive_by_name_then_the_message_is_processed(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    scenarios.dead_letter_after_max_receives(broker.backend, registry, broker.clock.advance, 2)
    assert len(broker.redrive("payments-dlq")) == 1
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(recorder)
    assert dispatcher.consume_loop("payments").acknowledged == 1
    assert recorder.seen == [{"n": 1}]


def test_redrive_asks_for_the_target_when_several_queues_share_a_dlq(
    broker: SimulatedBroker,
) -> None:
    broker.backend.declare_queue("a", dead_letter_queue_name="shared-dlq")
    broker.backend.declare_queue("b", dead_letter_queue_name="shared-dlq")
    with pytest.raises(Exception, match=r"'a', 'b'.*to_queue"):
        broker.redrive("shared-dlq")
    assert broker.redrive("shared-dlq", to_queue="b") == []


# -- the broker clock ---------------------------------------------------------------------------


def test_delayed_message_appears_when_the_clock_passes_its_delay(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("later", delay_seconds=60)
    QueuePublisher(registry, broker.backend).publish("later", {"n": 1})
    assert visible_count(broker.backend, "later") == 0
    broker.clock.advance(59)
    assert visible_count(broker.backend, "later") == 0
    broker.clock.advance(1)
    assert visible_count(broker.backend, "later") == 1


def test_message_past_its_retention_period_is_no_longer_delivered(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("short-lived", message_retention_period=60)
    QueuePublisher(registry, broker.backend).publish("short-lived", {"n": 1})
    broker.clock.advance(61)
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(recorder)
    assert dispatcher.consume_loop("short-lived").received == 0
    assert recorder.seen == []


def _retention(broker: SimulatedBroker, queue: str) -> int:
    url = broker.backend.get_queue(queue).url
    answer = broker.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["MessageRetentionPeriod"]
    )
    return int(answer["Attributes"]["MessageRetentionPeriod"])


def test_a_dead_letter_outlives_its_source_queues_retention_by_default(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    """AWS advises a DLQ longer retention than its source: a standard queue's message ages
    from its first sending, also in the DLQ. declare_queue gives a DLQ it creates 14 days."""
    broker.backend.declare_queue(
        "work",
        dead_letter_queue_name="work-dlq",
        message_retention_period=120,
        max_receive_count=1,
        visibility_timeout=10,
    )
    assert (_retention(broker, "work"), _retention(broker, "work-dlq")) == (120, 14 * 24 * 3600)
    QueuePublisher(registry, broker.backend).publish("work", {"n": 1})
    queue = broker.backend.get_queue("work")
    assert len(broker.backend.retrieve_messages(queue)) == 1
    broker.clock.advance(11)
    assert broker.backend.retrieve_messages(queue) == []  # moved to the DLQ
    broker.clock.advance(200)  # past the source queue's 120 s, counted from the sending
    assert [m.state for m in broker.peek("work-dlq")] == ["visible"]


def test_a_dead_letter_queue_takes_its_own_retention_and_an_existing_one_keeps_its_own(
    broker: SimulatedBroker,
) -> None:
    broker.backend.declare_queue(
        "a", dead_letter_queue_name="a-dlq", dead_letter_retention_period=3600
    )
    assert _retention(broker, "a-dlq") == 3600
    broker.backend.declare_queue("kept-dlq", message_retention_period=600)
    broker.backend.declare_queue("b", dead_letter_queue_name="kept-dlq")
    assert _retention(broker, "kept-dlq") == 600
    with pytest.raises(InvalidParameter, match="dead_letter_retention_period"):
        broker.backend.declare_queue(
            "c", dead_letter_queue_name="c-dlq", dead_letter_retention_period=59
        )
    assert {q.name for q in broker.queues()} == {"a", "a-dlq", "kept-dlq", "b"}


def test_manual_clock_does_not_move_by_itself(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("q", visibility_timeout=1)
    QueuePublisher(registry, broker.backend).publish("q", {"n": 1})
    queue = broker.backend.get_queue("q")
    broker.backend.retrieve_messages(queue)
    for _ in range(50):
        assert broker.backend.retrieve_messages(queue) == []


# -- FIFO ---------------------------------------------------------------------------------------


def test_fifo_keeps_order_within_each_group_under_interleaved_groups(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    scenarios.fifo_keeps_order_per_group(broker.backend, registry)


def test_fifo_failed_message_holds_back_its_group_but_not_the_others(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("ledger.fifo", visibility_timeout=30)
    publisher = QueuePublisher(registry, broker.backend)
    for n in range(3):
        for group in ("alice", "bob"):
            publisher.publish("ledger.fifo", {"g": group, "n": n}, message_group_id=group)
    failing_once = {("alice", 0)}
    recorder = Recorder(failing=lambda m: (m["g"], m["n"]) in failing_once)
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(recorder)
    dispatcher.consume_loop("ledger.fifo")
    assert [(m["g"], m["n"]) for m in recorder.seen if m["g"] == "alice"] == [("alice", 0)]
    assert [m["n"] for m in recorder.seen if m["g"] == "bob"] == [0, 1, 2]
    failing_once.clear()
    broker.clock.advance(30)
    dispatcher.consume_loop("ledger.fifo")
    assert [m["n"] for m in recorder.seen if m["g"] == "alice"] == [0, 0, 1, 2]


def test_fifo_deduplicates_by_id(broker: SimulatedBroker, registry: SerializerRegistry) -> None:
    scenarios.fifo_deduplicates_by_id(broker.backend, registry)


def test_fifo_dedup_by_id_holds_inside_the_window_and_not_after_it(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("pay.fifo")
    publisher = QueuePublisher(registry, broker.backend)
    send = lambda: publisher.publish(  # noqa: E731
        "pay.fifo", {"v": 1}, message_group_id="g", message_deduplication_id="same"
    )
    send()
    broker.clock.advance(299)
    send()
    assert total_count(broker.backend, "pay.fifo") == 1
    broker.clock.advance(2)  # the 5-minute deduplication window has passed
    send()
    assert total_count(broker.backend, "pay.fifo") == 2


def test_fifo_content_based_deduplication_drops_identical_bodies(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("pay.fifo", content_based_deduplication=True)
    publisher = QueuePublisher(registry, broker.backend)
    for payload in ({"v": 1}, {"v": 1}, {"v": 2}):
        publisher.publish("pay.fifo", payload, message_group_id="g")
    assert [m.payload for m in broker.peek("pay.fifo")] == [{"v": 1}, {"v": 2}]


def test_fifo_topic_keeps_group_order_into_a_fifo_queue(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    topic = broker.backend.declare_topic("orders.fifo", content_based_deduplication=True)
    broker.backend.declare_queue("billing.fifo", topic)
    publisher = TopicPublisher(registry, broker.backend)
    for n in range(3):
        for group in ("x", "y"):
            publisher.publish(
                "orders.fifo",
                {"g": group, "n": n},
                message_group_id=group,
                message_deduplication_id=f"{group}-{n}",
            )
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(recorder)
    dispatcher.consume_loop("billing.fifo")
    for group in ("x", "y"):
        assert [m["n"] for m in recorder.seen if m["g"] == group] == [0, 1, 2]


# -- filter policies and raw delivery ------------------------------------------------------------


def test_filtered_subscription_gets_only_the_manifests_it_lists(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    scenarios.filtered_subscription(broker.backend, registry)
    (filtered,) = broker.events.of_kind(EventKind.FILTERED)
    assert filtered.queue == "only-orders" and "manifest" in str(filtered.reason)


def test_body_scope_filter_policy_matches_on_the_message_content(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    topic = broker.backend.declare_topic("payments")
    broker.backend.declare_queue(
        "big-payments",
        topic,
        filter_policy={"amount": [{"numeric": [">=", 100]}]},
        filter_policy_scope=FilterPolicyScope.MESSAGE_BODY,
    )
    publisher = TopicPublisher(registry, broker.backend)
    publisher.publish("payments", {"amount": 500})
    publisher.publish("payments", {"amount": 5})
    assert [m.payload for m in broker.peek("big-payments")] == [{"amount": 500}]
    (filtered,) = broker.events.of_kind(EventKind.FILTERED)
    assert "amount" in str(filtered.reason)


def test_raw_delivery_is_per_subscription_and_the_dispatcher_decodes_both(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    topic = broker.backend.declare_topic("orders")
    broker.backend.declare_queue("raw", topic, raw_message_delivery=True)
    broker.backend.declare_queue("wrapped", topic)
    TopicPublisher(registry, broker.backend).publish("orders", OrderCreated("o-1", 12))
    (raw,) = broker.peek("raw")
    (wrapped,) = broker.peek("wrapped")
    assert raw.envelope is None and wrapped.envelope is not None
    assert json.loads(wrapped.body)["Message"] == raw.body  # the bare content, no envelope
    for queue in ("raw", "wrapped"):
        recorder = Recorder()
        dispatcher = MessageDispatcher(registry, backend=broker.backend)
        dispatcher.attach_consumer(recorder)
        assert dispatcher.consume_loop(queue).acknowledged == 1
        assert recorder.seen == [OrderCreated("o-1", 12)]


def test_raw_delivery_of_json_content_is_decoded_too(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    topic = broker.backend.declare_topic("t")
    broker.backend.declare_queue("raw", topic, raw_message_delivery=True)
    TopicPublisher(registry, broker.backend).publish("t", {"a": [1, 2]})
    seen: list[object] = []
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(Consumer(seen.append))
    dispatcher.consume_loop("raw")
    assert seen == [{"a": [1, 2]}]


@pytest.mark.parametrize(
    "policy",
    [{"manifest": "OrderCreated"}, {}, "{not json", {"amount": [{"numeric": [">", "x"]}]}],
    ids=["value-not-a-list", "empty", "not-json", "bad-numeric"],
)
def test_invalid_filter_policy_is_rejected_before_anything_is_created(
    broker: SimulatedBroker, policy: object
) -> None:
    topic = broker.backend.declare_topic("t")
    with pytest.raises(InvalidFilterPolicy):
        broker.backend.declare_queue(
            "q",
            topic,
            dead_letter_queue_name="q-dlq",
            filter_policy=policy,  # type: ignore[arg-type]
        )
    assert broker.backend.queue_names() == []
    assert broker.subscriptions() == []


# -- the books balance ---------------------------------------------------------------------------


def test_every_message_is_accounted_for_and_every_step_has_an_event(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    backend = broker.backend
    topic = backend.declare_topic("shop")
    backend.declare_queue(
        "orders",
        topic,
        filter_events=["OrderCreated"],
        dead_letter_queue_name="orders-dlq",
        max_receive_count=2,
    )
    backend.declare_queue("audit", topic)
    publisher = TopicPublisher(registry, backend)
    for n in range(6):
        publisher.publish("shop", OrderCreated(f"o-{n}", n))
    publisher.publish("shop", {"note": "not an order"})
    recorder = Recorder(failing=lambda m: isinstance(m, OrderCreated) and m.amount % 3 == 0)
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(recorder)
    for _ in range(3):
        dispatcher.consume_loop("orders")
        dispatcher.consume_loop("audit", max_messages=3)
        broker.clock.advance(30)
        books = scenarios.ledger(backend)
        assert books.balanced, books
    books = scenarios.ledger(backend)
    assert (books.sent, books.in_dead_letter_queues) == (13, 2)
    kinds = {e.kind for e in broker.events}
    assert {
        EventKind.FILTERED,
        EventKind.PROCESSED,
        EventKind.FAILED,
        EventKind.DEAD_LETTERED,
        EventKind.ACKNOWLEDGED,
    } <= kinds
    for event in broker.events.of_kind(
        EventKind.FILTERED, EventKind.FAILED, EventKind.DEAD_LETTERED
    ):
        assert event.reason and event.published_id
    for event in broker.events.of_kind(EventKind.PROCESSED, EventKind.FAILED):
        # the dispatcher names both ids too: its copy, and the publish it came from
        assert event.message_id and event.published_id != event.message_id


def test_messages_sent_with_boto3_directly_are_consumed_the_same_way(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue = broker.backend.declare_queue("q")[0]
    sqs = boto3.client(
        "sqs", region_name=broker.region, aws_access_key_id="x", aws_secret_access_key="x"
    )
    sqs.send_message(
        QueueUrl=queue.url,
        MessageBody=json.dumps({"Message": json.dumps({"k": 1})}),
        MessageAttributes={
            "manifest": {"DataType": "String", "StringValue": "json"},
            "serializer_id": {"DataType": "Number", "StringValue": "1"},
        },
    )
    seen: list[object] = []
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(Consumer(seen.append))
    dispatcher.consume_loop("q")
    assert seen == [{"k": 1}]


def test_fifo_group_comes_back_in_order_after_a_whole_batch_times_out(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue = MessagingBackendFactory(broker.backend).init_queue("g.fifo", visibility_timeout=30)
    publisher = QueuePublisher(registry, broker.backend)
    for i in range(4):
        publisher.publish("g.fifo", {"i": i}, message_group_id="customer-1")
    first = broker.backend.retrieve_messages(queue, max_messages=10)
    assert [json.loads(m.content)["i"] for m in first] == [0, 1, 2, 3]

    broker.clock.advance(31)
    seen: list[int] = []
    for _ in range(10):
        batch = broker.backend.retrieve_messages(queue, max_messages=10)
        seen += [json.loads(m.content)["i"] for m in batch]
        for message in batch:
            broker.backend.acknowledge(message)

    assert seen == [0, 1, 2, 3]


def test_fifo_topic_publish_without_a_deduplication_id_gets_a_fresh_one(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("orders.fifo", ["events.fifo"])
    publisher = TopicPublisher(registry, broker.backend)

    publisher.publish("events.fifo", {"n": 1}, message_group_id="g")
    publisher.publish("events.fifo", {"n": 1}, message_group_id="g")

    assert [m.payload for m in broker.peek("orders.fifo")] == [{"n": 1}, {"n": 1}]


def test_messages_past_the_retention_period_disappear_when_the_clock_moves(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue = MessagingBackendFactory(broker.backend).init_queue("short", message_retention_period=60)
    QueuePublisher(registry, broker.backend).publish("short", {"n": 1})
    broker.clock.advance(59)
    assert len(broker.peek("short")) == 1

    broker.clock.advance(2)

    assert broker.peek("short") == []
    assert broker.queues()[0].total == 0
    assert broker.backend.retrieve_messages(queue) == []
