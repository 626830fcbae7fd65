"""The SQS and SNS requests the backend makes, built and checked as pure functions: a value
the broker would refuse is refused here, before anything is sent."""

from __future__ import annotations

import uuid
from typing import Any

from melange_lab import limits, wire
from melange_lab.arguments import number
from melange_lab.backends.sqs.checks import (
    SEND_OPTIONS,
    TOPIC_OPTIONS,
    check_message,
    check_queue,
    check_topic,
    check_unknown,
)
from melange_lab.errors import (
    InvalidParameter,
    MelangeLabError,
    MessageTooLarge,
    MissingMessageGroupId,
)
from melange_lab.models import Message, QueueWrapper, TopicWrapper

SNS_MESSAGE_LIMIT = limits.MESSAGE_SIZE
SQS_BATCH_SIZE = 10


def queue_creation_attributes(
    name: str,
    content_based_deduplication: bool | None,
    visibility_timeout: int | None,
    delay_seconds: int | None,
    retention: int | None,
) -> dict[str, str]:
    """A FIFO queue (and its DLQ) gets ``ContentBasedDeduplication=true`` unless asked
    otherwise, as melange declares them; melange's publish still sends a fresh
    deduplication id, and so does the lab's unless the queue was declared with
    ``content_based_deduplication=True`` (see ``send_request``)."""
    attributes: dict[str, str] = {}
    if name.endswith(".fifo"):
        attributes["FifoQueue"] = "true"
        if content_based_deduplication is not False:
            attributes["ContentBasedDeduplication"] = "true"
    for key, value in (
        ("VisibilityTimeout", visibility_timeout),
        ("DelaySeconds", delay_seconds),
        ("MessageRetentionPeriod", retention),
    ):
        if value is not None:
            attributes[key] = str(value)
    return attributes


def send_request(
    message: Message,
    queue: QueueWrapper,
    deduplicates_by_content: bool,
    message_group_id: str | None = None,
    message_deduplication_id: str | None = None,
    delay_seconds: int | None = None,
) -> dict[str, Any]:
    """The SendMessage arguments for one message, checked before anything is sent; a FIFO
    queue declared to deduplicate by content gets no deduplication id unless one is given."""
    try:
        request: dict[str, Any] = {"MessageBody": wire.queue_body(message)}
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidParameter(
            "message.content",
            message.content,
            "content a serializer produced (text, or JSON-encodable data)",
            f"json.dumps refused it: {error}. Publish through QueuePublisher.",
        ) from None
    attributes = wire.queue_attributes(message)
    if attributes:
        request["MessageAttributes"] = attributes
    limits.check_message_text(request, "sqs", queue.name)
    limit = int(queue.attributes.get("MaximumMessageSize", SNS_MESSAGE_LIMIT))
    size = wire.encoded_size(request["MessageBody"], attributes)
    if size > limit:
        raise MessageTooLarge(queue.name, size, limit)
    if queue.is_fifo:
        if message_group_id is None or message_group_id == "":
            raise MissingMessageGroupId(queue.name)
        request["MessageGroupId"] = limits.fifo_id("message_group_id", message_group_id)
        if message_deduplication_id is not None:
            request["MessageDeduplicationId"] = limits.fifo_id(
                "message_deduplication_id", message_deduplication_id
            )
        elif not deduplicates_by_content:
            request["MessageDeduplicationId"] = str(uuid.uuid4())
        if delay_seconds is not None:
            raise InvalidParameter(
                "delay_seconds",
                delay_seconds,
                f"no per-message delay on FIFO queue '{queue.name}' (SQS allows a delay "
                "only on the whole FIFO queue)",
                "Declare the queue with delay_seconds=..., or leave the option out.",
            )
    elif message_deduplication_id is not None:
        raise MelangeLabError(
            f"Queue '{queue.name}' is a standard queue: message_deduplication_id only applies "
            "to FIFO queues (names ending in '.fifo')."
        )
    elif message_group_id is not None:  # a fair queue's tenant (2025): it orders nothing here
        request["MessageGroupId"] = limits.fifo_id("message_group_id", message_group_id)
    if delay_seconds is not None:
        request["DelaySeconds"] = limits.DELAY_SECONDS.check("delay_seconds", delay_seconds)
    return request


def check_send_options(options: dict[str, Any]) -> None:
    check_unknown(
        "QueuePublisher.publish", options, SEND_OPTIONS, ("queue_name", "data", *SEND_OPTIONS)
    )


