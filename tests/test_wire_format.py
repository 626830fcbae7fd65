"""melange's wire format, byte for byte: what the lab writes, melange reads, and back."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from melange_lab import MessagingBackendFactory, QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.serializers import SerializerRegistry
from melange_lab.wire import decode
from tests.messages import OrderCreated


def plain_client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def receive_plainly(queue_url: str) -> dict[str, Any]:
    response = plain_client("sqs").receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], MaxNumberOfMessages=1
    )
    [message] = response["Messages"]
    return dict(message)


def test_queue_publish_writes_melanges_body_and_attributes(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue, _ = broker.backend.declare_queue("q")
    QueuePublisher(registry, broker.backend).publish("q", {"order": 7})

    received = receive_plainly(queue.url)

    assert received["Body"] == json.dumps({"Message": json.dumps({"order": 7})})
    assert received["MessageAttributes"] == {
        "manifest": {"StringValue": "json", "DataType": "String"},
        "serializer_id": {"StringValue": "1", "DataType": "Number"},
    }


def test_topic_publish_reaches_queues_in_the_sns_envelope_melange_reads(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue = MessagingBackendFactory(broker.backend).init_queue("q", ["t"])
    TopicPublisher(registry, broker.backend).publish("t", OrderCreated("o-9"))

    envelope = json.loads(receive_plainly(queue.url)["Body"])

    assert envelope["Type"] == "Notification"
    assert envelope["MessageAttributes"]["manifest"] == {"Type": "String", "Value": "OrderCreated"}
    assert envelope["MessageAttributes"]["serializer_id"] == {"Type": "Number", "Value": "2"}
    assert registry.deserialize_with_serializerid(envelope["Message"], 2) == OrderCreated("o-9")


def test_raw_delivery_puts_the_bare_content_and_sqs_attributes_in_the_queue(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue = MessagingBackendFactory(broker.backend).init_queue(
        "q", ["t"], raw_message_delivery=True
    )
    TopicPublisher(registry, broker.backend).publish("t", {"a": 1})

    received = receive_plainly(queue.url)

    assert received["Body"] == json.dumps({"a": 1})
    assert received["MessageAttributes"]["manifest"]["StringValue"] == "json"


def _publish_plainly_as_melange_does(queue_url: str, topic_arn: str) -> None:
    sqs, sns = plain_client("sqs"), plain_client("sns")
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps({"Message": json.dumps({"from": "melange queue"})}),
        MessageAttributes={
            "manifest": {"DataType": "String", "StringValue": "json"},
            "serializer_id": {"DataType": "Number", "StringValue": "1"},
        },
    )
    sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps({"from": "melange topic"}),
        MessageAttributes={
            "manifest": {"DataType": "String", "StringValue": "json"},
            "serializer_id": {"DataType": "Number", "StringValue": "1"},
        },
    )


def test_messages_melange_writes_are_read_by_the_lab(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue = MessagingBackendFactory(broker.backend).init_queue("q", ["t"])
    _publish_plainly_as_melange_does(queue.url, broker.backend.declare_topic("t").arn)

    messages = broker.backend.retrieve_messages(queue)

    decoded = [
        registry.deserialize_with_serializerid(m.content, m.serializer_id or 0, m.manifest)
        for m in messages
    ]
    assert sorted(d["from"] for d in decoded) == ["melange queue", "melange topic"]
    assert {m.manifest for m in messages} == {"json"}


@pytest.mark.parametrize(
    ("body", "attributes", "content", "manifest", "serializer_id"),
    [
        pytest.param(
            json.dumps({"Message": "abc"}),
            {
                "manifest": {"DataType": "String", "StringValue": "M"},
                "serializer_id": {"DataType": "Number", "StringValue": "2"},
            },
            "abc",
            "M",
            2,
            id="queue body",
        ),
        pytest.param(
            json.dumps(
                {
                    "Type": "Notification",
                    "Message": "abc",
                    "MessageAttributes": {
                        "manifest": {"Type": "String", "Value": "E"},
                        "serializer_id": {"Type": "Number", "Value": "1"},
                    },
                }
            ),
            {},
            "abc",
            "E",
            1,
            id="sns envelope",
        ),
        pytest.param(
            json.dumps({"Type": "Notification", "Message": "abc"}),
            {"manifest": {"DataType": "String", "StringValue": "S"}},
            "abc",
            "S",
            None,
            id="envelope without attributes",
        ),
        pytest.param(json.dumps({"k": 1}), {}, {"k": 1}, None, None, id="json without Message"),
        pytest.param("plain text", {}, "plain text", None, None, id="not json"),
    ],
)
def test_decode_reads_every_shape_melange_reads(
    body: str,
    attributes: dict[str, dict[str, str]],
    content: object,
    manifest: str | None,
    serializer_id: int | None,
) -> None:
    message = decode({"MessageId": "m", "Body": body, "MessageAttributes": attributes}, "url")
    assert (message.content, message.manifest, message.serializer_id) == (
        content,
        manifest,
        serializer_id,
    )
    assert message.metadata["queue_url"] == "url"
