"""A real SNS/SQS endpoint seen the way a ``SimulatedBroker`` is seen, read-only.

Views and checks take either: both have ``backend``, ``events``, ``subscribe(observer)``,
``topics()``, ``queues()``, ``subscriptions()`` and ``peek()``. On a real endpoint the look
inside uses only the normal read APIs (ListTopics, ListQueues, GetQueueAttributes,
ListSubscriptionsByTopic), and ``peek`` raises ``PeekNotSupported``: receiving a message to
show it would change its receive count and hide it from consumers.
"""

from __future__ import annotations

from collections.abc import Callable

from melange_lab.arguments import checked, serializer_registry
from melange_lab.backends.sqs import SQSBackend, Subscription
from melange_lab.errors import InvalidParameter
from melange_lab.events import EventLog, Observer
from melange_lab.inspection import BrokerInspector, PeekedMessage, QueueInfo, TopicInfo
from melange_lab.serializers import SerializerRegistry


class RemoteBroker:
    """Looks at the endpoint behind ``backend`` (a ``LocalSQSBackend`` or ``AWSBackend``).

    ``events`` are what this process did through ``backend``; what other programs do on the
    endpoint shows up only in ``topics()`` and ``queues()``. Nothing here changes the broker.
    """

    @checked()
    def __init__(self, backend: SQSBackend) -> None:
        if not isinstance(backend, SQSBackend):
            raise InvalidParameter(
                "backend",
                backend,
                "a LocalSQSBackend or AWSBackend",
                "e.g. RemoteBroker(LocalSQSBackend(host='http://localhost', port=4566)).",
            )
        self.backend = backend
        self._inspector = BrokerInspector(backend)

    @property
    def events(self) -> EventLog:
        return self.backend.events

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Calls ``observer(event)`` for every future event; returns an unsubscribe function."""
        return self.events.subscribe(observer)

    def topics(self) -> list[TopicInfo]:
        return self._inspector.topics()

    def queues(self) -> list[QueueInfo]:
        """Every queue with its approximate counts, as GetQueueAttributes reports them."""
        return self._inspector.queues()

    def subscriptions(self) -> list[Subscription]:
        return self._inspector.subscriptions()

    @checked(registry=serializer_registry)
    def peek(self, queue: str, registry: SerializerRegistry | None = None) -> list[PeekedMessage]:
        """Always raises ``PeekNotSupported``: a real endpoint has no read-only look at messages."""
        return self._inspector.peek(queue, registry)

    def __repr__(self) -> str:
        return f"<RemoteBroker {self.backend!r}>"
