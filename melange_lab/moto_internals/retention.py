"""A message's retention ending: SQS deletes it, and the broker reports it as ``expired``.

moto 5.2.1 to 5.2.6 keeps a message past its queue's MessageRetentionPeriod: ReceiveMessage
marks it received, skips it and stops looking (``is_message_valid_based_on_retention_period``),
and GetQueueAttributes still counts it. SQS deletes it. Here a queue's expired messages are
deleted and reported (``expired``, with both ids) whenever the broker's clock advances (every
queue) and before a ReceiveMessage on it (at most once per second of broker time per queue, so
receiving from a deep queue does not scan it on every call). As on SQS for a standard queue,
retention counts from the first send, also in a dead-letter queue.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import moto.sqs.models as sqs_models
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends

from melange_lab.events import EventKind
from melange_lab.moto_internals.arrivals import published_id_of
from melange_lab.moto_internals.event_sink import emit
from melange_lab.moto_internals.patching import _Layer

_SWEPT_AT = "melange_lab_swept_at"  # on a moto Queue: broker time (ms) it was last looked at
_SWEEP_EVERY_MS = 1000


def _now_ms() -> float:
    clock = vars(sqs_models)["unix_time_millis"]  # the broker's clock, when installed
    return float(clock())


def expire(queue: Queue, now_ms: float) -> list[Message]:
    """Deletes the queue's messages whose retention ended by ``now_ms`` and reports each."""
    setattr(queue, _SWEPT_AT, now_ms)
    retention = int(vars(queue).get("message_retention_period", 345_600))
    ended_before = now_ms - retention * 1000
    with queue._messages_lock:
        expired = [m for m in queue._messages if (m.sent_timestamp or 0) <= ended_before]
        if not expired:
            return []
        gone = {id(m) for m in expired}
        queue._messages = [m for m in queue._messages if id(m) not in gone]
        for message in expired:
            queue.pending_messages.discard(message)
    for message in expired:
        emit(
            EventKind.EXPIRED,
            queue=queue.name,
            message_id=message.id,
            published_id=published_id_of(message),
            reason=f"its queue's MessageRetentionPeriod ({retention} s) ended: SQS deleted it",
            detail={
                "retention_seconds": retention,
                "receive_count": message.approximate_receive_count,
            },
        )
    return expired


def expire_messages() -> None:
    """Every queue's expired messages deleted and reported (after the clock moved)."""
    now_ms = _now_ms()
    for regions in list(sqs_backends.values()):
        for backend in list(regions.values()):
            for queue in list(backend.queues.values()):
                expire(queue, now_ms)


def _expiring_first(stock: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(stock)
    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.queues.get(queue_name)
        if queue is not None:
            now_ms = _now_ms()
            if now_ms - getattr(queue, _SWEPT_AT, float("-inf")) >= _SWEEP_EVERY_MS:
                expire(queue, now_ms)
        return stock(self, queue_name, *args, **kwargs)

    return receive_message


LAYERS: list[_Layer] = [(SQSBackend, "receive_message", _expiring_first)]
