"""SQS's message calls, reported: SendMessage (``published``, or ``deduplicated`` when the FIFO
window dropped it), ReceiveMessage (``received``, with the receive count), DeleteMessage
(``acknowledged``) and ChangeMessageVisibility to 0 (``released``). Batch calls reach the same
backend methods once per entry. Checked against moto 5.2.1 to 5.2.6 (``versions.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.sqs.models import Message, SQSBackend

from melange_lab.events import EventKind
from melange_lab.moto_internals.arrivals import (
    Arrival,
    current_arrival,
    manifest_of,
    published_id_of,
)
from melange_lab.moto_internals.event_sink import emit
from melange_lab.moto_internals.fifo import DuplicateAnswer
from melange_lab.moto_internals.patching import _Layer
from melange_lab.moto_internals.receipts import handles


def _send_reporting(stock: Callable[..., Message]) -> Callable[..., Message]:
    @functools.wraps(stock)
    def send_message(
        self: SQSBackend,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        delay_seconds: int | None = None,
        deduplication_id: str | None = None,
        group_id: str | None = None,
        system_attributes: dict[str, Any] | None = None,
        validate_group_id: bool = True,
    ) -> Message:
        entering = current_arrival.get()
        token = None
        if entering is None:
            detail = {"manifest": manifest_of(message_attributes), "message_group_id": group_id}
            entering = Arrival(EventKind.PUBLISHED, detail=detail)
            token = current_arrival.set(entering)
        else:  # a topic's copy: what it carried goes to a dead-letter queue if it fails
            entering.sent = {
                "message_body": message_body,
                "message_attributes": message_attributes,
                "deduplication_id": deduplication_id,
                "group_id": group_id,
            }
        try:
            answer = stock(
                self,
                queue_name,
                message_body,
                message_attributes=message_attributes,
                delay_seconds=delay_seconds,
                deduplication_id=deduplication_id,
                group_id=group_id,
                system_attributes=system_attributes,
                validate_group_id=validate_group_id,
            )
        finally:
            if token is not None:
                current_arrival.reset(token)
        if isinstance(answer, DuplicateAnswer):
            _report_duplicate(queue_name, answer, entering)
        return answer

    return send_message


def _report_duplicate(queue_name: str, answer: DuplicateAnswer, entering: Arrival) -> None:
    emit(
        EventKind.DEDUPLICATED,
        queue=queue_name,
        topic=entering.topic,
        message_id=answer.id,
        published_id=entering.published_id or answer.id,
        reason=duplicate_reason(answer.id, answer.deduplication_id, answer.content_based, "queue"),
        detail={
            "deduplication_id": answer.deduplication_id,
            "content_based": answer.content_based,
            "manifest": entering.detail.get("manifest"),
        },
    )


def duplicate_reason(first: str, key: str, content_based: bool, kind: str) -> str:
    """Why a FIFO queue or topic (``kind``) dropped a message: the same key within 5 minutes."""
    why = "content (content-based deduplication)" if content_based else f"deduplication id '{key}'"
    return (
        f"same {why} as message {first[:8]} sent less than 5 minutes ago: accepted and "
        f"dropped, as FIFO {kind}s do"
    )


def _receive_reporting(stock: Callable[..., list[Message]]) -> Callable[..., list[Message]]:
    @functools.wraps(stock)
    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        received = stock(self, queue_name, *args, **kwargs)
        for message in received:
            published = published_id_of(message)
            if message.receipt_handle is not None:
                handles.remember(message.receipt_handle, message.id, published)
            emit(
                EventKind.RECEIVED,
                queue=queue_name,
                message_id=message.id,
                published_id=published,
                detail={"receive_count": message.approximate_receive_count},
            )
        return received

    return receive_message


def _delete_reporting(stock: Callable[[SQSBackend, str, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def delete_message(self: SQSBackend, queue_name: str, receipt_handle: str) -> None:
        ids = handles.ids(self.queues.get(queue_name), receipt_handle)
        stock(self, queue_name, receipt_handle)
        handles.forget(receipt_handle)
        if ids is not None:
            emit(EventKind.ACKNOWLEDGED, queue=queue_name, message_id=ids[0], published_id=ids[1])

    return delete_message


def _visibility_reporting(stock: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        releasing = str(visibility_timeout).strip() == "0"
        ids = handles.ids(self.queues.get(queue_name), receipt_handle) if releasing else None
        stock(self, queue_name, receipt_handle, visibility_timeout)
        if ids is not None:
            emit(
                EventKind.RELEASED,
                queue=queue_name,
                message_id=ids[0],
                published_id=ids[1],
                reason="its visibility timeout was set to 0: visible again at once",
            )

    return change_message_visibility


# receive_message: after dead_letters' note of who is receiving (event_hooks puts it first)
LAYERS: list[_Layer] = [
    (SQSBackend, "send_message", _send_reporting),
    (SQSBackend, "receive_message", _receive_reporting),
    (SQSBackend, "delete_message", _delete_reporting),
    (SQSBackend, "change_message_visibility", _visibility_reporting),
]
