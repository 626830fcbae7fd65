"""One hook for everything that happens on a broker: observers hear each event as it happens.

Widgets, checks and the event log learn what happened only from here. An observer that raises
is logged and skipped: a broken view never breaks the publish it watches.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from melange_lab.arguments import whole_number
from melange_lab.errors import InvalidParameter

logger = logging.getLogger(__name__)

MAX_EVENTS = 10_000_000  # the log is kept in memory: past this it would only exhaust it


class EventKind(str, enum.Enum):
    TOPIC_DECLARED = "topic_declared"
    QUEUE_DECLARED = "queue_declared"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    PUBLISHED = "published"  # sent to a queue (SendMessage) or a topic (Publish)
    DEDUPLICATED = "deduplicated"  # a FIFO send dropped: same deduplication id within 5 minutes
    DELIVERED = "delivered"  # a topic's copy entered one subscribed queue
    FILTERED = "filtered"  # a subscription's filter policy kept a message out of its queue
    DELIVERY_FAILED = "delivery_failed"  # one subscription's copy could not enter its queue
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RELEASED = "released"  # handed back unacknowledged, visible again at once
    DEAD_LETTERED = "dead_lettered"
    REDRIVEN = "redriven"  # moved from a dead-letter queue back to its source queue
    PROCESSED = "processed"
    FAILED = "failed"  # a consumer raised, or the message could not be decoded: not acknowledged
    UNHANDLED = "unhandled"  # no attached consumer accepts the message; acknowledged as in melange
    SKIPPED_DUPLICATE = "skipped_duplicate"
    DISPATCHER_STOPPED = "dispatcher_stopped"  # a handler's exit or interrupt ended consuming
    FAULT_INJECTED = "fault_injected"
    CLOCK_ADVANCED = "clock_advanced"
    QUEUE_DELETED = "queue_deleted"
    TOPIC_DELETED = "topic_deleted"
    PURGED = "purged"  # PurgeQueue: every message of the queue deleted
    EXPIRED = "expired"  # its queue's retention period ended: SQS deleted it
    RESET = "reset"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Event:
    """Something that happened, when (on the broker clock), where, and why.

    ``message_id`` is the id of the message the event is about (a queue copy's SQS id, or a
    topic publish's SNS id); ``published_id`` is the id it was published under: the SNS id for
    a copy a topic delivered, else the same as ``message_id``. Following one publish through
    every queue means following ``published_id``.
    """

    seq: int
    at: float
    kind: EventKind
    queue: str | None = None
    topic: str | None = None
    message_id: str | None = None
    published_id: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    def where(self, separator: str = "=") -> str:
        """The topic, queue and short ids it concerns, e.g. ``topic=orders queue=a id=1f0c...``;
        ``published=`` follows when the message was published under another id."""
        published = self.published_id if self.published_id != self.message_id else None
        return " ".join(
            part
            for part in (
                f"topic{separator}{self.topic}" if self.topic else "",
                f"queue{separator}{self.queue}" if self.queue else "",
                f"id{separator}{self.message_id[:8]}" if self.message_id else "",
                f"published{separator}{published[:8]}" if published else "",
            )
            if part
        )

    def describe(self) -> str:
        """One line a learner can read."""
        why = f" ({self.reason})" if self.reason else ""
        return f"#{self.seq} {self.kind.value} {self.where()}{why}".rstrip()


Observer = Callable[[Event], None]


class EventLog:
    """A bounded, ordered log of events plus the observers that hear each one as it happens."""

    def __init__(self, now: Callable[[], float], max_events: int = 10_000) -> None:
        whole_number(
            "max_events", max_events, 1, MAX_EVENTS, fix="e.g. max_events=10_000 (the default)."
        )
        self._now = now
        self._events: deque[Event] = deque(maxlen=max_events)
        self._observers: list[Observer] = []
        self._lock = threading.RLock()
        self._seq = 0

    def emit(self, kind: EventKind, **fields: Any) -> Event:
        with self._lock:
            self._seq += 1
            event = Event(seq=self._seq, at=self._now(), kind=kind, **fields)
            self._events.append(event)
            observers = list(self._observers)
        for observer in observers:
            try:
                observer(event)
            except Exception:
                logger.exception("event observer %r failed on %s; ignored", observer, event)
        return event

    def now(self) -> float:
        """The time events are stamped with (the broker clock on a simulated broker)."""
        return self._now()

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Calls ``observer`` with every future event; returns a function that unsubscribes."""
        if not callable(observer):
            raise InvalidParameter(
                "observer", observer, "a function taking one Event", "e.g. subscribe(print)."
            )
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    @property
    def max_events(self) -> int:
        return self._events.maxlen or 0

    def __iter__(self) -> Iterator[Event]:
        with self._lock:
            return iter(list(self._events))

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index: int) -> Event:
        with self._lock:
            return self._events[index]

    def of_kind(self, *kinds: EventKind) -> list[Event]:
        return [event for event in self if event.kind in kinds]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [event.as_dict() for event in self]
