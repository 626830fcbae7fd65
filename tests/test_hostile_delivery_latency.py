"""delivery_latency under faults (issues #20 and #23): copies in transit are delivered, or
reported, never lost without a word; a caller's mistake is a typed error; the broker and its
view keep working afterwards.

The books, after every case: each copy a topic sent has one outcome (``delivered`` or
``delivery_failed``), and every copy that entered a queue (delivered, or put into a
subscription's dead-letter queue) is acknowledged, still queued, or was deleted with its queue
or a purge, which the broker reported too.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from melange_lab import SimulatedBroker, TopicPublisher
from melange_lab.errors import InvalidParameter, MelangeLabError, UnknownOption
from melange_lab.events import EventKind
from melange_lab.serializers import SerializerRegistry
from melange_lab.widgets.broker_view import BrokerView
from melange_lab.widgets.comm_recorder import recording_comms

LATENCY = 2.0


@dataclass(frozen=True)
class Books:
    copies: int  # every topic copy that was not filtered out
    delivered: int
    failed: int
    into_subscription_dead_letters: int
    acknowledged: int
    queued: int
    dropped_with_queue_or_purge: int

    def balanced(self) -> bool:
        entered = self.delivered + self.into_subscription_dead_letters
        return self.copies == self.delivered + self.failed and entered == (
            self.acknowledged + self.queued + self.dropped_with_queue_or_purge
        )


def books(broker: SimulatedBroker, copies: int) -> Books:
    events = list(broker.events)

    def count(kind: EventKind) -> int:
        return sum(1 for e in events if e.kind is kind)

    dropped = sum(
        int(e.detail.get("messages", 0))
        for e in events
        if e.kind in (EventKind.QUEUE_DELETED, EventKind.PURGED)
    )
    return Books(
        copies=copies,
        delivered=count(EventKind.DELIVERED),
        failed=count(EventKind.DELIVERY_FAILED),
        into_subscription_dead_letters=sum(
            1 for e in events if e.kind is EventKind.DEAD_LETTERED and e.topic is not None
        ),
        acknowledged=count(EventKind.ACKNOWLEDGED),
        queued=sum(q.total for q in broker.queues()),
        dropped_with_queue_or_purge=dropped,
    )


@pytest.fixture
def late() -> Iterator[SimulatedBroker]:
    with SimulatedBroker(clock="manual", delivery_latency=LATENCY) as broker:
        yield broker


def wire(broker: SimulatedBroker, *names: str, **attributes: dict[str, str]) -> dict[str, str]:
    """Topic 'orders' and the named queues subscribed to it, by plain boto3; returns URLs."""
    sqs, sns = broker.client("sqs"), broker.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    urls = {}
    for name in names:
        urls[name] = sqs.create_queue(QueueName=name, Attributes=attributes.get(name, {}))[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
    return urls


@pytest.fixture
def wired(late: SimulatedBroker) -> Callable[..., dict[str, str]]:
    return functools.partial(wire, late)


def until_all_delivered(broker: SimulatedBroker, seconds: float = 20) -> int:
    """Waits (real time, bounded) while copies are on their way; returns how many still are."""
    deadline = time.monotonic() + seconds
    while broker.pending_deliveries() and time.monotonic() < deadline:
        time.sleep(0.02)
    return broker.pending_deliveries()


def publish(broker: SimulatedBroker, message: str = "order", times: int = 1) -> list[str]:
    sns = broker.client("sns")
    arn = sns.create_topic(Name="orders")["TopicArn"]
    return [sns.publish(TopicArn=arn, Message=f"{message}-{n}")["MessageId"] for n in range(times)]


def bodies(broker: SimulatedBroker, queue: str) -> list[str]:
    return [json.loads(m.body)["Message"] for m in broker.peek(queue)]


def still_works(broker: SimulatedBroker) -> None:
    """The broker and a view of it go on: a publish arrives after the latency, and is drawn."""
    with recording_comms():
        view = BrokerView(broker, refresh_interval=None)
        try:
            sqs = broker.client("sqs")
            url = sqs.create_queue(QueueName="afterwards")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="fine")
            view.flush()
            assert view.queue_pages["afterwards"]["total"] == 1
        finally:
            view.close()


def test_a_queue_deleted_while_its_copy_travels_fails_alone_and_advance_never_raises(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    urls = wired("billing", "shipping")
    (published,) = publish(late)
    late.client("sqs").delete_queue(QueueUrl=urls["shipping"])

    late.clock.advance(LATENCY)  # must not raise moto's QueueDoesNotExist

    assert bodies(late, "billing") == ["order-0"]
    (failed,) = late.events.of_kind(EventKind.DELIVERY_FAILED)
    assert (failed.queue, failed.published_id) == ("shipping", published)
    assert "does not exist" in str(failed.reason)
    assert late.pending_deliveries() == 0
    assert books(late, copies=2).balanced()
    still_works(late)


def test_a_failed_copy_goes_to_the_subscriptions_dead_letter_queue(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    urls = wired("billing", "shipping", "undeliverable")
    sqs, sns = late.client("sqs"), late.client("sns")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=urls["undeliverable"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    topic = sns.create_topic(Name="orders")["TopicArn"]
    for subscription in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        if subscription["Endpoint"].endswith(":shipping"):
            sns.set_subscription_attributes(
                SubscriptionArn=subscription["SubscriptionArn"],
                AttributeName="RedrivePolicy",
                AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}),
            )
    (published,) = publish(late)
    sqs.delete_queue(QueueUrl=urls["shipping"])

    late.clock.advance(LATENCY)

    assert bodies(late, "billing") == ["order-0"]
    assert bodies(late, "undeliverable") == ["order-0", "order-0"]  # its own copy, and shipping's
    (moved,) = late.events.of_kind(EventKind.DEAD_LETTERED)
    assert (moved.topic, moved.queue, moved.published_id) == ("orders", "shipping", published)
    assert moved.detail["dead_letter_queue"] == "undeliverable"
    (failed,) = late.events.of_kind(EventKind.DELIVERY_FAILED)
    assert failed.detail["dead_letter_queue"] == "undeliverable"
    assert books(late, copies=3).balanced()


def test_a_queue_deleted_and_declared_again_gets_the_copy_sent_to_its_name(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    urls = wired("billing")
    publish(late)
    sqs = late.client("sqs")
    sqs.delete_queue(QueueUrl=urls["billing"])
    sqs.create_queue(QueueName="billing")  # the same ARN: SNS delivers to it
    late.clock.advance(LATENCY)
    assert bodies(late, "billing") == ["order-0"]
    assert books(late, copies=1).balanced()


def test_a_copy_too_large_for_one_queue_fails_there_only(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    wired("roomy", "tight", tight={"MaximumMessageSize": "1024"})
    sns = late.client("sns")
    arn = sns.create_topic(Name="orders")["TopicArn"]
    published = sns.publish(TopicArn=arn, Message="x" * 2000)["MessageId"]  # succeeds
    late.clock.advance(LATENCY)
    assert len(late.peek("roomy")) == 1 and late.peek("tight") == []
    (failed,) = late.events.of_kind(EventKind.DELIVERY_FAILED)
    assert (failed.queue, failed.published_id) == ("tight", published)
    assert "1024" in str(failed.reason)
    assert books(late, copies=2).balanced()


def test_copies_in_transit_keep_travelling_when_a_manual_clock_turns_real() -> None:
    with SimulatedBroker(clock="manual", delivery_latency=0.2) as broker:
        wire(broker, "q")
        publish(broker)
        assert broker.pending_deliveries() == 1
        broker.clock.use_real_time()
        assert until_all_delivered(broker) == 0
        assert bodies(broker, "q") == ["order-0"]
        assert books(broker, copies=1).balanced()


def test_copies_in_transit_wait_for_the_clock_when_a_real_clock_is_frozen() -> None:
    with SimulatedBroker(delivery_latency=LATENCY) as broker:
        wire(broker, "q")
        publish(broker)
        broker.clock.freeze()
        time.sleep(0.3)  # the background delivery sees a clock that stands still
        assert broker.pending_deliveries() == 1 and broker.peek("q") == []
        broker.clock.advance(LATENCY)
        assert broker.pending_deliveries() == 0 and len(broker.peek("q")) == 1


def test_stop_reports_every_copy_still_in_transit_as_dropped(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    wired("a", "b", "c")
    published = publish(late, times=4)
    assert late.pending_deliveries() == 12
    late.stop()
    dropped = late.events.of_kind(EventKind.DELIVERY_FAILED)
    assert len(dropped) == 12
    assert {e.published_id for e in dropped} == set(published)
    assert all("stopped while the copy was on its way" in str(e.reason) for e in dropped)
    assert {e.queue for e in dropped} == {"a", "b", "c"}


def test_reset_drops_copies_in_transit_and_none_arrives_in_the_fresh_broker(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    wired("a")
    publish(late, times=2)
    heard: list[Any] = []
    late.subscribe(heard.append)
    late.reset()
    assert [e.kind for e in heard].count(EventKind.DELIVERY_FAILED) == 2  # told before reset
    assert late.pending_deliveries() == 0
    late.client("sqs").create_queue(QueueName="a")
    late.clock.advance(LATENCY * 2)
    assert late.peek("a") == []
    still_works(late)


def test_a_topic_deleted_after_publishing_still_delivers_what_it_sent(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    wired("a")
    publish(late)
    sns = late.client("sns")
    sns.delete_topic(TopicArn=sns.create_topic(Name="orders")["TopicArn"])
    late.clock.advance(LATENCY)
    assert bodies(late, "a") == ["order-0"]


def test_a_purge_while_a_copy_travels_keeps_the_copy_that_arrives_later(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    urls = wired("a")
    late.client("sqs").send_message(QueueUrl=urls["a"], MessageBody="before")
    publish(late)
    late.client("sqs").purge_queue(QueueUrl=urls["a"])
    late.clock.advance(LATENCY)
    assert bodies(late, "a") == ["order-0"]
    assert late.events.of_kind(EventKind.PURGED)[0].detail["messages"] == 1


def test_copies_arrive_in_publish_order_across_many_queues_when_half_are_deleted(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    names = [f"q{i:02d}" for i in range(20)]
    urls = wired(*names)
    publish(late, times=10)
    sqs = late.client("sqs")
    for name in names[::2]:
        sqs.delete_queue(QueueUrl=urls[name])
    late.clock.advance(LATENCY)
    for name in names[1::2]:
        assert bodies(late, name) == [f"order-{n}" for n in range(10)]
    assert len(late.events.of_kind(EventKind.DELIVERY_FAILED)) == 10 * 10
    assert books(late, copies=200).balanced()


def test_a_publish_batch_travels_like_single_publishes(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    wired("a")
    sns = late.client("sns")
    arn = sns.create_topic(Name="orders")["TopicArn"]
    entries = [{"Id": str(n), "Message": f"order-{n}"} for n in range(5)]
    answer = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
    assert len(answer["Successful"]) == 5 and late.peek("a") == []
    late.clock.advance(LATENCY)
    assert bodies(late, "a") == [f"order-{n}" for n in range(5)]
    delivered = late.events.of_kind(EventKind.DELIVERED)
    assert [e.published_id for e in delivered] == [s["MessageId"] for s in answer["Successful"]]


@pytest.mark.parametrize(
    "seconds", [-1, math.nan, math.inf, "2", True, None, 10 * 365 * 24 * 3600.0 + 1]
)
def test_a_bad_advance_is_a_typed_error_and_copies_keep_waiting(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]], seconds: Any
) -> None:
    wired("a")
    publish(late)
    with pytest.raises(InvalidParameter):
        late.clock.advance(seconds)
    assert late.pending_deliveries() == 1
    late.clock.advance(LATENCY)
    assert bodies(late, "a") == ["order-0"]


@pytest.mark.parametrize("latency", [-0.1, math.nan, math.inf, 3601, "1", True, None])
def test_a_latency_outside_0_to_3600_seconds_is_refused(latency: Any) -> None:
    with pytest.raises(InvalidParameter) as refused:
        SimulatedBroker(delivery_latency=latency, start=False)
    assert refused.value.parameter == "delivery_latency"


def test_a_misspelt_latency_option_names_the_broker() -> None:
    with pytest.raises(UnknownOption, match="SimulatedBroker"):
        SimulatedBroker(delivery_latncy=1, start=False)  # type: ignore[call-arg]


def test_publishing_while_copies_arrive_in_the_background_loses_none(
    registry: SerializerRegistry,
) -> None:
    with SimulatedBroker(delivery_latency=0.01) as broker:
        backend = broker.backend
        topic = backend.declare_topic("orders")
        for name in ("a", "b"):
            backend.declare_queue(name, topic)
        errors: list[BaseException] = []

        def publish_many() -> None:
            try:
                for n in range(100):
                    TopicPublisher(registry, backend).publish("orders", {"n": n})
            except MelangeLabError as error:
                errors.append(error)

        publishers = [threading.Thread(target=publish_many) for _ in range(2)]
        for thread in publishers:
            thread.start()
        for thread in publishers:
            thread.join(timeout=60)
        assert errors == [] and until_all_delivered(broker) == 0
        assert [len(broker.peek(name)) for name in ("a", "b")] == [200, 200]
        assert books(broker, copies=400).balanced()


def test_a_long_poll_before_the_copy_is_due_ends_empty_in_real_time(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    urls = wired("a")
    publish(late)
    started = time.monotonic()
    answer = late.client("sqs").receive_message(QueueUrl=urls["a"], WaitTimeSeconds=1)
    assert answer.get("Messages", []) == [] and time.monotonic() - started < 10
    assert late.pending_deliveries() == 1


def test_a_late_copy_carries_its_publish_time_and_every_copy_the_same_signature(
    late: SimulatedBroker, wired: Callable[..., dict[str, str]]
) -> None:
    wired("a", "b")
    published_at = late.clock.now()
    publish(late)
    late.clock.advance(LATENCY + 60)
    envelopes = [json.loads(late.peek(name)[0].body) for name in ("a", "b")]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(published_at))
    assert all(e["Timestamp"].startswith(stamp) for e in envelopes)  # SNS: when published
    assert envelopes[0]["Signature"] == envelopes[1]["Signature"]
