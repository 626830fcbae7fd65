"""SQS's two 60-second rules, on the broker's clock.

After DeleteQueue, SQS refuses to create a queue with the same name for 60 seconds
(``AWS.SimpleQueueService.QueueDeletedRecently``, "You must wait 60 seconds after deleting a
queue before you can create another with the same name."), and it allows one PurgeQueue per
queue every 60 seconds (``AWS.SimpleQueueService.PurgeQueueInProgress``, HTTP 403). moto 5.2
has neither (the purge rule only behind an environment variable, on the kernel's clock).
Both are measured on moto's clock global, which the simulated broker sets to its own clock,
so on a manual clock ``broker.clock.advance(60)`` ends the wait. Wording from the SQS API
reference (API_CreateQueue.html, API_PurgeQueue.html) and AWS's recordings.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import moto.sqs.models as sqs_models
from moto.sqs.exceptions import PurgeQueueInProgress, SQSException
from moto.sqs.models import Queue, SQSBackend

from melange_lab.moto_internals.patching import _Layer, _set_feature

WAIT_SECONDS = 60
_deleted: weakref.WeakKeyDictionary[SQSBackend, dict[str, float]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _now() -> float:
    clock: Callable[[], float] = vars(sqs_models)["unix_time"]  # the broker's clock
    return clock()


def _queue_deleted_recently() -> SQSException:
    return SQSException(
        "AWS.SimpleQueueService.QueueDeletedRecently",
        "You must wait 60 seconds after deleting a queue before you can create another with "
        "the same name.",
    )


def _remember_deletes(stock: Callable[..., Any]) -> Callable[..., Any]:
    def delete_queue(self: SQSBackend, queue_name: str) -> Any:
        result = stock(self, queue_name)
        with _lock:
            _deleted.setdefault(self, {})[queue_name] = _now()
        return result

    return delete_queue


def _wait_after_delete(stock: Callable[..., Queue]) -> Callable[..., Queue]:
    def create_queue(self: SQSBackend, name: str, *args: Any, **kwargs: Any) -> Queue:
        with _lock:
            deleted = _deleted.get(self, {})
            at = deleted.get(name)
            if at is not None and _now() - at >= WAIT_SECONDS:
                del deleted[name]
                at = None
        if at is not None and name not in self.queues:
            raise _queue_deleted_recently()
        return stock(self, name, *args, **kwargs)

    return create_queue


def _one_purge_a_minute(stock: Callable[..., None]) -> Callable[..., None]:
    def purge_queue(self: SQSBackend, queue_name: str) -> None:
        queue = self.get_queue(queue_name)
        last = queue.last_purged_at
        if last is not None and _now() - last < WAIT_SECONDS:
            raise PurgeQueueInProgress(queue.name)
        stock(self, queue_name)

    return purge_queue


_SIXTY_SECONDS: list[_Layer] = [
    (SQSBackend, "delete_queue", _remember_deletes),
    (SQSBackend, "create_queue", _wait_after_delete),
    (SQSBackend, "purge_queue", _one_purge_a_minute),
]


def install_sixty_seconds() -> None:
    """SQS's 60-second waits after DeleteQueue and between PurgeQueues, on the broker clock."""
    _set_feature("sixty_seconds", _SIXTY_SECONDS)


def uninstall_sixty_seconds() -> None:
    with _lock:
        _set_feature("sixty_seconds", None)
        _deleted.clear()
