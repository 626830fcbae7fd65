"""Recognising a FIFO duplicate from the broker's answer.

SQS and SNS (and the lab's moto, and LocalStack) drop a repeated deduplication id within 5
minutes and answer with the first message's id. The broker decides; the backend remembers
which message id each deduplication id got, on the broker clock, only to recognise that
answer and show a ``deduplicated`` event for the copy that never arrives.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from melange_lab.limits import DEDUPLICATION_INTERVAL


class DeduplicationWindow:
    """The FIFO deduplication ids sent in the last ``keep_for`` seconds (broker time), per
    destination, with the message id the broker gave each."""

    def __init__(self, keep_for: float = DEDUPLICATION_INTERVAL) -> None:
        self._sent: dict[str, OrderedDict[str, tuple[float, str]]] = {}
        self._lock = threading.Lock()
        self._keep_for = keep_for

    def original(
        self, destination: str, deduplication_id: str, now: float, within: float | None = None
    ) -> str | None:
        """The message id first sent with this id, if it is still inside the window (or was
        sent less than ``within`` seconds ago, when given)."""
        with self._lock:
            sent = self._sent.get(destination)
            if sent is None:
                return None
            while sent:
                oldest = next(iter(sent.values()))[0]
                if now - oldest < self._keep_for:
                    break
                sent.popitem(last=False)
            found = sent.get(deduplication_id)
            if found is None or (within is not None and now - found[0] >= within):
                return None
            return found[1]

    def remember(
        self, destination: str, deduplication_id: str, now: float, message_id: str
    ) -> None:
        with self._lock:
            sent = self._sent.setdefault(destination, OrderedDict())
            sent.pop(deduplication_id, None)  # moved to the end: the dict stays oldest first
            sent[deduplication_id] = (now, message_id)

    def forget(self, destination: str | None = None) -> None:
        with self._lock:
            if destination is None:
                self._sent.clear()
            else:
                self._sent.pop(destination, None)
