"""Recognising a FIFO duplicate from the broker's answer.

SQS and SNS (and the lab's moto, and LocalStack) drop a repeated deduplication id within 5
minutes and answer with the first message's id. The broker decides; the backend remembers
which message id each deduplication id got, on the broker clock, only to recognise that
answer and show a ``deduplicated`` event for the copy that never arrives.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from melange_lab.limits import DEDUPLICATION_INTERVAL


def deduplication_id(fifo: bool, request: dict[str, Any]) -> str | None:
    """The id SQS/SNS deduplicate this send (or publish) by: given, else the body's SHA-256."""
    if not fifo:
        return None
    given = request.get("MessageDeduplicationId")
    if given is not None:
        return str(given)
    body = request.get("MessageBody", request.get("Message", ""))
    return hashlib.sha256(str(body).encode()).hexdigest()


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

    def answered_as_duplicate(
        self, destination: str, deduplication_id: str | None, message_id: str, now: float
    ) -> bool:
        """Whether the broker answered this send with the id it gave an earlier send of the
        same deduplication id (so it dropped this copy); else remembers the new id."""
        if deduplication_id is None:
            return False
        if self.original(destination, deduplication_id, now) == message_id:
            return True
        self.remember(destination, deduplication_id, now, message_id)
        return False

    def topic_duplicate_of(
        self, topic: str, deduplication_id: str | None, message_id: str, now: float
    ) -> str | None:
        """The id of the earlier publish this one repeats, if SNS dropped it as a duplicate.

        SNS (and the lab's moto, and LocalStack) answer a dropped FIFO topic publish with a new
        message id, so the answer cannot tell; the window does: the same deduplication id
        published to the topic within the last 5 minutes of broker time. The broker still
        decides what is delivered; this only names the copy that never arrives.
        """
        if deduplication_id is None:
            return None
        destination = f"topic:{topic}"
        original = self.original(destination, deduplication_id, now, within=DEDUPLICATION_INTERVAL)
        if original is None:
            self.remember(destination, deduplication_id, now, message_id)
        return original

    def forget(self, destination: str | None = None) -> None:
        with self._lock:
            if destination is None:
                self._sent.clear()
            else:
                self._sent.pop(destination, None)
