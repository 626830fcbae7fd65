"""SQS's answers to requests moto 5.2 answers differently, in SQS's words (AWS's recordings in
LocalStack's ``test_sqs.snapshot.json``; the SQS API reference).

- CreateQueue of an existing name with a different attribute: QueueAlreadyExists naming the
  attribute; a standard queue given a FIFO-only attribute: InvalidAttributeName ("Unknown
  Attribute FifoQueue.", "You can specify the DeduplicationScope only when FifoQueue is set
  to true."); SetQueueAttributes the same, and a FIFO queue cannot be made standard.
- MessageGroupId and MessageDeduplicationId: 1 to 128 characters, letters, digits and
  punctuation only (standard queues take a MessageGroupId too: fair queues, 2025).
- ReceiveMessage's MaxNumberOfMessages (1 to 10) and WaitTimeSeconds (0 to 20) refused in
  SQS's words; SendMessage on a FIFO queue with DelaySeconds 0 takes the queue's delay.
- DeleteMessage with a handle SQS never gave: its text names the handle; on a FIFO queue, a
  handle whose visibility timeout ended has expired (InvalidParameterValue);
  ChangeMessageVisibility of a deleted message is InvalidParameterValue, not
  ReceiptHandleIsInvalid.
- ListQueueTags of a queue without tags: no ``Tags`` at all (recorded), not an empty map.
- AddPermission on a queue without a policy writes SQS's policy, version "2008-10-17"
  (recorded), where moto writes "2012-10-17"; RemovePermission of a label the policy lacks
  says "can't find label." (recorded).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.sqs.exceptions import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    QueueAlreadyExists,
    ReceiptHandleIsInvalid,
)
from moto.sqs.models import Message, Queue, SQSBackend
from moto.sqs.responses import SQSResponse

from melange_lab.errors import shortened
from melange_lab.moto_internals.patching import _Layer, _set_feature

_FIFO_ONLY_NAMED = ("FifoQueue", "ContentBasedDeduplication")
_FIFO_ONLY_SETTINGS = ("DeduplicationScope", "FifoThroughputLimit")
_MESSAGE_ID_TEXT = re.compile(r"[!-~]{1,128}")  # letters, digits, punctuation: no spaces


def _is_true(value: Any) -> bool:
    return str(value).lower() == "true"


def fifo_only_attribute_problem(attributes: dict[str, Any]) -> Exception | None:
    """SQS's answer to FIFO-only attributes given to a standard queue, or None."""
    for name in attributes:
        if name in _FIFO_ONLY_NAMED:
            return InvalidAttributeName(name)
        if name in _FIFO_ONLY_SETTINGS:
            problem = InvalidAttributeName(name)
            problem.message = f"You can specify the {name} only when FifoQueue is set to true."
            return problem
    return None


def _create_like_sqs(stock: Callable[..., Queue]) -> Callable[..., Queue]:
    def create_queue(
        self: SQSBackend, name: str, tags: dict[str, str] | None = None, **kwargs: Any
    ) -> Queue:
        fifo = _is_true(kwargs.get("FifoQueue"))
        if not fifo and not name.endswith(".fifo"):
            problem = fifo_only_attribute_problem(kwargs)
            if problem is not None:
                raise problem
        try:
            return stock(self, name, tags, **kwargs)
        except QueueAlreadyExists:
            raise QueueAlreadyExists(
                "A queue already exists with the same name and a different value for attribute "
                f"{_first_difference(self, name, kwargs)}"
            ) from None

    return create_queue


def _first_difference(backend: SQSBackend, name: str, attributes: dict[str, Any]) -> str:
    """The first attribute moto's own comparison finds different (it compares as stored)."""
    asked = {key: value for key, value in attributes.items() if key != "region"}
    wanted = Queue(  # type: ignore[abstract]  # moto builds one the same way to compare
        name, region=backend.region_name, account_id=backend.account_id, **asked
    )
    existing = backend.queues[name]
    return next(
        (key for key in asked if existing.attributes.get(key) != wanted.attributes.get(key)),
        "?",
    )


def _set_like_sqs(stock: Callable[..., Queue]) -> Callable[..., Queue]:
    def set_queue_attributes(
        self: SQSBackend, queue_name: str, attributes: dict[str, Any]
    ) -> Queue:
        queue = self.get_queue(queue_name)
        if not queue.fifo_queue:
            problem = fifo_only_attribute_problem(attributes)
            if problem is not None:
                raise problem
        elif "FifoQueue" in attributes and not _is_true(attributes["FifoQueue"]):
            problem = InvalidAttributeValue("FifoQueue")
            problem.message = (
                "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not "
                "supported."
            )
            raise problem
        return stock(self, queue_name, attributes)

    return set_queue_attributes


def message_id_problem(parameter: str, value: str | None) -> Exception | None:
    """SQS's answer to a MessageGroupId or MessageDeduplicationId it refuses, or None."""
    if value is None or _MESSAGE_ID_TEXT.fullmatch(value):
        return None
    return InvalidParameterValue(
        f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only "
        "include alphanumeric and punctuation characters. 1 to 128 in length."
    )


def _check_ids(stock: Callable[..., Message]) -> Callable[..., Message]:
    def send_message(
        self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any
    ) -> Message:
        for parameter, index, name in (
            ("MessageGroupId", 3, "group_id"),
            ("MessageDeduplicationId", 2, "deduplication_id"),
        ):
            value = kwargs.get(name, args[index] if len(args) > index else None)
            problem = message_id_problem(parameter, value)
            if problem is not None:
                raise problem
        return stock(self, queue_name, message_body, *args, **kwargs)

    return send_message


