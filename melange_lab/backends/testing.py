"""melange's ``melange.backends.testing``: an in-memory backend and ``link_synchronously``,
for tests that want every publish handled before ``publish`` returns.

Unlike melange's, this ``InMemoryMessagingBackend`` fans out: a message published to a topic
reaches every queue subscribed to it (with ``filter_events`` honoured), and nothing is
dropped. A queue that nobody consumes keeps its messages, where the test can see them.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from melange_lab.backends.base import MessagingBackend
from melange_lab.errors import MelangeLabError, QueueNotFound, TopicNotFound
from melange_lab.models import Message, QueueWrapper, TopicWrapper

if TYPE_CHECKING:
    from melange_lab.consumers import Consumer
    from melange_lab.serializers import SerializerRegistry

Callback = Callable[[str], Any]


@dataclass
class _Queue:
    name: str
    visible: list[Message] = field(default_factory=list)
    in_flight: dict[str, Message] = field(default_factory=dict)


@dataclass
class _Subscription:
    queue: str
    manifests: tuple[str, ...] | None  # melange's filter_events; None lets everything through


class InMemoryMessagingBackend(MessagingBackend):
    """Queues and topics as Python lists, in this process; for synchronous tests.

    ``set_callback(name, callback)`` (what ``link_synchronously`` uses) calls
    ``callback(name)`` after each message reaches the queue ``name``. As in melange, a topic
    with a callback under its own name also hands its messages to the queue of that name.
    """

    drains = True

    def __init__(self) -> None:
        self.callbacks: dict[str, Callback] = {}
        self._queues: dict[str, _Queue] = {}
        self._topics: dict[str, list[_Subscription]] = {}
        self._receipts = itertools.count(1)

    def set_callback(self, queue_name: str, callback: Callback) -> None:
        self.callbacks[queue_name] = callback

    # -- topology ---------------------------------------------------------------------------

    def declare_topic(self, topic_name: str) -> TopicWrapper:
        self._topics.setdefault(topic_name, [])
        return TopicWrapper(topic_name, f"memory:{topic_name}")

    def get_queue(self, queue_name: str) -> QueueWrapper:
        if queue_name not in self._queues:
            raise QueueNotFound(queue_name, self._queues)
        return QueueWrapper(queue_name, f"memory:{queue_name}")

    def declare_queue(
        self,
        queue_name: str,
        *topics_to_bind: TopicWrapper,
        dead_letter_queue_name: str | None = None,
        filter_events: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> tuple[QueueWrapper, QueueWrapper | None]:
        """Gets or creates the queue and subscribes it to each topic; a dead-letter queue is
        declared too, but nothing is ever moved there (there are no redeliveries)."""
        if isinstance(filter_events, str):
            raise MelangeLabError(
                f"filter_events must be a list of manifests, e.g. ['{filter_events}']."
            )
        self._queues.setdefault(queue_name, _Queue(queue_name))
        manifests = None if filter_events is None else tuple(filter_events)
        for topic in topics_to_bind:
            subscriptions = self._topics.setdefault(topic.name, [])
            if all(s.queue != queue_name for s in subscriptions):
                subscriptions.append(_Subscription(queue_name, manifests))
        dead_letter_queue = None
        if dead_letter_queue_name is not None:
            self._queues.setdefault(dead_letter_queue_name, _Queue(dead_letter_queue_name))
            dead_letter_queue = self.get_queue(dead_letter_queue_name)
        return self.get_queue(queue_name), dead_letter_queue

    def delete_queue(self, queue: QueueWrapper) -> None:
        self._queues.pop(queue.name, None)
        for subscriptions in self._topics.values():
            subscriptions[:] = [s for s in subscriptions if s.queue != queue.name]

    def delete_topic(self, topic: TopicWrapper) -> None:
        self._topics.pop(topic.name, None)

    # -- publishing ---------------------------------------------------------------------------

    def publish_to_queue(self, message: Message, queue: QueueWrapper, **kwargs: Any) -> str:
        return self._deliver([queue.name], message)

    def publish_to_topic(
        self, message: Message, topic: TopicWrapper, extra_attributes: dict[str, Any] | None = None
    ) -> str:
        if topic.name not in self._topics:
            raise TopicNotFound(topic.name, self._topics)
        targets = [
            s.queue
            for s in self._topics[topic.name]
            if s.manifests is None or message.manifest in s.manifests
        ]
        if topic.name in self.callbacks and topic.name not in targets:
            self._queues.setdefault(topic.name, _Queue(topic.name))
            targets.append(topic.name)
        return self._deliver(targets, message)

    def _deliver(self, queue_names: list[str], message: Message) -> str:
        """Stores a copy in each queue first, then runs the callbacks: a consumer that
        publishes again sees a consistent state."""
        message_id = str(uuid.uuid4())
        for name in queue_names:
            if name not in self._queues:
                raise QueueNotFound(name, self._queues)
            self._queues[name].visible.append(
                Message(message_id, message.content, None, message.serializer_id, message.manifest)
            )
        for name in queue_names:
            if name in self.callbacks:
                self.callbacks[name](name)
        return message_id

    # -- consuming ----------------------------------------------------------------------------

    def retrieve_messages(
        self, queue: QueueWrapper, max_messages: int | None = None, **kwargs: Any
    ) -> list[Message]:
        """Hands out the visible messages (up to ``max_messages``, at most 10); they stay in
        flight until acknowledged or released."""
        state = self._state(queue.name)
        count = max(1, min(10, max_messages or 10))
        taken, state.visible = state.visible[:count], state.visible[count:]
        received = []
        for message in taken:
            receipt = f"{queue.name}#{next(self._receipts)}"
            state.in_flight[receipt] = message
            received.append(
                Message(
                    message.message_id,
                    message.content,
                    {"queue": queue.name, "receipt": receipt},
                    message.serializer_id,
                    message.manifest,
                )
            )
        return received

    def yield_messages(self, queue: QueueWrapper, **kwargs: Any) -> Iterator[Message]:
        """Receives until the queue has no visible message left."""
        while batch := self.retrieve_messages(queue):
            yield from batch

    def acknowledge(self, message: Message) -> None:
        queue, receipt = self._receipt(message)
        self._state(queue).in_flight.pop(receipt, None)

    def release(self, message: Message, reason: str | None = None) -> None:
        queue, receipt = self._receipt(message)
        state = self._state(queue)
        stored = state.in_flight.pop(receipt, None)
        if stored is not None:
            state.visible.insert(0, stored)

    # -- what a test looks at -----------------------------------------------------------------

    def messages(self, queue_name: str) -> list[Message]:
        """Every message still in the queue: visible ones, then those in flight (a consumer
        failed on them, or they were received and not yet acknowledged)."""
        state = self._state(queue_name)
        return [*state.visible, *state.in_flight.values()]

    def _state(self, queue_name: str) -> _Queue:
        if queue_name not in self._queues:
            raise QueueNotFound(queue_name, self._queues)
        return self._queues[queue_name]

    @staticmethod
    def _receipt(message: Message) -> tuple[str, str]:
        metadata = message.metadata
        if not isinstance(metadata, dict) or "receipt" not in metadata:
            raise MelangeLabError(
                f"Message {message.message_id} was not received from this backend, so it cannot "
                "be acknowledged or released: only messages from retrieve_messages() can."
            )
        return str(metadata["queue"]), str(metadata["receipt"])

    def __repr__(self) -> str:
        return f"<InMemoryMessagingBackend queues={sorted(self._queues)}>"


def link_synchronously(
    queue_name: str,
    consumers: Sequence[Consumer],
    serializer_registry: SerializerRegistry,
    backend: InMemoryMessagingBackend,
) -> None:
    """Declares ``queue_name`` and has ``consumers`` handle each message that reaches it,
    before the publish returns (a dispatcher's ``consume_event`` runs on each delivery)."""
    from melange_lab.message_dispatcher import MessageDispatcher

    backend.declare_queue(queue_name)
    dispatcher = MessageDispatcher(serializer_registry, backend=backend)
    for consumer in consumers:
        dispatcher.attach_consumer(consumer)
    backend.set_callback(queue_name, dispatcher.consume_event)
