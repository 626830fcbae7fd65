"""SQS's queues, reported: CreateQueue (``queue_declared``, once, when new), SetQueueAttributes
with a RedrivePolicy (``queue_declared`` again: its dead-letter queue changed), DeleteQueue
(``queue_deleted``, with how many messages went with it) and PurgeQueue (``purged``).
Checked against moto 5.2.1 to 5.2.6 (``versions.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.sqs.models import Queue, SQSBackend

from melange_lab.events import EventKind
from melange_lab.moto_internals.event_sink import emit
from melange_lab.moto_internals.patching import _Layer


def _queue_detail(queue: Queue) -> dict[str, Any]:
    policy = queue.redrive_policy if isinstance(queue.redrive_policy, dict) else {}
    dead_letter = queue.dead_letter_queue
    return {
        "fifo": bool(queue.fifo_queue),
        "dead_letter_queue": dead_letter.name if dead_letter is not None else None,
        "max_receive_count": policy.get("maxReceiveCount") if dead_letter is not None else None,
    }


def _create_reporting(stock: Callable[..., Queue]) -> Callable[..., Queue]:
    @functools.wraps(stock)
    def create_queue(self: SQSBackend, name: str, *args: Any, **kwargs: Any) -> Queue:
        new = name not in self.queues
        queue = stock(self, name, *args, **kwargs)
        if new:
            emit(EventKind.QUEUE_DECLARED, queue=name, detail=_queue_detail(queue))
        return queue

    return create_queue


def _attributes_reporting(stock: Callable[..., Queue]) -> Callable[..., Queue]:
    @functools.wraps(stock)
    def set_queue_attributes(
        self: SQSBackend, queue_name: str, attributes: dict[str, Any]
    ) -> Queue:
        queue = stock(self, queue_name, attributes)
        if "RedrivePolicy" in attributes:  # its dead-letter queue changed: the topology did
            detail = {**_queue_detail(queue), "changed": sorted(attributes)}
            emit(EventKind.QUEUE_DECLARED, queue=queue_name, detail=detail)
        return queue

    return set_queue_attributes


def _delete_queue_reporting(stock: Callable[[SQSBackend, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def delete_queue(self: SQSBackend, queue_name: str) -> None:
        queue = self.queues.get(queue_name)
        stock(self, queue_name)
        if queue is not None:
            lost = len(queue._messages)
            emit(
                EventKind.QUEUE_DELETED,
                queue=queue_name,
                reason=f"its {lost} message(s) were deleted with it" if lost else None,
                detail={"messages": lost},
            )

    return delete_queue


def _purge_reporting(stock: Callable[[SQSBackend, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def purge_queue(self: SQSBackend, queue_name: str) -> None:
        queue = self.queues.get(queue_name)
        before = 0 if queue is None else len(queue._messages)
        stock(self, queue_name)
        emit(
            EventKind.PURGED,
            queue=queue_name,
            reason=f"PurgeQueue deleted its {before} message(s)",
            detail={"messages": before},
        )

    return purge_queue


LAYERS: list[_Layer] = [
    (SQSBackend, "create_queue", _create_reporting),
    (SQSBackend, "set_queue_attributes", _attributes_reporting),
    (SQSBackend, "delete_queue", _delete_queue_reporting),
    (SQSBackend, "purge_queue", _purge_reporting),
]
