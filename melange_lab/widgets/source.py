"""What a view needs from a broker: the event hook and the look-inside API, nothing more.

``SimulatedBroker`` has all of it; so does a read-only observer of a real endpoint, whose
``peek`` raises ``PeekNotSupported``. Views take any object with these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from melange_lab.backends.sqs import Subscription
from melange_lab.events import Event, Observer
from melange_lab.inspection import PeekedMessage, QueueInfo, TopicInfo


class BrokerSource(Protocol):
    """A broker a view can watch: topics, queues, subscriptions, stored messages, events."""

    @property
    def events(self) -> Iterable[Event]: ...

    def subscribe(self, observer: Observer) -> Callable[[], None]: ...

    def topics(self) -> list[TopicInfo]: ...

    def queues(self) -> list[QueueInfo]: ...

    def subscriptions(self) -> list[Subscription]: ...

    def peek(self, queue: str) -> list[PeekedMessage]: ...
