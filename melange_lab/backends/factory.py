"""melange's ``MessagingBackendFactory``: declare the topics and queues an app needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from melange_lab.backends.backend_manager import resolve_backend
from melange_lab.backends.base import MessagingBackend
from melange_lab.models import QueueWrapper, TopicWrapper
from melange_lab.names import check_queue_name


class MessagingBackendFactory:
    def __init__(self, backend: MessagingBackend | None = None) -> None:
        self._backend = resolve_backend(backend)

    def init_topic(self, topic_name: str) -> TopicWrapper:
        return self._backend.declare_topic(topic_name)

    def init_queue(
        self,
        queue_name: str,
        topic_names_to_subscribe: Sequence[str] | None = None,
        dlq_name: str | None = None,
        **kwargs: Any,
    ) -> QueueWrapper:
        """Creates the topics, then the queue subscribed to them (and its DLQ); returns it."""
        check_queue_name(queue_name)
        topics = [self._backend.declare_topic(name) for name in topic_names_to_subscribe or ()]
        queue, _ = self._backend.declare_queue(
            queue_name, *topics, dead_letter_queue_name=dlq_name, **kwargs
        )
        return queue
