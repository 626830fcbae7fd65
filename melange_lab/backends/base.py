"""What every messaging backend does: melange's ``MessagingBackend`` interface."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from melange_lab.models import Message, MessageDto, QueueWrapper, TopicWrapper
from melange_lab.serializers import SerializerRegistry

if TYPE_CHECKING:
    from melange_lab.faults import FaultInjector


class MessagingBackend(abc.ABC):
    """Declares topics and queues, publishes, receives and acknowledges messages."""

    faults: FaultInjector | None = None  # set by broker.faults(...): faults on the receive path

    @abc.abstractmethod
    def declare_topic(self, topic_name: str) -> TopicWrapper:
        """Gets or creates the topic."""

    @abc.abstractmethod
    def get_queue(self, queue_name: str) -> QueueWrapper:
        """Finds an existing queue; never creates one (raises QueueNotFound)."""

    @abc.abstractmethod
    def declare_queue(
        self,
        queue_name: str,
        *topics_to_bind: TopicWrapper,
        dead_letter_queue_name: str | None = None,
        **kwargs: Any,
    ) -> tuple[QueueWrapper, QueueWrapper | None]:
        """Gets or creates the queue, subscribes it to each topic, and sets up its DLQ."""

    @abc.abstractmethod
    def retrieve_messages(self, queue: QueueWrapper, **kwargs: Any) -> list[Message]:
        """Receives up to a batch of messages; each stays invisible until acknowledged."""

    @abc.abstractmethod
    def yield_messages(self, queue: QueueWrapper, **kwargs: Any) -> Iterator[Message]:
        """Receives messages one by one until the queue is drained or a limit is reached."""

    @abc.abstractmethod
    def publish_to_topic(
        self, message: Message, topic: TopicWrapper, extra_attributes: dict[str, Any] | None = None
    ) -> str:
        """Publishes to a topic, which fans out to every subscribed queue; returns the id."""

    @abc.abstractmethod
    def publish_to_queue(self, message: Message, queue: QueueWrapper, **kwargs: Any) -> str:
        """Sends to one queue; returns the message id."""

    @abc.abstractmethod
    def publish_to_queue_batch(
        self, message_dtos: Sequence[MessageDto], queue: QueueWrapper
    ) -> list[str]:
        """Sends several messages in batches; all are checked before any is sent."""

    @abc.abstractmethod
    def acknowledge(self, message: Message) -> None:
        """Deletes a received message: it was processed and must not come back."""

    def release(self, message: Message, reason: str | None = None) -> None:  # noqa: B027
        """Hands a received message back unacknowledged, visible again at once.

        A backend that cannot do that leaves the message to its visibility timeout, which
        ends the same way: the message is delivered again.
        """

    @abc.abstractmethod
    def delete_queue(self, queue: QueueWrapper) -> None: ...

    @abc.abstractmethod
    def delete_topic(self, topic: TopicWrapper) -> None: ...

    def remember_registry(self, registry: SerializerRegistry) -> None:
        """Told which registry publishers use, so views can decode payloads (optional)."""
        return None

    def close_connection(self) -> None:
        """Releases connections; the lab's clients need no closing, so this does nothing."""
        return None
