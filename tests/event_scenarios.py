"""Scenarios whose events must be the same whoever drives the broker (issue #20's done-when).

Each scenario is a function taking a ``Driver`` (what a client does: declare, publish, send,
receive, acknowledge, release, redrive) and the ``SimulatedBroker`` it runs on (for its clock
and its event log). Three drivers do the same things three ways: ``LabDriver`` through the
lab's publishers and backend, ``Boto3Driver`` with plain boto3 clients (in the kernel, or in
another process through ``broker.serve()``, see ``event_driver.py``). What the broker reports
is compared in a normal form: ids become m1, m2, ... in order of first appearance, so "the copy
delivered to billing names the publish as its published id" is checked, not the random ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import pytest

from melange_lab import QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.backends.base import MessagingBackend
from melange_lab.events import Event, EventKind
from melange_lab.filter_policies import FilterPolicy
from melange_lab.models import Message, MessageDto
from melange_lab.moto_internals import fan_out, filter_policies
from melange_lab.serializers import SerializerRegistry

VISIBILITY = 30  # seconds: SQS's default, on the broker's manual clock
MANIFEST = "json"  # what the lab's JSON serializer names a dict


class Driver(Protocol):
    """What a client of the broker does; ``receive`` returns tokens ``ack``/``release`` take."""

    def create_topic(self, name: str) -> None: ...

    def create_queue(
        self,
        name: str,
        dead_letter: str | None = None,
        max_receive_count: int = 1,
        retention: int | None = None,
    ) -> None: ...

    def subscribe(
        self, topic: str, queue: str, manifests: list[str] | None = None, raw: bool = False
    ) -> None: ...

    def publish(
        self, topic: str, body: dict[str, Any], group: str | None = None, dedup: str | None = None
    ) -> str: ...

    def send(
        self, queue: str, body: dict[str, Any], group: str | None = None, dedup: str | None = None
    ) -> str: ...

    def receive(self, queue: str) -> list[str]: ...

    def ack(self, queue: str, token: str) -> None: ...

    def release(self, queue: str, token: str) -> None: ...

    def redrive(self, dead_letter_queue: str, to_queue: str) -> None: ...

    def send_batch(self, queue: str, bodies: list[dict[str, Any]]) -> list[str]: ...

    def delete_queue(self, queue: str) -> None: ...

    def delete_topic(self, topic: str) -> None: ...


class ClientDriver(Driver, Protocol):
    """What plain SNS/SQS clients do besides, which the lab's melange API has no call for."""

    def publish_batch(self, topic: str, bodies: list[dict[str, Any]]) -> None: ...

    def ack_batch(self, queue: str, tokens: list[str]) -> None: ...

    def release_batch(self, queue: str, tokens: list[str]) -> None: ...

    def purge(self, queue: str) -> None: ...

    def unsubscribe(self, topic: str, queue: str) -> None: ...