def topic_request(
    message: Message, topic: TopicWrapper, extra_attributes: dict[str, Any] | None
) -> dict[str, Any]:
    """The Publish arguments for one message, checked before anything is sent (a FIFO
    topic's deduplication id is added by the caller, who knows whether the topic deduplicates
    by content)."""
    check_message(message)
    check_topic(topic)
    if not isinstance(message.content, str) or not message.content:
        raise InvalidParameter(
            "message.content",
            message.content,
            "non-empty text (SNS publishes strings; serializers produce them)",
            "Publish through TopicPublisher, which serializes the data first.",
        )
    if extra_attributes is not None and not isinstance(extra_attributes, dict):
        raise InvalidParameter(
            "extra_attributes",
            extra_attributes,
            f"a dict with keys {', '.join(TOPIC_OPTIONS)}",
        )
    extra = dict(extra_attributes or {})
    check_unknown(
        "TopicPublisher.publish", extra, TOPIC_OPTIONS, ("topic_name", "data", *TOPIC_OPTIONS)
    )
    attributes = wire.topic_attributes(message)
    attributes.update(limits.message_attributes(extra.pop("message_attributes", None)))
    request: dict[str, Any] = {"TopicArn": topic.arn, "Message": message.content}
    if attributes:
        request["MessageAttributes"] = attributes
    for option, parameter in (
        ("subject", "Subject"),
        ("message_structure", "MessageStructure"),
        ("message_group_id", "MessageGroupId"),
        ("message_deduplication_id", "MessageDeduplicationId"),
    ):
        if extra.get(option) is not None:
            request[parameter] = extra.pop(option)
    limits.check_topic_publish(topic, request)
    size = wire.encoded_size(str(message.content), attributes)
    if size > SNS_MESSAGE_LIMIT:
        raise MessageTooLarge(topic.name, size, SNS_MESSAGE_LIMIT)
    if topic.is_fifo and "MessageGroupId" not in request:
        raise MissingMessageGroupId(topic.name)
    return request


def receive_request(
    queue: QueueWrapper,
    max_messages: object,
    wait_time_seconds: object,
    visibility_timeout: object,
    options: dict[str, Any],
    defaults: tuple[int, int, int | None],
) -> dict[str, Any]:
    """The ReceiveMessage arguments, every value checked against SQS's ranges first;
    ``defaults`` are the backend's (batch size, wait seconds, visibility timeout or None)."""
    check_queue(queue)
    check_unknown(
        "retrieve_messages",
        options,
        ("attempt_id",),
        ("queue", "max_messages", "wait_time_seconds", "visibility_timeout"),
    )
    default_batch, default_wait, default_visibility = defaults
    wait = default_wait if wait_time_seconds is None else wait_time_seconds
    request: dict[str, Any] = {
        "QueueUrl": queue.url,
        "MaxNumberOfMessages": default_batch
        if max_messages is None
        else limits.RECEIVE_BATCH.check("max_messages", max_messages),
        "WaitTimeSeconds": int(number("wait_time_seconds", wait, 0, 20, unit="seconds (0 to 20)")),
        "MessageAttributeNames": ["All"],
        "MessageSystemAttributeNames": ["All"],
    }
    timeout = default_visibility if visibility_timeout is None else visibility_timeout
    if timeout is not None:
        request["VisibilityTimeout"] = limits.VISIBILITY_TIMEOUT.check(
            "visibility_timeout", timeout
        )
    if options.get("attempt_id") is not None and queue.is_fifo:
        request["ReceiveRequestAttemptId"] = limits.fifo_id("attempt_id", options["attempt_id"])
    return request


def redrive_request(entry: dict[str, Any], target: QueueWrapper) -> dict[str, Any]:
    """The SendMessage that copies a received dead letter to ``target``: body and message
    attributes kept; a FIFO copy keeps its group and gets a fresh deduplication id (its old
    one may still be inside the 5-minute window)."""
    request: dict[str, Any] = {"QueueUrl": target.url, "MessageBody": entry["Body"]}
    kept = ("DataType", "StringValue", "BinaryValue")
    attributes = {
        name: {k: v for k, v in value.items() if k in kept}
        for name, value in entry.get("MessageAttributes", {}).items()
    }
    if attributes:
        request["MessageAttributes"] = attributes
    if target.is_fifo:
        group = entry.get("Attributes", {}).get("MessageGroupId", "redriven")
        request["MessageGroupId"] = group
        request["MessageDeduplicationId"] = str(uuid.uuid4())
    return request
