"""melange's ``MessagingBackendFactory``: declare the topics and queues an app needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from melange_lab.arguments import checked
from melange_lab.backends.backend_manager import resolve_backend
from melange_lab.backends.base import MessagingBackend
from melange_lab.errors import InvalidParameter, MelangeLabError
from melange_lab.models import QueueWrapper, TopicWrapper
from melange_lab.names import check_queue_name, check_topic_name


class MessagingBackendFactory:
    @checked()
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
        names = _topic_names(topic_names_to_subscribe)
        # every value checked before any topic exists: a bad option leaves nothing behind
        check = getattr(self._backend, "check_queue_declaration", None)
        if callable(check):
            check(queue_name, dead_letter_queue_name=dlq_name, **kwargs)
        existing = self._existing_topic_names()
        topics: list[TopicWrapper] = []
        try:
            for name in names:
                topics.append(self._backend.declare_topic(name))
            queue, _ = self._backend.declare_queue(
                queue_name, *topics, dead_letter_queue_name=dlq_name, **kwargs
            )
        except MelangeLabError:
            self._delete_new_topics(topics, existing)
            raise
        return queue

    def _existing_topic_names(self) -> set[str] | None:
        """The topics there before this call, when the backend can list them."""
        list_topics = getattr(self._backend, "list_topics", None)
        if not callable(list_topics):
            return None
        return {topic.name for topic in list_topics()}

    def _delete_new_topics(self, topics: list[TopicWrapper], existing: set[str] | None) -> None:
        """Undoes the topics a failed init_queue created (those that were not there before)."""
        if existing is None:
            return
        for topic in topics:
            if topic.name not in existing:
                self._backend.delete_topic(topic)


def _topic_names(topic_names: object) -> list[str]:
    """The topic names as a list, refusing a single string (melange would iterate its
    characters and subscribe to topics 'o', 'r', 'd', ...) and anything not a list of names."""
    if topic_names is None:
        return []
    if isinstance(topic_names, str):
        raise InvalidParameter(
            "topic_names_to_subscribe",
            topic_names,
            "a list of topic names, not one string (a string would be read letter by letter)",
            f"Write init_queue(..., [{topic_names!r}]).",
        )
    if isinstance(topic_names, (bytes, Mapping)) or not isinstance(topic_names, Iterable):
        raise InvalidParameter(
            "topic_names_to_subscribe",
            topic_names,
            "a list of topic names",
            "e.g. init_queue('orders-queue', ['orders']).",
        )
    names = list(topic_names)
    for name in names:
        if not isinstance(name, str):
            raise InvalidParameter(
                "topic_names_to_subscribe",
                topic_names,
                f"a list of topic names (strings); {name!r} is a {type(name).__name__}",
                "e.g. init_queue('orders-queue', ['orders']).",
            )
        check_topic_name(name)
    return names


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