class LabDriver:
    """The lab's own API: ``declare_*``, the publishers, ``retrieve_messages``/``acknowledge``/
    ``release``, ``delete_*`` and ``broker.redrive``; on the broker's own backend, or on
    melange's ``AWSBackend`` pointed at ``broker.serve()``."""

    def __init__(
        self,
        broker: SimulatedBroker,
        registry: SerializerRegistry,
        backend: MessagingBackend | None = None,
    ) -> None:
        self.broker = broker
        self.backend = backend if backend is not None else broker.backend
        self.registry = registry
        self._received: dict[str, Message] = {}

    def create_topic(self, name: str) -> None:
        self.backend.declare_topic(name)

    def create_queue(
        self,
        name: str,
        dead_letter: str | None = None,
        max_receive_count: int = 1,
        retention: int | None = None,
    ) -> None:
        self.backend.declare_queue(
            name,
            dead_letter_queue_name=dead_letter,
            max_receive_count=max_receive_count,
            visibility_timeout=VISIBILITY,
            message_retention_period=retention,
        )

    def subscribe(
        self, topic: str, queue: str, manifests: list[str] | None = None, raw: bool = False
    ) -> None:
        policy = FilterPolicy.for_manifests(manifests) if manifests else None
        self.backend.subscribe(
            self.backend.get_topic(topic), self.backend.get_queue(queue), policy, raw
        )

    def publish(
        self, topic: str, body: dict[str, Any], group: str | None = None, dedup: str | None = None
    ) -> str:
        fifo = {"message_group_id": group, "message_deduplication_id": dedup} if group else {}
        return TopicPublisher(self.registry, self.backend).publish(topic, body, **fifo)

    def send(
        self, queue: str, body: dict[str, Any], group: str | None = None, dedup: str | None = None
    ) -> str:
        fifo = {"message_group_id": group, "message_deduplication_id": dedup} if group else {}
        return QueuePublisher(self.registry, self.backend).publish(queue, body, **fifo)

    def receive(self, queue: str) -> list[str]:
        messages = self.backend.retrieve_messages(self.backend.get_queue(queue))
        for message in messages:
            self._received[message.metadata["ReceiptHandle"]] = message
        return [m.metadata["ReceiptHandle"] for m in messages]

    def ack(self, queue: str, token: str) -> None:
        self.backend.acknowledge(self._received.pop(token))

    def release(self, queue: str, token: str) -> None:
        self.backend.release(self._received.pop(token))

    def redrive(self, dead_letter_queue: str, to_queue: str) -> None:
        self.broker.redrive(dead_letter_queue, to_queue)

    def send_batch(self, queue: str, bodies: list[dict[str, Any]]) -> list[str]:
        entries = [MessageDto(self._message(body)) for body in bodies]
        return self.backend.publish_to_queue_batch(entries, self.backend.get_queue(queue))

    def _message(self, body: dict[str, Any]) -> Message:
        serializer = self.registry.find_serializer_for(body)
        return Message.create(
            serializer.serialize(body), serializer.manifest(body), serializer.identifier()
        )

    def delete_queue(self, queue: str) -> None:
        self.backend.delete_queue(self.backend.get_queue(queue))

    def delete_topic(self, topic: str) -> None:
        self.backend.delete_topic(self.backend.get_topic(topic))


