"""What every messaging backend does: melange's ``MessagingBackend`` interface."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from melange_lab.models import Message, MessageDto, QueueWrapper, TopicWrapper
from melange_lab.serializers import SerializerRegistry

if TYPE_CHECKING:
    from melange_lab.faults import FaultInjector


class MessagingBackend:
    """Declares topics and queues, publishes, receives and acknowledges messages.

    As in melange, nothing is abstract: a backend written against melange's interface (which
    has no batch publish, release or registry hook) can be instantiated, and the lab's extra
    methods have defaults built on melange's. A method a backend does not implement raises
    ``NotImplementedError`` naming it, when called.
    """

    faults: FaultInjector | None = None  # set by broker.faults(...): faults on the receive path
    # True when retrieve_messages returns [] once nothing is visible, which the lab's
    # consume_loop relies on; for a backend without that promise (one written for melange),
    # consume_loop is melange's: one pass over yield_messages (consume_event).
    drains: ClassVar[bool] = False

    def declare_topic(self, topic_name: str) -> TopicWrapper:
        """Gets or creates the topic."""
        raise self._missing("declare_topic")

    def get_queue(self, queue_name: str) -> QueueWrapper:
        """Finds an existing queue; never creates one (raises QueueNotFound)."""
        raise self._missing("get_queue")

    def declare_queue(
        self,
        queue_name: str,
        *topics_to_bind: TopicWrapper,
        dead_letter_queue_name: str | None = None,
        **kwargs: Any,
    ) -> tuple[QueueWrapper, QueueWrapper | None]:
        """Gets or creates the queue, subscribes it to each topic, and sets up its DLQ."""
        raise self._missing("declare_queue")

    def retrieve_messages(self, queue: QueueWrapper, **kwargs: Any) -> list[Message]:
        """Receives up to a batch of messages; each stays invisible until acknowledged."""
        raise self._missing("retrieve_messages")

    def yield_messages(self, queue: QueueWrapper, **kwargs: Any) -> Iterator[Message]:
        """Receives messages one by one until the queue is drained or a limit is reached."""
        raise self._missing("yield_messages")

    def publish_to_topic(
        self, message: Message, topic: TopicWrapper, extra_attributes: dict[str, Any] | None = None
    ) -> str:
        """Publishes to a topic, which fans out to every subscribed queue; returns the id."""
        raise self._missing("publish_to_topic")

    def publish_to_queue(self, message: Message, queue: QueueWrapper, **kwargs: Any) -> str:
        """Sends to one queue; returns the message id."""
        raise self._missing("publish_to_queue")

    def publish_to_queue_batch(
        self, message_dtos: Sequence[MessageDto], queue: QueueWrapper
    ) -> list[str]:
        """Sends several messages; the default sends them one by one with ``publish_to_queue``
        (FIFO settings included)."""
        return [
            self.publish_to_queue(
                dto.message,
                queue,
                **{
                    key: value
                    for key, value in (
                        ("message_group_id", dto.message_group_id),
                        ("message_deduplication_id", dto.message_deduplication_id),
                    )
                    if value is not None
                },
            )
            for dto in message_dtos
        ]

    def acknowledge(self, message: Message) -> None:
        """Deletes a received message: it was processed and must not come back."""
        raise self._missing("acknowledge")

    def release(self, message: Message, reason: str | None = None) -> None:
        """Hands a received message back unacknowledged, visible again at once.

        A backend that cannot do that leaves the message to its visibility timeout, which
        ends the same way: the message is delivered again.
        """

    def delete_queue(self, queue: QueueWrapper) -> None:
        raise self._missing("delete_queue")

    def delete_topic(self, topic: TopicWrapper) -> None:
        raise self._missing("delete_topic")

    def remember_registry(self, registry: SerializerRegistry) -> None:
        """Told which registry publishers use, so views can decode payloads (optional)."""
        return None

    def close_connection(self) -> None:
        """Releases connections; the lab's clients need no closing, so this does nothing."""
        return None

    def _missing(self, method: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__qualname__} does not implement {method}(), which this call needs; "
            f"define {method}() in the backend (see MessagingBackend.{method} for what it does)."
        )
