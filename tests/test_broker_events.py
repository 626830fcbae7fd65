"""The broker reports each change where its state changes, whoever made it (issue #20).

Plain boto3 here, unless a test is about the lab's own API: every event comes from the moto
layer, carries both ids where it is about a queue copy, and nothing is computed twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from melange_lab import MessageDispatcher, SimulatedBroker, TopicPublisher, moto_internals
from melange_lab.events import Event, EventKind
from melange_lab.moto_internals import receipts
from melange_lab.serializers import SerializerRegistry
from tests.event_scenarios import count_filter_evaluations
from tests.scenarios import Recorder


@pytest.fixture
def sqs(broker: SimulatedBroker) -> Any:
    return broker.client("sqs")


@pytest.fixture
def sns(broker: SimulatedBroker) -> Any:
    return broker.client("sns")


def make_queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def kinds(broker: SimulatedBroker, *wanted: EventKind) -> list[Event]:
    return broker.events.of_kind(*wanted)


def test_plain_boto3_is_seen_like_the_lab_every_step_with_both_ids(
    broker: SimulatedBroker, sqs: Any, sns: Any
) -> None:
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sqs, "billing")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    published = sns.publish(TopicArn=topic, Message="hello")["MessageId"]
    (entry,) = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=entry["ReceiptHandle"])

    delivered, received, acknowledged = (
        kinds(broker, kind)[0]
        for kind in (EventKind.DELIVERED, EventKind.RECEIVED, EventKind.ACKNOWLEDGED)
    )
    for event in (delivered, received, acknowledged):
        assert (event.queue, event.message_id, event.published_id) == (
            "billing",
            entry["MessageId"],
            published,
        )
    assert received.detail["receive_count"] == 1
    assert json.loads(entry["Body"])["MessageId"] == published  # what SNS's envelope says


def test_each_filter_policy_is_evaluated_once_per_subscription_per_publish(
    broker: SimulatedBroker, registry: SerializerRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = broker.backend
    topic = backend.declare_topic("shop")
    for name, manifests in (("a", ["json"]), ("b", ["Other"]), ("c", ["json", "x"])):
        backend.declare_queue(name, topic, filter_events=manifests)
    backend.declare_queue("everything", topic)
    evaluations = count_filter_evaluations(monkeypatch)

    for n in range(3):
        TopicPublisher(registry, backend).publish("shop", {"n": n})

    assert len(evaluations) == 3 * 3  # three policies, three publishes; none for "everything"
    assert len(kinds(broker, EventKind.DELIVERED)) == 3 * 3
    assert len(kinds(broker, EventKind.FILTERED)) == 3


def test_a_filtered_copy_says_which_rule_kept_it_out(
    broker: SimulatedBroker, sqs: Any, sns: Any
) -> None:
    topic = sns.create_topic(Name="shop")["TopicArn"]
    _, arn = make_queue(sqs, "eu")
    policy = {"region": ["eu"], "amount": [{"numeric": [">", 10]}]}
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(policy)},
    )
    published = sns.publish(
        TopicArn=topic,
        Message="m",
        MessageAttributes={"amount": {"DataType": "Number", "StringValue": "5"}},
    )["MessageId"]
    (filtered,) = kinds(broker, EventKind.FILTERED)
    assert filtered.published_id == published and filtered.message_id is None
    assert "message attribute 'region' is missing" in str(filtered.reason)
    assert "message attribute 'amount' is '5'" in str(filtered.reason)


def test_a_fifo_duplicate_sent_by_plain_boto3_is_reported_as_deduplicated(
    broker: SimulatedBroker, sqs: Any
) -> None:
    url, _ = make_queue(sqs, "q.fifo", FifoQueue="true")
    send = {"QueueUrl": url, "MessageGroupId": "g", "MessageDeduplicationId": "d"}
    first = sqs.send_message(MessageBody="one", **send)["MessageId"]
    again = sqs.send_message(MessageBody="two", **send)["MessageId"]
    assert again == first
    (duplicate,) = kinds(broker, EventKind.DEDUPLICATED)
    assert (duplicate.queue, duplicate.message_id, duplicate.published_id) == (
        "q.fifo",
        first,
        first,
    )
    assert duplicate.detail["deduplication_id"] == "d"
    assert len(kinds(broker, EventKind.PUBLISHED)) == 1
    assert [m.body for m in broker.peek("q.fifo")] == ["one"]


def test_a_raw_copy_is_tied_to_its_publish_by_the_broker_not_by_its_body(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    backend = broker.backend
    topic = backend.declare_topic("t")
    backend.declare_queue("raw", topic, raw_message_delivery=True)
    first = TopicPublisher(registry, backend).publish("t", {"same": "body"})
    second = TopicPublisher(registry, backend).publish("t", {"same": "body"})
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(recorder)
    dispatcher.consume_loop("raw")
    received = kinds(broker, EventKind.RECEIVED)
    assert [e.published_id for e in received] == [first, second]
    assert all(e.message_id != e.published_id for e in received)
    processed = kinds(broker, EventKind.PROCESSED)  # the dispatcher knows them from the broker
    assert [(e.message_id, e.published_id) for e in processed] == [
        (e.message_id, e.published_id) for e in received
    ]


def test_moving_to_a_dead_letter_queue_keeps_the_id_it_was_published_under(
    broker: SimulatedBroker, sqs: Any, sns: Any
) -> None:
    dlq_url, dlq_arn = make_queue(sqs, "dlq")
    url, arn = make_queue(
        sqs,
        "work",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
        VisibilityTimeout="5",
    )
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    published = sns.publish(TopicArn=topic, Message="poison")["MessageId"]
    sqs.receive_message(QueueUrl=url)
    broker.clock.advance(6)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    (moved,) = kinds(broker, EventKind.DEAD_LETTERED)
    assert (moved.queue, moved.published_id) == ("work", published)
    assert moved.detail["dead_letter_queue"] == "dlq"
    (entry,) = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert entry["MessageId"] == moved.message_id
    assert kinds(broker, EventKind.RECEIVED)[-1].published_id == published


def test_start_message_move_task_redrives_each_message_to_where_it_came_from(
    broker: SimulatedBroker, sqs: Any
) -> None:
    _, dlq_arn = make_queue(sqs, "shared-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    sources = {name: make_queue(sqs, name, RedrivePolicy=redrive, VisibilityTimeout="1")[0]
               for name in ("a", "b")}  # fmt: skip
    for name, url in sources.items():
        sqs.send_message(QueueUrl=url, MessageBody=name)
        sqs.receive_message(QueueUrl=url)
    broker.clock.advance(2)
    for url in sources.values():
        sqs.receive_message(QueueUrl=url)  # moves each to the shared dead-letter queue
    assert len(broker.peek("shared-dlq")) == 2

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]

    assert handle
    assert {name: [m.body for m in broker.peek(name)] for name in sources} == {
        "a": ["a"],
        "b": ["b"],
    }
    assert broker.peek("shared-dlq") == []
    moves = kinds(broker, EventKind.REDRIVEN)
    assert sorted(e.detail["to_queue"] for e in moves) == ["a", "b"]
    (task,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] == 2


def test_start_message_move_task_refuses_a_queue_that_is_no_dead_letter_queue(
    broker: SimulatedBroker, sqs: Any
) -> None:
    url, arn = make_queue(sqs, "plain")
    sqs.send_message(QueueUrl=url, MessageBody="stays")
    with pytest.raises(sqs.exceptions.ClientError, match="Dead Letter Queue"):
        sqs.start_message_move_task(SourceArn=arn)
    assert [m.body for m in broker.peek("plain")] == ["stays"]
    assert kinds(broker, EventKind.REDRIVEN) == []


def test_topology_changes_are_reported_once_each(
    broker: SimulatedBroker, sqs: Any, sns: Any
) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.create_topic(Name="t")  # already there: nothing changed
    url, arn = make_queue(sqs, "q")
    make_queue(sqs, "q")
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.unsubscribe(SubscriptionArn=subscription)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.purge_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=url)
    sns.delete_topic(TopicArn=topic)
    assert [(e.kind.value, e.topic, e.queue) for e in broker.events] == [
        ("topic_declared", "t", None),
        ("queue_declared", None, "q"),
        ("subscribed", "t", "q"),
        ("unsubscribed", "t", "q"),
        ("published", None, "q"),
        ("purged", None, "q"),
        ("queue_deleted", None, "q"),
        ("topic_deleted", "t", None),
    ]
    assert kinds(broker, EventKind.PURGED)[0].detail["messages"] == 1


def test_deleting_a_topic_reports_its_subscriptions_gone_first(
    broker: SimulatedBroker, sqs: Any, sns: Any
) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    for name in ("a", "b"):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=make_queue(sqs, name)[1])
    sns.delete_topic(TopicArn=topic)
    tail = [(e.kind.value, e.queue) for e in broker.events][-3:]
    assert tail == [("unsubscribed", "a"), ("unsubscribed", "b"), ("topic_deleted", None)]


def test_a_subscribe_refused_for_its_filter_policy_leaves_no_subscription(
    broker: SimulatedBroker, sqs: Any, sns: Any
) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    _, arn = make_queue(sqs, "q")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"FilterPolicy": json.dumps({"k": "not a list"})},
        )
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    assert kinds(broker, EventKind.SUBSCRIBED) == []


def test_changing_a_filter_policy_later_is_reported(
    broker: SimulatedBroker, sqs: Any, sns: Any
) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=make_queue(sqs, "q")[1])[
        "SubscriptionArn"
    ]
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue='{"k": ["v"]}'
    )
    changed = kinds(broker, EventKind.SUBSCRIBED)[-1]
    assert changed.detail["changed"] == "FilterPolicy"
    assert changed.detail["filter_policy"] == {"k": ["v"]}


@pytest.fixture
def broken_observer(broker: SimulatedBroker) -> Iterator[list[Event]]:
    heard: list[Event] = []

    def observer(event: Event) -> None:
        heard.append(event)
        raise RuntimeError("a broken view")

    unsubscribe = broker.subscribe(observer)
    yield heard
    unsubscribe()


def test_an_observer_that_raises_is_logged_and_never_breaks_the_broker(
    broker: SimulatedBroker,
    sqs: Any,
    sns: Any,
    broken_observer: list[Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, arn = make_queue(sqs, "q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    with caplog.at_level(logging.ERROR, logger="melange_lab.events"):
        sns.publish(TopicArn=topic, Message="still delivered")
    assert [m.body for m in broker.peek("q")] and len(broken_observer) >= 5
    assert "a broken view" in caplog.text
    assert sqs.receive_message(QueueUrl=url)["Messages"]


def test_messages_a_stopped_broker_held_are_not_reported_by_the_next(
    registry: SerializerRegistry,
) -> None:
    with SimulatedBroker(clock="manual") as first:
        first.backend.declare_queue("q")
    with SimulatedBroker(clock="manual") as second:
        assert list(second.events) == []
        second.backend.declare_queue("q")
        assert [e.kind for e in second.events] == [EventKind.QUEUE_DECLARED]
    assert [e.kind for e in first.events] == [EventKind.QUEUE_DECLARED]


def test_an_acknowledgement_names_its_message_even_when_the_handle_left_the_cache(
    broker: SimulatedBroker, sqs: Any, sns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receipts, "HANDLES_KEPT", 1)
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, arn = make_queue(sqs, "q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    published = [sns.publish(TopicArn=topic, Message=str(n))["MessageId"] for n in range(2)]
    first, second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])  # evicted: looked up
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])  # a repeat: no event
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    (acknowledged,) = kinds(broker, EventKind.ACKNOWLEDGED)
    (released,) = kinds(broker, EventKind.RELEASED)
    assert (acknowledged.message_id, acknowledged.published_id) == (
        first["MessageId"],
        published[0],
    )
    assert (released.message_id, released.published_id) == (second["MessageId"], published[1])


def test_a_publish_decodes_its_body_once_for_every_message_body_policy(
    broker: SimulatedBroker, sqs: Any, sns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = sns.create_topic(Name="shop")["TopicArn"]
    policies = {
        "eu": {"region": ["eu"]},
        "us": {"region": ["us"]},
        "big": {"n": [{"numeric": [">", 5]}]},
    }
    for name, policy in policies.items():
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=make_queue(sqs, name)[1],
            Attributes={"FilterPolicy": json.dumps(policy), "FilterPolicyScope": "MessageBody"},
        )
    body = json.dumps({"region": "eu", "n": 9})
    decoded: list[str] = []
    real = json.loads

    def counted(text: Any, *args: Any, **kwargs: Any) -> Any:
        if text == body:
            decoded.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counted)
    sns.publish(TopicArn=topic, Message=body)
    assert len(decoded) == 1
    delivered = sorted(str(e.queue) for e in kinds(broker, EventKind.DELIVERED))
    filtered = [(e.queue, e.reason) for e in kinds(broker, EventKind.FILTERED)]
    assert delivered == ["big", "eu"]
    assert filtered == [("us", 'body field \'region\' is "eu"; the policy wants ["us"]')]


def test_a_message_past_its_retention_is_deleted_and_reported_as_expired(
    broker: SimulatedBroker, sqs: Any, sns: Any
) -> None:
    url, arn = make_queue(sqs, "short", MessageRetentionPeriod="60")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    published = sns.publish(TopicArn=topic, Message="old")["MessageId"]
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=5)  # received once, never acknowledged
    broker.clock.advance(30)
    sqs.send_message(QueueUrl=url, MessageBody="young")
    assert kinds(broker, EventKind.EXPIRED) == []

    broker.clock.advance(30)  # the first message is 60 s old: SQS deletes it

    (expired,) = kinds(broker, EventKind.EXPIRED)
    (delivered,) = kinds(broker, EventKind.DELIVERED)
    assert (expired.queue, expired.message_id, expired.published_id) == (
        "short",
        delivered.message_id,
        published,
    )
    assert expired.detail == {"retention_seconds": 60, "receive_count": 1}
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    (left,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert left["Body"] == "young"


def test_a_receive_deletes_and_reports_expired_messages_itself(
    broker: SimulatedBroker, sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when time passes on a real-time clock: no advance sweeps the queues for it."""
    monkeypatch.setattr(moto_internals, "expire_messages", lambda: None)
    url, _ = make_queue(sqs, "q", MessageRetentionPeriod="60")
    old = sqs.send_message(QueueUrl=url, MessageBody="old")["MessageId"]
    broker.clock.advance(61)
    assert kinds(broker, EventKind.EXPIRED) == []
    sqs.send_message(QueueUrl=url, MessageBody="new")
    (left,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert left["Body"] == "new"
    assert [e.message_id for e in kinds(broker, EventKind.EXPIRED)] == [old]


def test_peeking_a_topics_copy_decodes_its_stored_body_once(
    broker: SimulatedBroker, registry: SerializerRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the view shows of a copy (payload and SNS envelope) comes from one decode."""
    backend = broker.backend
    backend.declare_queue("q", backend.declare_topic("t"))
    published = TopicPublisher(registry, backend).publish("t", {"order": 1})
    decoded: list[str] = []
    real = json.loads

    def counted(text: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(text, str) and '"Type": "Notification"' in text:
            decoded.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counted)
    (copy,) = broker.peek("q", registry)
    assert copy.payload == {"order": 1}
    assert copy.envelope is not None and copy.envelope["MessageId"] == published
    assert len(decoded) == 1