class Boto3Driver:
    """Plain boto3: what a learner types, or a program in any process does."""

    def __init__(self, sqs: Any, sns: Any) -> None:
        self.sqs, self.sns = sqs, sns

    def _url(self, queue: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=queue)["QueueUrl"])

    def _arn(self, queue: str) -> str:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self._url(queue), AttributeNames=["QueueArn"]
        )["Attributes"]
        return str(attributes["QueueArn"])

    def _topic_arn(self, topic: str) -> str:
        return str(self.sns.create_topic(Name=topic, **_fifo_topic(topic))["TopicArn"])

    def create_topic(self, name: str) -> None:
        self._topic_arn(name)

    def create_queue(
        self,
        name: str,
        dead_letter: str | None = None,
        max_receive_count: int = 1,
        retention: int | None = None,
    ) -> None:
        attributes = {"VisibilityTimeout": str(VISIBILITY)}
        if retention is not None:
            attributes["MessageRetentionPeriod"] = str(retention)
        if name.endswith(".fifo"):
            attributes.update(FifoQueue="true", ContentBasedDeduplication="true")
        if dead_letter is not None:
            self.create_queue(dead_letter)
            target = self._arn(dead_letter)
            policy = {"deadLetterTargetArn": target, "maxReceiveCount": max_receive_count}
            attributes["RedrivePolicy"] = json.dumps(policy)
        self.sqs.create_queue(QueueName=name, Attributes=attributes)

    def subscribe(
        self, topic: str, queue: str, manifests: list[str] | None = None, raw: bool = False
    ) -> None:
        attributes = {"RawMessageDelivery": "true" if raw else "false"}
        if manifests:
            attributes["FilterPolicy"] = json.dumps({"manifest": manifests})
        self.sns.subscribe(
            TopicArn=self._topic_arn(topic),
            Protocol="sqs",
            Endpoint=self._arn(queue),
            Attributes=attributes,
        )

    def publish(
        self, topic: str, body: dict[str, Any], group: str | None = None, dedup: str | None = None
    ) -> str:
        fifo = {"MessageGroupId": group, "MessageDeduplicationId": dedup} if group else {}
        answer = self.sns.publish(
            TopicArn=self._topic_arn(topic),
            Message=json.dumps(body),
            MessageAttributes=_lab_attributes(),
            **fifo,
        )
        return str(answer["MessageId"])

    def send(
        self, queue: str, body: dict[str, Any], group: str | None = None, dedup: str | None = None
    ) -> str:
        fifo = {"MessageGroupId": group, "MessageDeduplicationId": dedup} if group else {}
        answer = self.sqs.send_message(
            QueueUrl=self._url(queue),
            MessageBody=_lab_body(body),
            MessageAttributes=_lab_attributes(),
            **fifo,
        )
        return str(answer["MessageId"])

    def receive(self, queue: str) -> list[str]:
        answer = self.sqs.receive_message(
            QueueUrl=self._url(queue), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return [str(m["ReceiptHandle"]) for m in answer.get("Messages", [])]

    def ack(self, queue: str, token: str) -> None:
        self.sqs.delete_message(QueueUrl=self._url(queue), ReceiptHandle=token)

    def release(self, queue: str, token: str) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self._url(queue), ReceiptHandle=token, VisibilityTimeout=0
        )

    def redrive(self, dead_letter_queue: str, to_queue: str) -> None:
        # no DestinationArn: each message goes back where it was dead-lettered from, as on SQS
        self.sqs.start_message_move_task(SourceArn=self._arn(dead_letter_queue))

    def send_batch(self, queue: str, bodies: list[dict[str, Any]]) -> list[str]:
        entries = [
            {"Id": str(n), "MessageBody": _lab_body(body), "MessageAttributes": _lab_attributes()}
            for n, body in enumerate(bodies)
        ]
        answer = self.sqs.send_message_batch(QueueUrl=self._url(queue), Entries=entries)
        assert not answer.get("Failed"), answer
        return [str(e["MessageId"]) for e in sorted(answer["Successful"], key=_entry_order)]

    def publish_batch(self, topic: str, bodies: list[dict[str, Any]]) -> None:
        entries = [
            {"Id": str(n), "Message": json.dumps(body), "MessageAttributes": _lab_attributes()}
            for n, body in enumerate(bodies)
        ]
        answer = self.sns.publish_batch(
            TopicArn=self._topic_arn(topic), PublishBatchRequestEntries=entries
        )
        assert not answer.get("Failed"), answer

    def ack_batch(self, queue: str, tokens: list[str]) -> None:
        entries = [{"Id": str(n), "ReceiptHandle": token} for n, token in enumerate(tokens)]
        answer = self.sqs.delete_message_batch(QueueUrl=self._url(queue), Entries=entries)
        assert not answer.get("Failed"), answer

    def release_batch(self, queue: str, tokens: list[str]) -> None:
        entries = [
            {"Id": str(n), "ReceiptHandle": token, "VisibilityTimeout": 0}
            for n, token in enumerate(tokens)
        ]
        answer = self.sqs.change_message_visibility_batch(
            QueueUrl=self._url(queue), Entries=entries
        )
        assert not answer.get("Failed"), answer

    def purge(self, queue: str) -> None:
        self.sqs.purge_queue(QueueUrl=self._url(queue))

    def _subscriptions(self, topic: str) -> list[dict[str, Any]]:
        answer = self.sns.list_subscriptions_by_topic(TopicArn=self._topic_arn(topic))
        return list(answer["Subscriptions"])

    def unsubscribe(self, topic: str, queue: str) -> None:
        arn = self._arn(queue)
        for subscription in self._subscriptions(topic):
            if subscription["Endpoint"] == arn:
                self.sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])

    def delete_queue(self, queue: str) -> None:
        """As the lab's ``delete_queue``: unsubscribed from its topics first, then deleted."""
        arn = self._arn(queue)
        for topic in self.sns.list_topics()["Topics"]:
            answer = self.sns.list_subscriptions_by_topic(TopicArn=topic["TopicArn"])
            for subscription in answer["Subscriptions"]:
                if subscription["Endpoint"] == arn:
                    self.sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        self.sqs.delete_queue(QueueUrl=self._url(queue))

    def delete_topic(self, topic: str) -> None:
        """As the lab's ``delete_topic``: its subscriptions ended first, then the topic."""
        for subscription in self._subscriptions(topic):
            self.sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        self.sns.delete_topic(TopicArn=self._topic_arn(topic))