def _fifo_zero_delay_is_the_queues(stock: Callable[..., Message]) -> Callable[..., Message]:
    def send_message(
        self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any
    ) -> Message:
        delay = kwargs.get("delay_seconds", args[1] if len(args) > 1 else None)
        if delay is not None and int(delay) == 0 and self.get_queue(queue_name).fifo_queue:
            if "delay_seconds" in kwargs or len(args) <= 1:
                kwargs = {**kwargs, "delay_seconds": None}
            else:
                args = (args[0], None, *args[2:])
        return stock(self, queue_name, message_body, *args, **kwargs)

    return send_message


def _no_negative_delay(stock: Callable[..., Message]) -> Callable[..., Message]:
    """moto refuses a DelaySeconds over 900 only; SQS refuses a negative one the same way."""

    def send_message(
        self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any
    ) -> Message:
        delay = kwargs.get("delay_seconds", args[1] if len(args) > 1 else None)
        if delay is not None and int(delay) < 0:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds "
                "must be >= 0 and <= 900."
            )
        return stock(self, queue_name, message_body, *args, **kwargs)

    return send_message


_RECEIVE_RANGES = {
    "MaxNumberOfMessages": (1, 10, "Must be between 1 and 10, if provided."),
    "WaitTimeSeconds": (0, 20, "Must be >= 0 and <= 20, if provided."),
    "VisibilityTimeout": (0, 43_200, "Must be >= 0 and <= 43200, if provided."),
}


def _receive_ranges(stock: Callable[..., Any]) -> Callable[..., Any]:
    def receive_message(self: SQSResponse) -> Any:
        for parameter, (lowest, highest, reason) in _RECEIVE_RANGES.items():
            value = self._get_param(parameter)
            if value is None:
                continue
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = lowest - 1
            if not lowest <= number <= highest:
                raise InvalidParameterValue(
                    f"Value {shortened(str(value), 80)} for parameter {parameter} is invalid. "
                    f"Reason: {reason}"
                )
        return stock(self)

    return receive_message


def _delete_like_sqs(stock: Callable[..., None]) -> Callable[..., None]:
    def delete_message(self: Queue, receipt_handle: str) -> None:
        if self.fifo_queue and receipt_handle not in self.deleted_messages:
            message = next(
                (m for m in list(self._messages) if m.had_receipt_handle(receipt_handle)), None
            )
            if message is not None and (
                message.visible or message.receipt_handle != receipt_handle
            ):
                raise InvalidParameterValue(
                    f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: "
                    "The receipt handle has expired."
                )
        try:
            stock(self, receipt_handle)
        except ReceiptHandleIsInvalid:
            problem = ReceiptHandleIsInvalid()
            problem.message = (
                f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.'
            )
            raise problem from None

    return delete_message


def _change_visibility_like_sqs(stock: Callable[..., None]) -> Callable[..., None]:
    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        if receipt_handle in self.get_queue(queue_name).deleted_messages:
            raise InvalidParameterValue(
                f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: Message "
                "does not exist or is not available for visibility timeout change."
            )
        stock(self, queue_name, receipt_handle, visibility_timeout)

    return change_message_visibility


def _no_empty_tags(stock: Callable[..., ActionResult]) -> Callable[..., ActionResult]:
    def list_queue_tags(self: SQSResponse) -> ActionResult:
        answer = stock(self)
        result = answer.result
        if isinstance(result, dict) and not result.get("Tags"):
            return ActionResult({k: v for k, v in result.items() if k != "Tags"})
        return answer

    return list_queue_tags


def _sqs_policy_version(stock: Callable[..., None]) -> Callable[..., None]:
    def add_permission(self: SQSBackend, *args: Any, **kwargs: Any) -> None:
        queue_name = kwargs["queue_name"] if "queue_name" in kwargs else args[1]
        policy = self.get_queue(queue_name)._policy_json
        if not policy.get("Statement"):
            policy["Version"] = "2008-10-17"
        stock(self, *args, **kwargs)

    return add_permission


def _remove_permission_like_sqs(stock: Callable[..., None]) -> Callable[..., None]:
    def remove_permission(self: SQSBackend, *args: Any, **kwargs: Any) -> None:
        try:
            stock(self, *args, **kwargs)
        except InvalidParameterValue as problem:
            problem.message = problem.message.replace(
                "can't find label on existing policy.", "can't find label."
            )
            raise

    return remove_permission


_SQS_REQUESTS: list[_Layer] = [
    (SQSBackend, "create_queue", _create_like_sqs),
    (SQSBackend, "set_queue_attributes", _set_like_sqs),
    (SQSBackend, "send_message", _check_ids),
    (SQSBackend, "send_message", _fifo_zero_delay_is_the_queues),
    (SQSBackend, "send_message", _no_negative_delay),
    (SQSResponse, "receive_message", _receive_ranges),
    (Queue, "delete_message", _delete_like_sqs),
    (SQSBackend, "change_message_visibility", _change_visibility_like_sqs),
    (SQSResponse, "list_queue_tags", _no_empty_tags),
    (SQSBackend, "add_permission", _sqs_policy_version),
    (SQSBackend, "remove_permission", _remove_permission_like_sqs),
]


def install_sqs_requests() -> None:
    """SQS's answers, in its words, where moto 5.2 answers differently."""
    _set_feature("sqs_requests", _SQS_REQUESTS)


def uninstall_sqs_requests() -> None:
    _set_feature("sqs_requests", None)
