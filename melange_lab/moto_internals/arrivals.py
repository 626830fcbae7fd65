"""A message entering a queue: why (``Arrival``), and its report, whoever sent it.

``Queue.add_message`` (moto 5.2.1 to 5.2.6) is the one place a message enters a queue:
SendMessage(Batch) (``published``), a topic's copy (``delivered``), moto's move to a
dead-letter queue inside ReceiveMessage or a subscription's dead-letter queue
(``dead_lettered``), a redrive (``redriven``). The caller sets ``current_arrival`` around
its send to say which; a send with none set is a plain ``published``. The event is emitted
just before the message is appended, so no consumer can receive it before its arrival is in
the log.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.sqs.models import Message, Queue

from melange_lab.events import EventKind
from melange_lab.moto_internals.dead_letters import _receiving_from
from melange_lab.moto_internals.event_sink import emit, last_failure
from melange_lab.moto_internals.patching import _Layer

PUBLISHED_ID = "melange_lab_published_id"  # on a moto Message published under another id


def published_id_of(message: Message) -> str:
    """The id ``message`` (a moto message, or a received copy of one) was published under."""
    published: str | None = getattr(message, PUBLISHED_ID, None)
    return published or message.id


@dataclass
class Arrival:
    """Set around a send: what the message entering a queue is (a copy, a dead letter, ...)."""

    kind: EventKind
    topic: str | None = None
    published_id: str | None = None
    queue: str | None = None  # the queue the event names, when not the one entered ...
    entered_as: str = "queue"  # ... then the detail naming the one entered
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    sent: dict[str, Any] | None = None  # what send_message was asked to store (for a DLQ)


current_arrival: contextvars.ContextVar[Arrival | None] = contextvars.ContextVar(
    "melange_lab_arrival", default=None
)


def manifest_of(attributes: dict[str, Any] | None) -> str | None:
    """melange's ``manifest`` attribute, from SQS-shaped or SNS-shaped attributes."""
    found = (attributes or {}).get("manifest")
    if not isinstance(found, dict):
        return None
    value = found.get("StringValue", found.get("Value"))
    return value if isinstance(value, str) else None


def _add_reporting(stock: Callable[[Queue, Message], None]) -> Callable[[Queue, Message], None]:
    def add_message(self: Queue, message: Message) -> None:
        entering = current_arrival.get()
        source = _receiving_from.get()
        if entering is not None:
            _arrived(self, message, entering)
        elif source is not None and source.dead_letter_queue is self:
            _dead_lettered(source, self, message)
        stock(self, message)

    return add_message


def _arrived(queue: Queue, message: Message, entering: Arrival) -> None:
    published = entering.published_id or message.id
    if published != message.id:
        setattr(message, PUBLISHED_ID, published)
    detail = entering.detail
    if entering.queue is not None:
        detail = {**detail, entering.entered_as: queue.name}
    emit(
        entering.kind,
        queue=entering.queue or queue.name,
        topic=entering.topic,
        message_id=message.id,
        published_id=published,
        reason=entering.reason,
        detail=detail,
    )


def _dead_lettered(source: Queue, dead_letter_queue: Queue, message: Message) -> None:
    failure = last_failure(message.id)
    count = message.approximate_receive_count
    emit(
        EventKind.DEAD_LETTERED,
        queue=source.name,
        message_id=message.id,
        published_id=published_id_of(message),
        reason=(
            f"received {count} times without being acknowledged, which is its queue's "
            f"maxReceiveCount; moved to '{dead_letter_queue.name}'"
            + (f"; last failure: {failure}" if failure else "")
        ),
        detail={
            "dead_letter_queue": dead_letter_queue.name,
            "receive_count": count,
            "last_failure": failure,
        },
    )


LAYERS: list[_Layer] = [(Queue, "add_message", _add_reporting)]
