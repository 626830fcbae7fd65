"""Message sizes as SQS and SNS count them: UTF-8 bytes of the body plus every attribute.

moto 5.2 counts a message's characters, not its bytes, and leaves message attributes out, so a
plain boto3 call straight to the simulated broker could send what SQS refuses (an emoji is one
character but four bytes). SQS and SNS count the body's UTF-8 bytes plus, for each message
attribute, the bytes of its name, its data type and its value
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
SQS takes up to 1 MiB (1,048,576 bytes) per message and per batch since August 2025 (moto 5.2.5
has that default too); SNS still takes 256 KiB (262,144 bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import SNSBackend
from moto.sqs.exceptions import BatchRequestTooLong, InvalidParameterValue
from moto.sqs.models import Message, SQSBackend

from melange_lab import limits
from melange_lab.moto_internals.patching import _Layer, _set_feature

SQS_MAXIMUM_BYTES = 1_048_576
SNS_MAXIMUM_BYTES = limits.MESSAGE_SIZE  # the lab's own SNS check uses the same


def _bytes(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return len(str(value).encode("utf-8", "surrogatepass"))  # refused by the text checks


def message_size(body: str, attributes: dict[str, dict[str, Any]] | None) -> int:
    """The size SQS and SNS count: body bytes + name, type and value bytes of each attribute."""
    total = _bytes(body)
    for name, attribute in (attributes or {}).items():
        value = next(
            (attribute[key] for key in ("StringValue", "BinaryValue", "Value") if key in attribute),
            None,
        )
        kind = attribute.get("DataType", attribute.get("Type"))
        total += _bytes(name) + _bytes(kind) + _bytes(value)
    return total


def _sqs_in_bytes(stock: Callable[..., Message]) -> Callable[..., Message]:
    def send_message(
        self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any
    ) -> Message:
        attributes = kwargs.get("message_attributes", args[0] if args else None)
        limit = int(getattr(self.get_queue(queue_name), "maximum_message_size"))  # noqa: B009
        if message_size(message_body, attributes) > limit:
            raise InvalidParameterValue(
                "One or more parameters are invalid. Reason: Message must be shorter than "
                f"{limit} bytes."
            )
        return stock(self, queue_name, message_body, *args, **kwargs)

    return send_message


def _sqs_batch_in_bytes(stock: Callable[..., Any]) -> Callable[..., Any]:
    def send_message_batch(
        self: SQSBackend, queue_name: str, entries: dict[str, dict[str, Any]]
    ) -> Any:
        total = sum(
            message_size(entry.get("MessageBody", ""), entry.get("MessageAttributes"))
            for entry in entries.values()
        )
        if total > SQS_MAXIMUM_BYTES:
            raise BatchRequestTooLong(total)
        return stock(self, queue_name, entries)

    return send_message_batch


def _sns_in_bytes(stock: Callable[..., str]) -> Callable[..., str]:
    def publish(self: SNSBackend, message: str, *args: Any, **kwargs: Any) -> str:
        attributes = kwargs.get("message_attributes")
        if message_size(message, attributes) > SNS_MAXIMUM_BYTES:
            raise SNSInvalidParameter("Invalid parameter: Message too long")
        return stock(self, message, *args, **kwargs)

    return publish


_MESSAGE_SIZE: list[_Layer] = [
    (SQSBackend, "send_message", _sqs_in_bytes),
    (SQSBackend, "send_message_batch", _sqs_batch_in_bytes),
    (SNSBackend, "publish", _sns_in_bytes),
]


def install_message_size() -> None:
    """Count sizes in UTF-8 bytes with attributes, with AWS's current limits."""
    _set_feature("message_size", _MESSAGE_SIZE)


def uninstall_message_size() -> None:
    _set_feature("message_size", None)
