"""melange's wire format: how a message's content, manifest and serializer id travel.

Kept byte-compatible with melange so lab and melange programs read each other's messages:
- to a queue: body ``{"Message": <content>}``, SQS attributes ``manifest`` and ``serializer_id``;
- to a topic: the SNS message is the content, with SNS attributes ``manifest`` and
  ``serializer_id``; a subscribed queue receives it in the SNS envelope unless delivery is raw.
"""

from __future__ import annotations

import json
from typing import Any

from melange_lab.models import Message

AttributeMap = dict[str, dict[str, Any]]  # text values, and bytes for a BinaryValue


def queue_body(message: Message) -> str:
    return json.dumps({"Message": message.content})


def queue_attributes(message: Message) -> AttributeMap:
    if message.manifest is None:
        return {}
    attributes: AttributeMap = {"manifest": {"DataType": "String", "StringValue": message.manifest}}
    if message.serializer_id is not None:
        attributes["serializer_id"] = {
            "DataType": "Number",
            "StringValue": str(message.serializer_id),
        }
    return attributes


def topic_attributes(message: Message) -> AttributeMap:
    # melange sends an empty manifest when there is none; SNS rejects empty attribute values,
    # so the lab leaves the attribute out instead (readers treat both the same).
    attributes: AttributeMap = {}
    if message.manifest:
        attributes["manifest"] = {"DataType": "String", "StringValue": message.manifest}
    if message.serializer_id is not None:
        attributes["serializer_id"] = {
            "DataType": "Number",
            "StringValue": str(message.serializer_id),
        }
    return attributes


def as_attribute_map(values: dict[str, object]) -> AttributeMap:
    """Accepts boto3-shaped attributes or plain values (str, number, list of str)."""
    attributes: AttributeMap = {}
    for name, value in values.items():
        if isinstance(value, dict):
            # a BinaryValue stays bytes (its str() would be "b'...'"); the rest is text
            attributes[name] = {
                str(k): v if isinstance(v, (bytes, bytearray)) else str(v) for k, v in value.items()
            }
        elif isinstance(value, bool) or not isinstance(value, (int, float, list, tuple)):
            attributes[name] = {"DataType": "String", "StringValue": str(value)}
        elif isinstance(value, (list, tuple)):
            attributes[name] = {"DataType": "String.Array", "StringValue": json.dumps(list(value))}
        else:
            attributes[name] = {"DataType": "Number", "StringValue": str(value)}
    return attributes


def encoded_size(body: str, attributes: AttributeMap) -> int:
    """Size as AWS counts it against the limit: body plus attribute names, types and values."""
    size = len(body.encode("utf-8", "surrogatepass"))  # text checks refuse what is not UTF-8
    for name, value in attributes.items():
        for text in (name, value["DataType"], value.get("StringValue", "")):
            size += len(text.encode("utf-8", "surrogatepass"))
        size += len(value.get("BinaryValue", b""))
    return size


PUBLISHED_ID = "published_id"  # in a received message's metadata: the id it was published under


def decode(received: dict[str, Any], queue_url: str) -> Message:
    """Reads a received SQS message the way melange does, in all three shapes.

    An SNS envelope (``Message`` and ``MessageAttributes``), a queue body (``Message`` only),
    a JSON body without ``Message``, or a body that is not JSON at all. The metadata also
    names the id the message was published under (``published_id``: the envelope's for a
    topic's copy, else its own).
    """
    return decode_with_envelope(received, queue_url)[0]


def decode_with_envelope(
    received: dict[str, Any], queue_url: str
) -> tuple[Message, dict[str, Any] | None]:
    """``decode``, and the SNS envelope when the body is a topic's notification: the body is
    decoded once for both (a view shows the envelope beside the payload)."""
    body = received.get("Body", "")
    manifest = _sqs_attribute(received, "manifest")
    serializer_id = _sqs_attribute(received, "serializer_id")
    try:
        parsed: Any = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply: the raw body
        parsed = None
        content: Any = body
    else:
        content = parsed
    published = received.get("MessageId")
    is_notification = isinstance(parsed, dict) and parsed.get("Type") == "Notification"
    if isinstance(parsed, dict) and "Message" in parsed:
        content = parsed["Message"]
        if is_notification and isinstance(parsed.get("MessageId"), str):
            published = parsed["MessageId"]  # the topic's id for this copy
        envelope_attributes = parsed.get("MessageAttributes")
        if isinstance(envelope_attributes, dict):
            manifest = _envelope_attribute(envelope_attributes, "manifest")
            serializer_id = _envelope_attribute(envelope_attributes, "serializer_id")
    message = Message(
        message_id=received.get("MessageId"),
        content=content,
        metadata={"queue_url": queue_url, **received, PUBLISHED_ID: published},
        manifest=manifest or None,
        serializer_id=int(serializer_id) if serializer_id else None,
    )
    return message, parsed if is_notification else None


def published_id_of(message: Message) -> str | None:
    """The id a received message was published under (``decode`` read it), else its own."""
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    found = metadata.get(PUBLISHED_ID)
    return found if isinstance(found, str) else message.message_id


def _sqs_attribute(received: dict[str, Any], name: str) -> str | None:
    value = received.get("MessageAttributes", {}).get(name)
    return None if value is None else str(value.get("StringValue"))


def _envelope_attribute(attributes: dict[str, Any], name: str) -> str | None:
    value = attributes.get(name)
    return None if value is None else str(value.get("Value"))
