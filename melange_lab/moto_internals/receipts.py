"""Which message each receipt handle was handed out for: DeleteMessage and
ChangeMessageVisibility name only the handle, and their events name both ids."""

from __future__ import annotations

import threading
from collections import OrderedDict

from moto.sqs.models import Queue

from melange_lab.moto_internals.arrivals import published_id_of

HANDLES_KEPT = 20_000  # receipt handle -> ids, for acknowledged/released (a cache; a miss looks)


class _Handles:
    """A bounded cache of handle -> (message id, published id); a miss looks in the queue."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, handle: str, message_id: str, published_id: str) -> None:
        with self._lock:
            self._ids[handle] = (message_id, published_id)
            if len(self._ids) > HANDLES_KEPT:
                self._ids.popitem(last=False)

    def known(self, handle: str) -> tuple[str, str] | None:
        """The ids remembered for ``handle``, without looking in any queue."""
        with self._lock:
            return self._ids.get(handle)

    def ids(self, queue: Queue | None, handle: str) -> tuple[str, str] | None:
        """The (message id, published id) a live handle belongs to, else None."""
        if queue is None or handle in queue.deleted_messages:
            return None
        known = self.known(handle)
        if known is not None:
            return known
        for message in list(queue._messages):
            if message.had_receipt_handle(handle):
                return message.id, published_id_of(message)
        return None

    def forget(self, handle: str) -> None:
        with self._lock:
            self._ids.pop(handle, None)

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()


handles = _Handles()


def published_id_for_receipt(receipt_handle: str) -> str | None:
    """The published id of the message a receive handed out under ``receipt_handle``."""
    known = handles.known(receipt_handle)
    return None if known is None else known[1]
