"""What a view needs from a broker: the event hook and the look-inside API, nothing more.

``SimulatedBroker`` has all of it; so does a read-only observer of a real endpoint, whose
``peek`` raises ``PeekNotSupported``. Views take any object with these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from melange_lab.backends.sqs import Subscription
from melange_lab.errors import InvalidParameter
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


SOURCE_NEEDS = ("events", "subscribe", "topics", "queues", "subscriptions", "peek")


def broker_source(parameter: str, value: object) -> object:
    """``value`` if a view can watch it (it has everything ``BrokerSource`` names)."""
    missing = [name for name in SOURCE_NEEDS if not hasattr(value, name)]
    if missing:
        raise InvalidParameter(
            parameter,
            value,
            f"a broker to watch: a SimulatedBroker, a RemoteBroker or an object with "
            f"{', '.join(SOURCE_NEEDS)} (this one has no {', '.join(missing)})",
            "e.g. broker.view(), or BrokerView(RemoteBroker(backend)).",
        )
    return value
