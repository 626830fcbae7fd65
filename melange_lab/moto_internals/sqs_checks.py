"""What SQS refuses and moto 5.2 accepts: queue attributes out of range, a ".fifo" name on a
standard queue, empty bodies, characters SQS does not carry (in bodies and in String
attribute values), empty or too many message attributes, attribute names SQS refuses (and
moto refuses names in other scripts, which SQS accepts), a deduplication id sent to a
standard queue.

The lab's own backend checks its input before calling (``melange_lab.limits``); these checks
sit in moto, so a plain boto3 call straight to the simulated broker is refused the same way,
with SQS's error codes. Ranges and rules from the SQS API reference
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html,
API_SendMessage.html) and the message quotas (quotas-messages.html).
"""

from __future__ import annotations

import re
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


# Attribute names: letters (any script), digits, "_", "-" and ".", up to 256; not starting
# or ending with ".", not starting with "AWS." or "Amazon." (any case). AWS's recordings
# accept "attr.1øßä". A type is String, Number or Binary, with an optional ".label".
_ATTRIBUTE_NAME = re.compile(r"[\w.-]{1,256}")
_RESERVED_PREFIXES = (".", "aws.", "amazon.")
_DATA_TYPE = re.compile(r"(String|Number|Binary)(\..+)?")


def attribute_name_problem(name: str) -> Exception | None:
    """What SQS answers for a message attribute name it refuses, or None."""
    reserved = name.lower().startswith(_RESERVED_PREFIXES) or name.endswith(".")
    if _ATTRIBUTE_NAME.fullmatch(name) and not reserved:
        return None
    return InvalidParameterValue(
        f"Message (user) attribute name '{name}' is invalid. Names can contain letters, digits, "
        "underscores, hyphens and periods, up to 256, and cannot start with a period, AWS. or "
        "Amazon."
    )


def _names_as_sqs(stock: Any) -> Any:
    """moto checks attribute names again (ASCII only) when it computes their MD5."""

    def validate_attribute_name(name: str) -> None:
        problem = attribute_name_problem(name)
        if problem is not None:
            raise problem

    return staticmethod(validate_attribute_name)


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
        problem = attribute_name_problem(name)
        if problem is not None:
            return problem
        kind = str(attribute.get("DataType", ""))
        if not _DATA_TYPE.fullmatch(kind) or len(kind) > 256:
            return InvalidParameterValue(
                f"The type of message (user) attribute '{name}' is invalid. You must use only "
                "the following supported type prefixes: Binary, Number, String."
            )
        value = attribute.get("StringValue", attribute.get("BinaryValue"))
        bad = _REFUSED_CHARACTER.search(value) if isinstance(value, str) else None
        if bad is not None:  # InvalidParameterValue, not the body's code (AWS-validated test)
            return InvalidParameterValue(
                f"Message (user) attribute '{name}' contains U+{ord(bad.group()):04X}, outside "
                "the characters SQS allows (#x9, #xA, #xD, #x20 to #xD7FF, #xE000 to #xFFFD, "
                "#x10000 to #x10FFFF)."
            )
        if value is None or value in ("", b""):
            kind = attribute.get("DataType", "String")
            return InvalidParameterValue(
                f"Message (user) attribute '{name}' must contain a non-empty value of type "
                f"'{kind}'."
            )
        if kind.split(".")[0] == "Number" and not limits.number_text_fits(str(value)):
            return InvalidParameterValue(
                f"Can't cast the value of message (user) attribute '{name}' to a number: a "
                "Number has at most 38 significant digits and lies between 10^-128 and 10^126."
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
        standard = not self.get_queue(queue_name).fifo_queue
        if standard and kwargs.get("validate_group_id") is False and deduplication_id:
            # SNS delivering a FIFO topic's message (it always has a deduplication id) to a
            # standard queue: it arrives without group or deduplication id, as AWS recorded
            # (moto passes both and fails). A standard topic's MessageGroupId stays (fair
            # queues, also recorded).
            kwargs = {**kwargs, "deduplication_id": None, "group_id": None}
            deduplication_id = None
            args = args[:2]
        if deduplication_id and standard:
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
    (Message, "validate_attribute_name", _names_as_sqs),
]


def install_sqs_checks() -> None:
    """Refuse, with SQS's codes, what SQS refuses and moto accepts."""
    _set_feature("sqs_checks", _SQS_CHECKS)


def uninstall_sqs_checks() -> None:
    _set_feature("sqs_checks", None)
