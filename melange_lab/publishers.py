"""melange's publishers: serialize an object and send it to a queue or a topic."""

from __future__ import annotations

from typing import Any

from melange_lab.arguments import checked
from melange_lab.backends.backend_manager import resolve_backend
from melange_lab.backends.base import MessagingBackend
from melange_lab.errors import SerializationFailed
from melange_lab.models import Message
from melange_lab.serializers import SerializerRegistry
from melange_lab.serializers.interfaces import nested_too_deeply


class _Publisher:
    @checked()
    def __init__(
        self, serializer_registry: SerializerRegistry, backend: MessagingBackend | None = None
    ) -> None:
        self.serializer_registry = serializer_registry
        self._backend = resolve_backend(backend)
        remember = getattr(self._backend, "remember_registry", None)  # absent on melange's
        if remember is not None:
            remember(serializer_registry)

    def _message_for(self, data: Any) -> Message:
        """Serializes first, so a payload that cannot be sent changes nothing on the broker."""
        serializer = self.serializer_registry.find_serializer_for(data)
        try:
            content = serializer.serialize(data)
        except RecursionError:  # a serializer of the user's own, on a too deeply nested payload
            raise SerializationFailed(
                data, type(serializer).__name__, nested_too_deeply()
            ) from None
        return Message.create(content, serializer.manifest(data), serializer.identifier())


class QueuePublisher(_Publisher):
    """Sends each message to one queue, where exactly one consumer will get it."""

    def publish(self, queue_name: str, data: Any, **kwargs: Any) -> str:
        """Sends ``data`` to an existing queue; FIFO queues need ``message_group_id``.

        Returns the message id the broker gave it.
        """
        message = self._message_for(data)
        queue = self._backend.get_queue(queue_name)
        return self._backend.publish_to_queue(message, queue, **kwargs)


class TopicPublisher(_Publisher):
    """Publishes each message to a topic, which copies it to every subscribed queue."""

    def publish(self, topic_name: str, data: Any, **extra_attributes: Any) -> str:
        """Publishes ``data`` to the topic (declared if needed); returns the message id.

        ``extra_attributes``: ``subject``, ``message_attributes``, ``message_structure``, and
        for FIFO topics ``message_group_id`` and ``message_deduplication_id``.
        """
        message = self._message_for(data)
        topic = self._backend.declare_topic(topic_name)
        return self._backend.publish_to_topic(message, topic, extra_attributes)