def _lab_body(body: dict[str, Any]) -> str:
    """A queue message's body as the lab's publishers write it."""
    return json.dumps({"Message": json.dumps(body)})


def _entry_order(entry: dict[str, Any]) -> int:
    return int(entry["Id"])


def _fifo_topic(topic: str) -> dict[str, Any]:
    if not topic.endswith(".fifo"):
        return {}
    return {"Attributes": {"FifoTopic": "true", "ContentBasedDeduplication": "true"}}


def _lab_attributes() -> dict[str, Any]:
    """The attributes the lab's JSON serializer sends (SNS and SQS take the same shape)."""
    return {
        "manifest": {"DataType": "String", "StringValue": MANIFEST},
        "serializer_id": {"DataType": "Number", "StringValue": "1"},
    }


# --- the normal form ------------------------------------------------------------------------

_DETAILS = ("receive_count", "dead_letter_queue", "to_queue", "from_message_id", "messages")


def normal_form(events: list[Event]) -> list[tuple[Any, ...]]:
    """Each event as (kind, topic, queue, id, published id, details, reason), ids as m1, m2, ...
    in order of first appearance, also where a reason names one (in full or its first 8)."""
    labels: dict[str, str] = {}

    def label(value: object) -> str | None:
        if not isinstance(value, str):
            return None
        return labels.setdefault(value, f"m{len(labels) + 1}")

    shown = []
    for event in events:
        details = tuple(
            (name, label(event.detail[name]) if name == "from_message_id" else event.detail[name])
            for name in _DETAILS
            if event.detail.get(name) is not None
        )
        shown.append(
            (
                event.kind.value,
                event.topic,
                event.queue,
                label(event.message_id),
                label(event.published_id),
                details,
                event.reason,
            )
        )
    return [(*row[:-1], _labelled(row[-1], labels)) for row in shown]


def _labelled(reason: str | None, labels: dict[str, str]) -> str | None:
    for message_id, name in labels.items():
        if reason is not None:
            reason = reason.replace(message_id, name).replace(message_id[:8], name)
    return reason


def last_seq(broker: SimulatedBroker) -> int:
    """The sequence number of the broker's newest event (0 before any): a scenario's start."""
    return broker.events[-1].seq if len(broker.events) else 0


def since(broker: SimulatedBroker, seq: int) -> list[Event]:
    return [e for e in broker.events if e.seq > seq and e.kind is not EventKind.FAULT_INJECTED]


# --- the scenarios --------------------------------------------------------------------------


