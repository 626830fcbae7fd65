"""FIFO deduplication as SQS and SNS apply it: a repeated id within 5 minutes is dropped.

The backend keeps its own record of the ids it sent, on the broker clock, so a learner sees a
``deduplicated`` event for the copy that never arrives (SQS and SNS accept it silently).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from melange_lab.limits import DEDUPLICATION_INTERVAL


class DeduplicationWindow:
    """The FIFO deduplication ids sent in the last 5 minutes (broker time), per destination.

    SQS and SNS accept a duplicate and drop it silently; the lab keeps the same rule and says
    so with a ``deduplicated`` event instead of a ``published`` one.
    """

    def __init__(self) -> None:
        self._sent: dict[str, OrderedDict[str, tuple[float, str]]] = {}
        self._lock = threading.Lock()

    def original(self, destination: str, deduplication_id: str, now: float) -> str | None:
        """The message id first sent with this id, if it is still inside the window."""
        with self._lock:
            sent = self._sent.get(destination)
            if sent is None:
                return None
            while sent:
                oldest = next(iter(sent.values()))[0]
                if now - oldest < DEDUPLICATION_INTERVAL:
                    break
                sent.popitem(last=False)
            found = sent.get(deduplication_id)
            return None if found is None else found[1]

    def remember(
        self, destination: str, deduplication_id: str, now: float, message_id: str
    ) -> None:
        with self._lock:
            self._sent.setdefault(destination, OrderedDict())[deduplication_id] = (now, message_id)

    def forget(self, destination: str | None = None) -> None:
        with self._lock:
            if destination is None:
                self._sent.clear()
            else:
                self._sent.pop(destination, None)
