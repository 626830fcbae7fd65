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
from typing import Any, Protocol

from melange_lab import QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.events import Event, EventKind
from melange_lab.filter_policies import FilterPolicy
from melange_lab.models import Message
from melange_lab.serializers import SerializerRegistry

VISIBILITY = 30  # seconds: SQS's default, on the broker's manual clock
MANIFEST = "json"  # what the lab's JSON serializer names a dict


class Driver(Protocol):
    """What a client of the broker does; ``receive`` returns tokens ``ack``/``release`` take."""

    def create_topic(self, name: str) -> None: ...

    def create_queue(
        self, name: str, dead_letter: str | None = None, max_receive_count: int = 1
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


class LabDriver:
    """The lab's own API: ``declare_*``, the publishers, ``retrieve_messages``/``acknowledge``/
    ``release`` and ``broker.redrive``."""

    def __init__(self, broker: SimulatedBroker, registry: SerializerRegistry) -> None:
        self.broker = broker
        self.backend = broker.backend
        self.registry = registry
        self._received: dict[str, Message] = {}

    def create_topic(self, name: str) -> None:
        self.backend.declare_topic(name)

    def create_queue(
        self, name: str, dead_letter: str | None = None, max_receive_count: int = 1
    ) -> None:
        self.backend.declare_queue(
            name,
            dead_letter_queue_name=dead_letter,
            max_receive_count=max_receive_count,
            visibility_timeout=VISIBILITY,
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
        self, name: str, dead_letter: str | None = None, max_receive_count: int = 1
    ) -> None:
        attributes = {"VisibilityTimeout": str(VISIBILITY)}
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
            MessageBody=json.dumps({"Message": json.dumps(body)}),
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

_DETAILS = ("receive_count", "dead_letter_queue", "to_queue", "from_message_id")


def normal_form(events: list[Event]) -> list[tuple[Any, ...]]:
    """Each event as (kind, topic, queue, id, published id, details), ids as m1, m2, ..."""
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
            )
        )
    return shown


def since(broker: SimulatedBroker, seq: int) -> list[Event]:
    return [e for e in broker.events if e.seq > seq and e.kind is not EventKind.FAULT_INJECTED]


# --- the scenarios --------------------------------------------------------------------------


def fan_out_with_a_filter(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    start = broker.events[-1].seq if len(broker.events) else 0
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
    ("topic_declared", "shop", None, None, None, ()),
    ("queue_declared", None, "billing", None, None, ()),
    ("queue_declared", None, "audit", None, None, ()),
    ("queue_declared", None, "returns", None, None, ()),
    ("subscribed", "shop", "billing", None, None, ()),
    ("subscribed", "shop", "audit", None, None, ()),
    ("subscribed", "shop", "returns", None, None, ()),
    ("published", "shop", None, "m1", "m1", ()),
    ("delivered", "shop", "billing", "m2", "m1", ()),
    ("delivered", "shop", "audit", "m3", "m1", ()),
    ("filtered", "shop", "returns", None, "m1", ()),
    ("received", None, "billing", "m2", "m1", (("receive_count", 1),)),
    ("acknowledged", None, "billing", "m2", "m1", ()),
    ("received", None, "audit", "m3", "m1", (("receive_count", 1),)),
    ("acknowledged", None, "audit", "m3", "m1", ()),
]


def fifo_duplicate(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    start = broker.events[-1].seq if len(broker.events) else 0
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
    ("queue_declared", None, "invoices.fifo", None, None, ()),
    ("topic_declared", "orders.fifo", None, None, None, ()),
    ("subscribed", "orders.fifo", "invoices.fifo", None, None, ()),
    ("published", None, "invoices.fifo", "m1", "m1", ()),
    ("deduplicated", None, "invoices.fifo", "m1", "m1", ()),
    ("published", None, "invoices.fifo", "m2", "m2", ()),
    ("published", "orders.fifo", None, "m3", "m3", ()),
    ("delivered", "orders.fifo", "invoices.fifo", "m4", "m3", ()),
    ("deduplicated", "orders.fifo", None, "m3", "m3", ()),
]


def receive_acknowledge_release(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    start = broker.events[-1].seq if len(broker.events) else 0
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
    ("queue_declared", None, "tasks", None, None, ()),
    ("published", None, "tasks", "m1", "m1", ()),
    ("published", None, "tasks", "m2", "m2", ()),
    ("received", None, "tasks", "m1", "m1", (("receive_count", 1),)),
    ("received", None, "tasks", "m2", "m2", (("receive_count", 1),)),
    ("released", None, "tasks", "m1", "m1", ()),
    ("acknowledged", None, "tasks", "m2", "m2", ()),
    ("received", None, "tasks", "m1", "m1", (("receive_count", 2),)),
    ("acknowledged", None, "tasks", "m1", "m1", ()),
]


def dead_letter_then_redrive(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    start = broker.events[-1].seq if len(broker.events) else 0
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
    ("topic_declared", "payments", None, None, None, ()),
    ("queue_declared", None, "charges-dlq", None, None, ()),
    ("queue_declared", None, "charges", None, None, (("dead_letter_queue", "charges-dlq"),)),
    ("subscribed", "payments", "charges", None, None, ()),
    ("published", "payments", None, "m1", "m1", ()),
    ("delivered", "payments", "charges", "m2", "m1", ()),
    ("received", None, "charges", "m2", "m1", (("receive_count", 1),)),
    ("clock_advanced", None, None, None, None, ()),
    (
        "dead_lettered",
        None,
        "charges",
        "m2",
        "m1",
        (("receive_count", 1), ("dead_letter_queue", "charges-dlq")),
    ),
    (
        "redriven",
        None,
        "charges-dlq",
        "m3",
        "m1",
        (("to_queue", "charges"), ("from_message_id", "m2")),
    ),
    ("received", None, "charges", "m3", "m1", (("receive_count", 1),)),
    ("acknowledged", None, "charges", "m3", "m1", ()),
]


def delivery_latency(driver: Driver, broker: SimulatedBroker) -> list[tuple[Any, ...]]:
    """On a broker with ``delivery_latency=2``: copies arrive when the clock reaches them."""
    assert broker.delivery_latency == 2
    start = broker.events[-1].seq if len(broker.events) else 0
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
    ("topic_declared", "news", None, None, None, ()),
    ("queue_declared", None, "reader", None, None, ()),
    ("queue_declared", None, "archive", None, None, ()),
    ("subscribed", "news", "reader", None, None, ()),
    ("subscribed", "news", "archive", None, None, ()),
    ("published", "news", None, "m1", "m1", ()),
    ("filtered", "news", "archive", None, "m1", ()),  # decided at publish time
    ("clock_advanced", None, None, None, None, ()),
    ("clock_advanced", None, None, None, None, ()),
    ("delivered", "news", "reader", "m2", "m1", ()),  # when the copy entered the queue
    ("received", None, "reader", "m2", "m1", (("receive_count", 1),)),
    ("acknowledged", None, "reader", "m2", "m1", ()),
]

SCENARIOS = {
    "fan_out_with_a_filter": (fan_out_with_a_filter, FAN_OUT_WITH_A_FILTER),
    "fifo_duplicate": (fifo_duplicate, FIFO_DUPLICATE),
    "receive_acknowledge_release": (receive_acknowledge_release, RECEIVE_ACKNOWLEDGE_RELEASE),
    "dead_letter_then_redrive": (dead_letter_then_redrive, DEAD_LETTER_THEN_REDRIVE),
    "delivery_latency": (delivery_latency, DELIVERY_LATENCY),
}
