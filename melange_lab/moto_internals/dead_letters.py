"""Hearing moto move a message to a dead-letter queue inside ReceiveMessage."""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.sqs.models import Message, Queue, SQSBackend

from melange_lab.moto_internals.fast_counts import _counts_unread
from melange_lab.moto_internals.patching import _lock, _set_feature

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