def fan_out_with_a_filter(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    start = last_seq(broker)
    driver.create_topic("shop")
    for queue in ("billing", "audit", "returns"):
        driver.create_queue(queue)
    driver.subscribe("shop", "billing", manifests=[MANIFEST])
    driver.subscribe("shop", "audit", raw=True)
    driver.subscribe("shop", "returns", manifests=["OrderReturned"])
    driver.publish("shop", {"order": 1})
    for queue in ("billing", "audit"):
        (token,) = driver.receive(queue)
        driver.ack(queue, token)
    return normal_form(since(broker, start))


FAN_OUT_WITH_A_FILTER = [
    ("topic_declared", "shop", None, None, None, (), None),
    ("queue_declared", None, "billing", None, None, (), None),
    ("queue_declared", None, "audit", None, None, (), None),
    ("queue_declared", None, "returns", None, None, (), None),
    ("subscribed", "shop", "billing", None, None, (), None),
    ("subscribed", "shop", "audit", None, None, (), None),
    ("subscribed", "shop", "returns", None, None, (), None),
    ("published", "shop", None, "m1", "m1", (), None),
    ("delivered", "shop", "billing", "m2", "m1", (), None),
    ("delivered", "shop", "audit", "m3", "m1", (), None),
    (
        "filtered",
        "shop",
        "returns",
        None,
        "m1",
        (),
        "message attribute 'manifest' is 'json'; the policy wants [\"OrderReturned\"]",
    ),
    ("received", None, "billing", "m2", "m1", (("receive_count", 1),), None),
    ("acknowledged", None, "billing", "m2", "m1", (), None),
    ("received", None, "audit", "m3", "m1", (("receive_count", 1),), None),
    ("acknowledged", None, "audit", "m3", "m1", (), None),
]


def fifo_duplicate(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    start = last_seq(broker)
    driver.create_queue("invoices.fifo")
    driver.create_topic("orders.fifo")
    driver.subscribe("orders.fifo", "invoices.fifo")
    first = driver.send("invoices.fifo", {"v": 1}, group="g", dedup="inv-1")
    again = driver.send("invoices.fifo", {"v": 2}, group="g", dedup="inv-1")
    assert again == first  # the broker answers a duplicate with the first message's id
    driver.send("invoices.fifo", {"v": 3}, group="g", dedup="inv-2")
    driver.publish("orders.fifo", {"o": 1}, group="g", dedup="o-1")
    driver.publish("orders.fifo", {"o": 1}, group="g", dedup="o-1")
    return normal_form(since(broker, start))


FIFO_DUPLICATE = [
    ("queue_declared", None, "invoices.fifo", None, None, (), None),
    ("topic_declared", "orders.fifo", None, None, None, (), None),
    ("subscribed", "orders.fifo", "invoices.fifo", None, None, (), None),
    ("published", None, "invoices.fifo", "m1", "m1", (), None),
    (
        "deduplicated",
        None,
        "invoices.fifo",
        "m1",
        "m1",
        (),
        "same deduplication id 'inv-1' as message m1 sent less than 5 minutes ago: accepted "
        "and dropped, as FIFO queues do",
    ),
    ("published", None, "invoices.fifo", "m2", "m2", (), None),
    ("published", "orders.fifo", None, "m3", "m3", (), None),
    ("delivered", "orders.fifo", "invoices.fifo", "m4", "m3", (), None),
    (
        "deduplicated",
        "orders.fifo",
        None,
        "m3",
        "m3",
        (),
        "same deduplication id 'o-1' as message m3 sent less than 5 minutes ago: accepted "
        "and dropped, as FIFO topics do",
    ),
]


def receive_acknowledge_release(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    start = last_seq(broker)
    driver.create_queue("tasks")
    driver.send("tasks", {"task": "a"})
    driver.send("tasks", {"task": "b"})
    a, b = driver.receive("tasks")
    driver.release("tasks", a)
    driver.ack("tasks", b)
    (again,) = driver.receive("tasks")
    driver.ack("tasks", again)
    assert driver.receive("tasks") == []
    return normal_form(since(broker, start))


RECEIVE_ACKNOWLEDGE_RELEASE = [
    ("queue_declared", None, "tasks", None, None, (), None),
    ("published", None, "tasks", "m1", "m1", (), None),
    ("published", None, "tasks", "m2", "m2", (), None),
    ("received", None, "tasks", "m1", "m1", (("receive_count", 1),), None),
    ("received", None, "tasks", "m2", "m2", (("receive_count", 1),), None),
    (
        "released",
        None,
        "tasks",
        "m1",
        "m1",
        (),
        "its visibility timeout was set to 0: visible again at once",
    ),
    ("acknowledged", None, "tasks", "m2", "m2", (), None),
    ("received", None, "tasks", "m1", "m1", (("receive_count", 2),), None),
    ("acknowledged", None, "tasks", "m1", "m1", (), None),
]


def dead_letter_then_redrive(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    start = last_seq(broker)
    driver.create_topic("payments")
    driver.create_queue("charges", dead_letter="charges-dlq", max_receive_count=1)
    driver.subscribe("payments", "charges")
    driver.publish("payments", {"charge": 5})
    assert len(driver.receive("charges")) == 1  # and never acknowledged
    broker.clock.advance(VISIBILITY + 1)
    assert driver.receive("charges") == []  # moved to the dead-letter queue on the way
    driver.redrive("charges-dlq", "charges")
    (token,) = driver.receive("charges")
    driver.ack("charges", token)
    return normal_form(since(broker, start))


DEAD_LETTER_THEN_REDRIVE = [
    ("topic_declared", "payments", None, None, None, (), None),
    ("queue_declared", None, "charges-dlq", None, None, (), None),
    ("queue_declared", None, "charges", None, None, (("dead_letter_queue", "charges-dlq"),), None),
    ("subscribed", "payments", "charges", None, None, (), None),
    ("published", "payments", None, "m1", "m1", (), None),
    ("delivered", "payments", "charges", "m2", "m1", (), None),
    ("received", None, "charges", "m2", "m1", (("receive_count", 1),), None),
    ("clock_advanced", None, None, None, None, (), None),
    (
        "dead_lettered",
        None,
        "charges",
        "m2",
        "m1",
        (("receive_count", 1), ("dead_letter_queue", "charges-dlq")),
        "received 1 times without being acknowledged, which is its queue's maxReceiveCount; "
        "moved to 'charges-dlq'",
    ),
    (
        "redriven",
        None,
        "charges-dlq",
        "m3",
        "m1",
        (("to_queue", "charges"), ("from_message_id", "m2")),
        "moved back from dead-letter queue 'charges-dlq' to 'charges'",
    ),
    ("received", None, "charges", "m3", "m1", (("receive_count", 1),), None),
    ("acknowledged", None, "charges", "m3", "m1", (), None),
]


def delivery_latency(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    """On a broker with ``delivery_latency=2``: copies arrive when the clock reaches them."""
    assert broker.delivery_latency == 2
    start = last_seq(broker)
    driver.create_topic("news")
    driver.create_queue("reader")
    driver.create_queue("archive")
    driver.subscribe("news", "reader")
    driver.subscribe("news", "archive", manifests=["Nothing"])
    driver.publish("news", {"headline": "x"})
    assert driver.receive("reader") == []  # still on its way
    broker.clock.advance(1)
    assert driver.receive("reader") == []
    broker.clock.advance(1)
    (token,) = driver.receive("reader")
    driver.ack("reader", token)
    return normal_form(since(broker, start))


DELIVERY_LATENCY = [
    ("topic_declared", "news", None, None, None, (), None),
    ("queue_declared", None, "reader", None, None, (), None),
    ("queue_declared", None, "archive", None, None, (), None),
    ("subscribed", "news", "reader", None, None, (), None),
    ("subscribed", "news", "archive", None, None, (), None),
    ("published", "news", None, "m1", "m1", (), None),
    (  # decided at publish time
        "filtered",
        "news",
        "archive",
        None,
        "m1",
        (),
        "message attribute 'manifest' is 'json'; the policy wants [\"Nothing\"]",
    ),
    ("clock_advanced", None, None, None, None, (), None),
    ("clock_advanced", None, None, None, None, (), None),
    ("delivered", "news", "reader", "m2", "m1", (), None),  # when the copy entered the queue
    ("received", None, "reader", "m2", "m1", (("receive_count", 1),), None),
    ("acknowledged", None, "reader", "m2", "m1", (), None),
]

TEARDOWN = [
    ("topic_declared", "alerts", None, None, None, (), None),
    ("queue_declared", None, "pager", None, None, (), None),
    ("queue_declared", None, "log", None, None, (), None),
    ("subscribed", "alerts", "pager", None, None, (), None),
    ("subscribed", "alerts", "log", None, None, (), None),
    ("published", None, "log", "m1", "m1", (), None),
    ("published", None, "log", "m2", "m2", (), None),
    ("unsubscribed", "alerts", "log", None, None, (), None),
    (
        "queue_deleted",
        None,
        "log",
        None,
        None,
        (("messages", 2),),
        "its 2 message(s) were deleted with it",
    ),
    ("published", "alerts", None, "m3", "m3", (), None),
    ("delivered", "alerts", "pager", "m4", "m3", (), None),
    ("unsubscribed", "alerts", "pager", None, None, (), None),
    ("topic_deleted", "alerts", None, None, None, (), None),
]
DELIVERY_FAILED = [
    ("topic_declared", "orders", None, None, None, (), None),
    ("queue_declared", None, "billing", None, None, (), None),
    ("queue_declared", None, "gone", None, None, (), None),
    ("subscribed", "orders", "billing", None, None, (), None),
    ("subscribed", "orders", "gone", None, None, (), None),
    ("queue_deleted", None, "gone", None, None, (("messages", 0),), None),
    ("published", "orders", None, "m1", "m1", (), None),
    ("delivered", "orders", "billing", "m2", "m1", (), None),
    (
        "delivery_failed",
        "orders",
        "gone",
        None,
        "m1",
        (),
        "could not deliver to queue 'gone': the queue does not exist (deleted after it was "
        "subscribed); the other subscriptions got theirs (SNS keeps this subscription)",
    ),
    ("received", None, "billing", "m2", "m1", (("receive_count", 1),), None),
    ("acknowledged", None, "billing", "m2", "m1", (), None),
]
BATCHES_PURGE_UNSUBSCRIBE = [
    ("queue_declared", None, "jobs", None, None, (), None),
    ("topic_declared", "feed", None, None, None, (), None),
    ("subscribed", "feed", "jobs", None, None, (), None),
    ("published", None, "jobs", "m1", "m1", (), None),
    ("published", None, "jobs", "m2", "m2", (), None),
    ("published", "feed", None, "m3", "m3", (), None),
    ("delivered", "feed", "jobs", "m4", "m3", (), None),
    ("published", "feed", None, "m5", "m5", (), None),
    ("delivered", "feed", "jobs", "m6", "m5", (), None),
    ("received", None, "jobs", "m1", "m1", (("receive_count", 1),), None),
    ("received", None, "jobs", "m2", "m2", (("receive_count", 1),), None),
    ("received", None, "jobs", "m4", "m3", (("receive_count", 1),), None),
    ("received", None, "jobs", "m6", "m5", (("receive_count", 1),), None),
    ("acknowledged", None, "jobs", "m1", "m1", (), None),
    ("acknowledged", None, "jobs", "m2", "m2", (), None),
    (
        "released",
        None,
        "jobs",
        "m4",
        "m3",
        (),
        "its visibility timeout was set to 0: visible again at once",
    ),
    (
        "released",
        None,
        "jobs",
        "m6",
        "m5",
        (),
        "its visibility timeout was set to 0: visible again at once",
    ),
    ("purged", None, "jobs", None, None, (("messages", 2),), "PurgeQueue deleted its 2 message(s)"),
    ("unsubscribed", "feed", "jobs", None, None, (), None),
]


def teardown(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    """A batch sent, a queue deleted with its messages (unsubscribed first), a topic deleted."""
    start = last_seq(broker)
    driver.create_topic("alerts")
    driver.create_queue("pager")
    driver.create_queue("log")
    driver.subscribe("alerts", "pager")
    driver.subscribe("alerts", "log")
    assert len(driver.send_batch("log", [{"line": 1}, {"line": 2}])) == 2
    driver.delete_queue("log")
    driver.publish("alerts", {"level": "high"})
    driver.delete_topic("alerts")
    return normal_form(since(broker, start))


def delivery_failed(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    """A subscribed queue deleted around the driver (plain boto3 in the kernel): its copy
    fails, the other subscriber gets its copy, the publish succeeds."""
    start = last_seq(broker)
    driver.create_topic("orders")
    driver.create_queue("billing")
    driver.create_queue("gone")
    driver.subscribe("orders", "billing")
    driver.subscribe("orders", "gone")
    sqs = broker.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="gone")["QueueUrl"])
    driver.publish("orders", {"order": 7})
    (token,) = driver.receive("billing")
    driver.ack("billing", token)
    return normal_form(since(broker, start))


def retention_ends(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    """A copy received once and never acknowledged, and its queue's 60 s retention ends."""
    start = last_seq(broker)
    driver.create_topic("news")
    driver.create_queue("brief", retention=60)
    driver.subscribe("news", "brief")
    driver.publish("news", {"headline": "old"})
    assert len(driver.receive("brief")) == 1
    broker.clock.advance(VISIBILITY)
    driver.send("brief", {"headline": "new"})
    broker.clock.advance(60 - VISIBILITY)
    (token,) = driver.receive("brief")
    driver.ack("brief", token)
    return normal_form(since(broker, start))


RETENTION_ENDS = [
    ("topic_declared", "news", None, None, None, (), None),
    ("queue_declared", None, "brief", None, None, (), None),
    ("subscribed", "news", "brief", None, None, (), None),
    ("published", "news", None, "m1", "m1", (), None),
    ("delivered", "news", "brief", "m2", "m1", (), None),
    ("received", None, "brief", "m2", "m1", (("receive_count", 1),), None),
    ("clock_advanced", None, None, None, None, (), None),
    ("published", None, "brief", "m3", "m3", (), None),
    ("clock_advanced", None, None, None, None, (), None),
    (
        "expired",
        None,
        "brief",
        "m2",
        "m1",
        (("receive_count", 1),),
        "its queue's MessageRetentionPeriod (60 s) ended: SQS deleted it",
    ),
    ("received", None, "brief", "m3", "m3", (("receive_count", 1),), None),
    ("acknowledged", None, "brief", "m3", "m3", (), None),
]


def batches_purge_unsubscribe(
    driver: ClientDriver, broker: SimulatedBroker
) -> list[tuple[Any, ...]]:
    """SendMessageBatch, PublishBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch to 0,
    PurgeQueue and Unsubscribe: each entry reported as its single call would be."""
    start = last_seq(broker)
    driver.create_queue("jobs")
    driver.create_topic("feed")
    driver.subscribe("feed", "jobs")
    driver.send_batch("jobs", [{"job": 1}, {"job": 2}])
    driver.publish_batch("feed", [{"item": 1}, {"item": 2}])
    tokens = driver.receive("jobs")
    assert len(tokens) == 4
    driver.ack_batch("jobs", tokens[:2])
    driver.release_batch("jobs", tokens[2:])
    driver.purge("jobs")
    driver.unsubscribe("feed", "jobs")
    return normal_form(since(broker, start))


Scenario = tuple[Callable[[Any, SimulatedBroker], list[tuple[Any, ...]]], list[tuple[Any, ...]]]

#: run on every path: the lab's API, plain boto3, another process, melange's AWSBackend
SCENARIOS: dict[str, Scenario] = {
    "fan_out_with_a_filter": (fan_out_with_a_filter, FAN_OUT_WITH_A_FILTER),
    "fifo_duplicate": (fifo_duplicate, FIFO_DUPLICATE),
    "receive_acknowledge_release": (receive_acknowledge_release, RECEIVE_ACKNOWLEDGE_RELEASE),
    "dead_letter_then_redrive": (dead_letter_then_redrive, DEAD_LETTER_THEN_REDRIVE),
    "delivery_latency": (delivery_latency, DELIVERY_LATENCY),
    "teardown": (teardown, TEARDOWN),
    "delivery_failed": (delivery_failed, DELIVERY_FAILED),
    "retention_ends": (retention_ends, RETENTION_ENDS),
}
#: run on the plain-client paths (boto3 in the kernel, another process): calls the lab's
#: melange API has no equivalent for
CLIENT_SCENARIOS: dict[str, Scenario] = {
    "batches_purge_unsubscribe": (batches_purge_unsubscribe, BATCHES_PURGE_UNSUBSCRIBE),
}


def count_filter_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The filter policies the broker evaluates from now on, one entry per evaluation; any
    other way of evaluating a policy (a second look to predict an event) fails the test."""
    evaluations: list[str] = []
    real = fan_out.mismatch

    def counted(rules: Any, *args: Any) -> str | None:
        evaluations.append(json.dumps(rules))
        return real(rules, *args)

    def never(*_: Any) -> bool:
        raise AssertionError("a second evaluation of a filter policy")

    monkeypatch.setattr(fan_out, "mismatch", counted)
    monkeypatch.setattr(filter_policies, "matches_sns", never)
    monkeypatch.setattr(FilterPolicy, "matches", never)
    monkeypatch.setattr(FilterPolicy, "why_filtered", never)
    return evaluations
