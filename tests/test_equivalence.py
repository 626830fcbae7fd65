"""The lab and plain boto3, doing the same thing against moto, leave the same queue contents."""

from __future__ import annotations

import json
from typing import Any

from melange_lab import MessagingBackendFactory, QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.serializers import SerializerRegistry
from tests.messages import OrderCreated
from tests.test_wire_format import plain_client

PAYLOADS: list[Any] = [OrderCreated("o-1", 10), {"note": "hello"}, OrderCreated("o-2", 20)]


def contents(broker: SimulatedBroker, queue: str) -> list[tuple[Any, ...]]:
    """What a queue holds, without ids and timestamps that differ run to run."""
    rows: list[tuple[Any, ...]] = []
    for stored in broker.peek(queue):
        body: Any = stored.body
        if stored.envelope is not None:
            body = (
                stored.envelope["Message"],
                json.dumps(stored.envelope["MessageAttributes"], sort_keys=True),
            )
        rows.append((body, json.dumps(stored.attributes, sort_keys=True)))
    return rows


def through_the_lab(broker: SimulatedBroker, registry: SerializerRegistry) -> None:
    factory = MessagingBackendFactory(broker.backend)
    factory.init_queue("direct")
    for name in ("billing", "audit"):
        factory.init_queue(name, ["orders"])
    factory.init_queue("notes", ["orders"], filter_events=["json"])
    queue_publisher = QueuePublisher(registry, broker.backend)
    topic_publisher = TopicPublisher(registry, broker.backend)
    for payload in PAYLOADS:
        queue_publisher.publish("direct", payload)
        topic_publisher.publish("orders", payload)


def through_plain_boto3(registry: SerializerRegistry) -> None:
    sqs, sns = plain_client("sqs"), plain_client("sns")
    direct = sqs.create_queue(QueueName="direct")["QueueUrl"]
    topic = sns.create_topic(Name="orders")["TopicArn"]
    for name, policy in (("billing", None), ("audit", None), ("notes", {"manifest": ["json"]})):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes = {"FilterPolicy": json.dumps(policy)} if policy else {}
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    for payload in PAYLOADS:
        serializer = registry.find_serializer_for(payload)
        content = serializer.serialize(payload)
        attributes = {
            "manifest": {"DataType": "String", "StringValue": serializer.manifest(payload)},
            "serializer_id": {"DataType": "Number", "StringValue": str(serializer.identifier())},
        }
        sqs.send_message(
            QueueUrl=direct,
            MessageBody=json.dumps({"Message": content}),
            MessageAttributes=attributes,
        )
        sns.publish(TopicArn=topic, Message=content, MessageAttributes=attributes)


def test_lab_and_plain_boto3_fill_the_queues_identically(registry: SerializerRegistry) -> None:
    with SimulatedBroker() as broker:
        through_the_lab(broker, registry)
        by_lab = {q: contents(broker, q) for q in ("direct", "billing", "audit", "notes")}
    with SimulatedBroker() as broker:
        through_plain_boto3(registry)
        by_boto3 = {q: contents(broker, q) for q in ("direct", "billing", "audit", "notes")}

    assert by_lab == by_boto3
    assert [len(by_lab[q]) for q in ("direct", "billing", "audit", "notes")] == [3, 3, 3, 1]
