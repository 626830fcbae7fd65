"""Hearing moto move a message to a dead-letter queue inside ReceiveMessage."""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.sqs.models import Message, Queue, SQSBackend
from moto.sqs.responses import SQSResponse

from melange_lab.moto_internals.fast_counts import _counts_unread
from melange_lab.moto_internals.patching import _Layer, _lock, _set_feature

logger = logging.getLogger(__name__)


# --- hearing dead-letter moves --------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterMove:
    """moto moved a message to a dead-letter queue while receiving from ``source_queue``."""

    source_queue: str
    dead_letter_queue: str
    message_id: str
    receive_count: int


_listeners: list[Callable[[DeadLetterMove], None]] = []
# The queue whose ReceiveMessage is running in this context: moto moves messages to the DLQ
# from inside receive_message, by calling add_message on the source's dead_letter_queue.
_receiving_from: contextvars.ContextVar[Queue | None] = contextvars.ContextVar(
    "melange_lab_receiving_from", default=None
)


def _note_receiving(receive: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(receive)
    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        token = _receiving_from.set(self.queues.get(queue_name))
        try:
            return receive(self, queue_name, *args, **kwargs)
        finally:
            _receiving_from.reset(token)

    return receive_message


def _report_dead_letters(add: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(add)
    def add_message(self: Queue, message: Message) -> Any:
        result = add(self, message)
        source = _receiving_from.get()
        if source is not None and source.dead_letter_queue is self:
            count = message.approximate_receive_count
            move = DeadLetterMove(source.name, self.name, message.id, count)
            unread = _counts_unread.set(False)  # a listener may ask for queue counts
            try:
                for listener in list(_listeners):
                    try:
                        listener(move)
                    except Exception:
                        logger.exception("dead-letter listener %r failed on %r", listener, move)
            finally:
                _counts_unread.reset(unread)
        return result

    return add_message


def add_dead_letter_listener(listener: Callable[[DeadLetterMove], None]) -> Callable[[], None]:
    """Call ``listener`` whenever moto moves a message to a DLQ; returns its remover.

    A listener that raises is logged and never breaks the receive. While no listener is
    registered, moto's receive and add_message are stock.
    """
    with _lock:
        _listeners.append(listener)
        _set_feature(
            "dead_letters",
            [
                (SQSBackend, "receive_message", _note_receiving),
                (Queue, "add_message", _report_dead_letters),
            ],
        )

    def remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)
            if not _listeners:
                _set_feature("dead_letters", None)

    return remove


# --- DeadLetterQueueSourceArn ---------------------------------------------------------------
#
# SQS gives a message it moved to a dead-letter queue the system attribute
# DeadLetterQueueSourceArn (the queue it came from), returned by ReceiveMessage when asked
# for it or for All. moto 5.2 neither records nor returns it.

SOURCE_ARN = "DeadLetterQueueSourceArn"


def _tag_source(add: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(add)
    def add_message(self: Queue, message: Message) -> Any:
        source = _receiving_from.get()
        if source is not None and source.dead_letter_queue is self:
            message.system_attributes = {**(message.system_attributes or {})}
            message.system_attributes[SOURCE_ARN] = source.queue_arn
        return add(self, message)

    return add_message


def _answer_with_source(receive: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(receive)
    def receive_message(self: SQSResponse) -> Any:
        answer = receive(self)
        asked = set(self._get_param("AttributeNames", []))
        asked |= set(self._get_param("MessageSystemAttributeNames", []))
        received = answer.result.get("Messages", []) if isinstance(answer.result, dict) else []
        if not received or not asked & {"All", SOURCE_ARN}:
            return answer
        queue = self.sqs_backend.get_queue(self._get_queue_name())
        sources = {
            m.id: m.system_attributes.get(SOURCE_ARN)
            for m in list(queue._messages)
            if m.system_attributes and m.system_attributes.get(SOURCE_ARN)
        }
        for entry in received:
            if entry["MessageId"] in sources:
                entry.setdefault("Attributes", {})[SOURCE_ARN] = sources[entry["MessageId"]]
        return answer

    return receive_message


_DEAD_LETTER_SOURCE: list[_Layer] = [
    (SQSBackend, "receive_message", _note_receiving),
    (Queue, "add_message", _tag_source),
    (SQSResponse, "receive_message", _answer_with_source),
]


def install_dead_letter_source() -> None:
    """Dead-lettered messages carry DeadLetterQueueSourceArn, as on SQS."""
    _set_feature("dead_letter_source", _DEAD_LETTER_SOURCE)


def uninstall_dead_letter_source() -> None:
    _set_feature("dead_letter_source", None)
