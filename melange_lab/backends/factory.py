"""melange's ``MessagingBackendFactory``: declare the topics and queues an app needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from melange_lab.backends.backend_manager import resolve_backend
from melange_lab.backends.base import MessagingBackend
from melange_lab.errors import MelangeLabError
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
        """Creates the topics, then the queue subscribed to them (and its DLQ); returns it.

        melange's docs also write the DLQ as ``dead_letter_queue_name=`` (declare_queue's
        name for it), which melange itself refuses with a TypeError; the lab accepts either.
        """
        check_queue_name(queue_name)
        dlq_name = _dead_letter_queue_name(queue_name, dlq_name, kwargs)
        topics = [self._backend.declare_topic(name) for name in topic_names_to_subscribe or ()]
        queue, _ = self._backend.declare_queue(
            queue_name, *topics, dead_letter_queue_name=dlq_name, **kwargs
        )
        return queue


def _dead_letter_queue_name(
    queue_name: str, dlq_name: str | None, kwargs: dict[str, Any]
) -> str | None:
    """The DLQ's name from ``dlq_name`` or ``dead_letter_queue_name`` (never both), and never
    the queue itself, which could not hold on to the messages it gives up on."""
    alias = kwargs.pop("dead_letter_queue_name", None)
    if alias is not None and dlq_name is not None and alias != dlq_name:
        raise MelangeLabError(
            f"init_queue('{queue_name}') got two dead-letter queues, dlq_name={dlq_name!r} and "
            f"dead_letter_queue_name={alias!r}: give one of them."
        )
    name = dlq_name if dlq_name is not None else alias
    if name is not None and name == queue_name:
        suffix = ".fifo" if queue_name.endswith(".fifo") else ""
        suggestion = queue_name.removesuffix(".fifo") + "-dlq" + suffix
        raise MelangeLabError(
            f"Queue '{queue_name}' cannot be its own dead-letter queue: the messages it gives up "
            f"on must go somewhere else. Name another queue, e.g. dlq_name='{suggestion}'."
        )
    return name
