"""What SQS refuses and moto 5.2 accepts: queue attributes out of range, a ".fifo" name on a
standard queue, empty bodies, characters SQS does not carry, empty or too many message
attributes, a deduplication id sent to a standard queue.

The lab's own backend checks its input before calling (``melange_lab.limits``); these checks
sit in moto, so a plain boto3 call straight to the simulated broker is refused the same way,
with SQS's error codes. Ranges and rules from the SQS API reference
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html,
API_SendMessage.html) and the message quotas (quotas-messages.html).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.sqs.exceptions import (
    InvalidAttributeValue,
    InvalidParameterValue,
    MissingParameter,
    SQSException,
)
from moto.sqs.models import Message, Queue, SQSBackend

from melange_lab import limits
from melange_lab.moto_internals.patching import _Layer, _set_feature

# attribute -> (lowest, highest) SQS accepts, in its units (seconds, bytes); the ranges the
# lab's own checks use (limits.py), so a direct boto3 call meets the same ones
QUEUE_ATTRIBUTE_RANGES: dict[str, tuple[int, int]] = {
    name: (limit.minimum, limit.maximum)
    for name, limit in (
        ("DelaySeconds", limits.DELAY_SECONDS),
        ("MessageRetentionPeriod", limits.RETENTION_PERIOD),
        ("ReceiveMessageWaitTimeSeconds", limits.WAIT_TIME_SECONDS),
        ("VisibilityTimeout", limits.VISIBILITY_TIMEOUT),
    )
}
QUEUE_ATTRIBUTE_RANGES["MaximumMessageSize"] = (1024, 1_048_576)
MAX_MESSAGE_ATTRIBUTES = limits.MESSAGE_ATTRIBUTES
# The characters SQS carries in a body and in a String attribute value (limits.py)
_REFUSED_CHARACTER = limits.SQS_REFUSED_CHARACTER


def queue_attribute_problem(attributes: dict[str, Any]) -> str | None:
    """The first attribute outside SQS's range, or None."""
    for name, (lowest, highest) in QUEUE_ATTRIBUTE_RANGES.items():
        if name not in attributes or attributes[name] is None:
            continue
        try:
            value = int(str(attributes[name]))
        except ValueError:
            return name
        if not lowest <= value <= highest:
            return name
    return None


def _check_queue_attributes(stock: Callable[..., Any]) -> Callable[..., Any]:
    def create_queue(
        self: SQSBackend, name: str, tags: dict[str, str] | None = None, **kwargs: Any
    ) -> Queue:
        wrong = queue_attribute_problem(kwargs)
        if wrong is not None:
            raise InvalidAttributeValue(wrong)
        if name.endswith(".fifo") and str(kwargs.get("FifoQueue", "false")).lower() != "true":
            raise InvalidParameterValue(  # a standard queue's name has no "."
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in "
                "length"
            )
        result: Queue = stock(self, name, tags, **kwargs)
        return result

    return create_queue


def _check_set_attributes(stock: Callable[..., Any]) -> Callable[..., Any]:
    def set_queue_attributes(
        self: SQSBackend, queue_name: str, attributes: dict[str, Any]
    ) -> Queue:
        wrong = queue_attribute_problem(attributes)
        if wrong is not None:
            raise InvalidAttributeValue(wrong)
        result: Queue = stock(self, queue_name, attributes)
        return result

    return set_queue_attributes


def message_problem(body: str, attributes: dict[str, dict[str, Any]] | None) -> Exception | None:
    """What SQS answers for a message it refuses (before size), or None."""
    if body is None or body == "":
        return MissingParameter("MessageBody")
    bad = _REFUSED_CHARACTER.search(body)
    if bad is not None:
        return SQSException(
            "InvalidMessageContents",
            f"Invalid characters found. The message contains U+{ord(bad.group()):04X}, "
            "outside the characters SQS allows.",
        )
    attributes = attributes or {}
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        return InvalidParameterValue(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_MESSAGE_ATTRIBUTES}]."
        )
    for name, attribute in attributes.items():
        try:  # moto checks names only when it answers, after storing the message
            Message.validate_attribute_name(name)
        except SQSException as invalid:
            return invalid
        value = attribute.get("StringValue", attribute.get("BinaryValue"))
        if value is None or value in ("", b""):
            kind = attribute.get("DataType", "String")
            return InvalidParameterValue(
                f"Message attribute '{name}' must contain a non-empty value of type '{kind}'."
            )
        bad = _REFUSED_CHARACTER.search(value) if isinstance(value, str) else None
        if bad is not None:  # "the same restrictions as the message body" (MessageAttributeValue)
            return SQSException(
                "InvalidMessageContents",
                f"Invalid characters found. Message attribute '{name}' contains "
                f"U+{ord(bad.group()):04X}, outside the characters SQS allows.",
            )
    return None


def _check_message(stock: Callable[..., Message]) -> Callable[..., Message]:
    def send_message(
        self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any
    ) -> Message:
        attributes = kwargs.get("message_attributes", args[0] if args else None)
        problem = message_problem(message_body, attributes)
        if problem is not None:
            raise problem
        deduplication_id = kwargs.get("deduplication_id", args[2] if len(args) > 2 else None)
        if deduplication_id and not self.get_queue(queue_name).fifo_queue:
            raise InvalidParameterValue(
                f"Value {deduplication_id} for parameter MessageDeduplicationId is invalid. "
                "Reason: The request includes a parameter that is not valid for this queue type."
            )
        return stock(self, queue_name, message_body, *args, **kwargs)

    return send_message


_SQS_CHECKS: list[_Layer] = [
    (SQSBackend, "create_queue", _check_queue_attributes),
    (SQSBackend, "set_queue_attributes", _check_set_attributes),
    (SQSBackend, "send_message", _check_message),
]


def install_sqs_checks() -> None:
    """Refuse, with SQS's codes, what SQS refuses and moto accepts."""
    _set_feature("sqs_checks", _SQS_CHECKS)


def uninstall_sqs_checks() -> None:
    _set_feature("sqs_checks", None)
