"""Knowing when moto moves a message to a dead-letter queue inside ReceiveMessage, and the
DeadLetterQueueSourceArn SQS gives such a message."""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable
from typing import Any

from moto.sqs.models import Message, Queue, SQSBackend
from moto.sqs.responses import SQSResponse

from melange_lab.moto_internals.patching import _Layer, _set_feature

logger = logging.getLogger(__name__)


# --- who is receiving ---------------------------------------------------------------------

# The queue whose ReceiveMessage is running in this context: moto moves messages to the DLQ
# from inside receive_message, by calling add_message on the source's dead_letter_queue. The
# DeadLetterQueueSourceArn below and the broker's ``dead_lettered`` event (``arrivals``)
# tell such a move by it.
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
