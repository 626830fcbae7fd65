"""Batch calls as SQS and SNS answer them: a bad entry fails alone, in ``Failed``.

moto 5.2's SendMessageBatch sends the entries one by one and raises on the first one it
refuses (the entries before it are already in the queue: half a batch, and an error), and
its PublishBatch drops an entry that fails with anything but InvalidParameterValue without a
word, neither in ``Successful`` nor in ``Failed``. It also takes any number of entries and any
entry ids in DeleteMessageBatch and ChangeMessageVisibilityBatch, and answers ``"Failed":
[]`` where SQS leaves the list out. AWS's recordings (LocalStack's snapshots) show:

- the whole request refused, before anything is sent, for more than 10 entries, an entry id
  that is not 1-80 letters, digits, hyphens or underscores, two entries with one id, a batch
  over the size limit (SQS 1 MiB in UTF-8 bytes with attributes; SNS 256 KiB), and a FIFO
  entry without MessageGroupId or deduplication id;
- any other refusal of one entry (too long for the queue, characters SQS does not carry, a
  bad attribute) is that entry's ``Failed`` element, with SQS's code and text, while the
  other entries are sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.sns.exceptions import SNSException, SNSInvalidParameter
from moto.sns.models import SNSBackend
from moto.sqs.exceptions import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    InvalidBatchEntryId,
    InvalidParameterValue,
    SQSException,
    TooManyEntriesInBatchRequest,
)
from moto.sqs.models import Message, SQSBackend
from moto.sqs.responses import SQSResponse

from melange_lab.moto_internals.message_size import (
    SNS_MAXIMUM_BYTES,
    SQS_MAXIMUM_BYTES,
    message_size,
)
from melange_lab.moto_internals.patching import _Layer, _set_feature
from melange_lab.moto_internals.sns_checks import check_structure

MAX_ENTRIES = 10
_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


def _check_entries(ids: list[str]) -> None:
    """The checks that refuse a whole SQS batch request."""
    if len(ids) > MAX_ENTRIES:
        raise TooManyEntriesInBatchRequest(len(ids))
    if any(not _ENTRY_ID.fullmatch(str(entry_id)) for entry_id in ids):
        raise InvalidBatchEntryId()
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(entry_id)
        seen.add(entry_id)


def _entry_failure(entry_id: str, error: SQSException | SNSException) -> dict[str, Any]:
    text = str(error.message).replace(
        "One or more parameters are invalid.", "One or more parameters cannot be validated."
    )
    return {"Id": entry_id, "SenderFault": True, "Code": error.code, "Message": text}


def _send_batch_per_entry(stock: Callable[..., Any]) -> Callable[..., Any]:
    def send_message_batch(
        self: SQSBackend, queue_name: str, entries: dict[str, dict[str, Any]]
    ) -> tuple[list[Message], list[dict[str, Any]]]:
        queue = self.get_queue(queue_name)
        values = list(entries.values())
        _check_entries([entry["Id"] for entry in values])
        total = sum(
            message_size(entry.get("MessageBody", ""), entry.get("MessageAttributes"))
            for entry in values
        )
        if total > SQS_MAXIMUM_BYTES:
            raise BatchRequestTooLong(total)
        if queue.fifo_queue:
            content_based = queue.attributes.get("ContentBasedDeduplication") == "true"
            for entry in values:
                if not entry.get("MessageGroupId"):
                    raise InvalidParameterValue(
                        "The request must contain the parameter MessageGroupId."
                    )
                if not entry.get("MessageDeduplicationId") and not content_based:
                    raise InvalidParameterValue(
                        "The queue should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
        sent: list[Message] = []
        failed: list[dict[str, Any]] = []
        for entry in values:
            try:
                message = self.send_message(
                    queue_name,
                    entry["MessageBody"],
                    message_attributes=entry.get("MessageAttributes") or {},
                    delay_seconds=entry.get("DelaySeconds"),
                    group_id=entry.get("MessageGroupId"),
                    deduplication_id=entry.get("MessageDeduplicationId"),
                )
            except SQSException as error:
                failed.append(_entry_failure(entry["Id"], error))
                continue
            message.user_id = entry["Id"]  # type: ignore[attr-defined]
            sent.append(message)
        return sent, failed

    return send_message_batch


def _publish_batch_per_entry(stock: Callable[..., Any]) -> Callable[..., Any]:
    def publish_batch(
        self: SNSBackend, topic_arn: str, publish_batch_request_entries: list[dict[str, Any]]
    ) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
        topic = self.get_topic(topic_arn)
        entries = publish_batch_request_entries
        if len(entries) > MAX_ENTRIES:
            raise SNSException(
                "TooManyEntriesInBatchRequest",
                "The batch request contains more entries than permissible.",
            )
        for entry in entries:
            entry_id = str(entry.get("Id", ""))
            if len(entry_id) > 80:
                raise SNSException(
                    "InvalidBatchEntryId",
                    f"The Id of a batch entry in the batch request is too long: {entry_id}",
                )
            if not _ENTRY_ID.fullmatch(entry_id):
                raise SNSException(
                    "InvalidBatchEntryId",
                    "The Id of a batch entry in the batch request contains an impermissible "
                    f"character: {entry_id}",
                )
        ids = [entry["Id"] for entry in entries]
        if len(set(ids)) != len(ids):
            raise SNSException(
                "BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id.",
            )
        total = sum(message_size(e.get("Message", ""), e.get("MessageAttributes")) for e in entries)
        if total > SNS_MAXIMUM_BYTES:
            raise SNSException(
                "BatchRequestTooLong",
                "The length of all the messages put together is more than the limit.",
            )
        for entry in entries:
            if entry.get("MessageStructure") == "json":
                check_structure(entry.get("Message", ""))
        if topic.fifo_topic:
            content_based = str(topic.content_based_deduplication).lower() == "true"
            for entry in entries:
                if not entry.get("MessageGroupId"):
                    raise SNSInvalidParameter(
                        "Invalid parameter: The MessageGroupId parameter is required for FIFO "
                        "topics"
                    )
                if not entry.get("MessageDeduplicationId") and not content_based:
                    raise SNSInvalidParameter(
                        "Invalid parameter: The topic should either have "
                        "ContentBasedDeduplication enabled or MessageDeduplicationId provided "
                        "explicitly"
                    )
        successful: list[dict[str, str]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                message_id = self.publish(
                    message=entry["Message"],
                    arn=topic_arn,
                    subject=entry.get("Subject"),
                    message_attributes=entry.get("MessageAttributes", {}),
                    group_id=entry.get("MessageGroupId"),
                    deduplication_id=entry.get("MessageDeduplicationId"),
                    message_structure=entry.get("MessageStructure"),
                )
            except SNSException as error:
                failed.append(_entry_failure(entry["Id"], error))
                continue
            successful.append({"Id": entry["Id"], "MessageId": message_id})
        return successful, failed

    return publish_batch


def _checked_entries(stock: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteMessageBatch and ChangeMessageVisibilityBatch refuse what SendMessageBatch does."""

    def batch_call(self: SQSResponse) -> Any:
        _check_entries([entry.get("Id", "") for entry in self._get_param("Entries", []) or []])
        return _without_empty_lists(stock(self))

    return batch_call


def _send_answer(stock: Callable[..., Any]) -> Callable[..., Any]:
    def send_message_batch(self: SQSResponse) -> Any:
        return _without_empty_lists(stock(self))

    return send_message_batch


def _without_empty_lists(answer: Any) -> Any:
    """SQS leaves an empty ``Successful`` or ``Failed`` out of its answer."""
    result = getattr(answer, "result", None)
    if isinstance(result, dict):
        for name in ("Successful", "Failed"):
            if result.get(name) == []:
                del result[name]
    return answer


_BATCHES: list[_Layer] = [
    (SQSBackend, "send_message_batch", _send_batch_per_entry),
    (SNSBackend, "publish_batch", _publish_batch_per_entry),
    (SQSResponse, "send_message_batch", _send_answer),
    (SQSResponse, "delete_message_batch", _checked_entries),
    (SQSResponse, "change_message_visibility_batch", _checked_entries),
]


def install_batches() -> None:
    """Batches refuse what SQS and SNS refuse as a whole and fail a bad entry alone."""
    _set_feature("batches", _BATCHES)


def uninstall_batches() -> None:
    _set_feature("batches", None)
