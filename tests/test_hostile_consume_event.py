"""``consume_event`` (melange's one pass) on a backend written for melange, whose
``yield_messages`` receives a batch and hands it out one by one: an interrupt in a handler
releases what was received and not started, says why, and propagates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from melange_lab import MessageDispatcher, QueuePublisher
from melange_lab.backends.testing import InMemoryMessagingBackend
from melange_lab.consumers import Consumer
from melange_lab.events import EventKind
from melange_lab.models import Message, QueueWrapper
from melange_lab.serializers import JsonSerializer, SerializerRegistry


class YieldsFromBatches(InMemoryMessagingBackend):
    """No promise to drain, so consume_loop and consume_event take melange's one pass."""

    drains = False


class MelangeShapedBackend(InMemoryMessagingBackend):
    """``yield_messages`` written as melange's: a for loop over each received batch."""

    drains = False

    def yield_messages(self, queue: QueueWrapper, **kwargs: Any) -> Iterator[Message]:
        while True:
            messages = self.retrieve_messages(queue)
            if not messages:
                return
            for message in messages:  # noqa: UP028 (melange's shape, on purpose)
                yield message


class Interrupting(Consumer):
    def __init__(self, on_n: int, error: BaseException) -> None:
        super().__init__()
        self.seen: list[int] = []
        self._on_n = on_n
        self._error = error

    def process(self, message: Any, **kwargs: Any) -> None:
        self.seen.append(message["n"])
        if message["n"] == self._on_n:
            raise self._error


@pytest.mark.parametrize("backend_class", [YieldsFromBatches, MelangeShapedBackend])
@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(3)])
@pytest.mark.parametrize("method", ["consume_event", "consume_loop"])
def test_an_interrupt_in_consume_event_releases_the_unstarted_rest_of_the_batch(
    backend_class: type[InMemoryMessagingBackend], error: BaseException, method: str
) -> None:
    backend = backend_class()
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    backend.declare_queue("jobs")
    publisher = QueuePublisher(registry, backend)
    for n in range(5):
        publisher.publish("jobs", {"n": n})
    consumer = Interrupting(on_n=1, error=error)
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(consumer)

    with pytest.raises(type(error)):
        getattr(dispatcher, method)("jobs")

    assert consumer.seen == [0, 1]
    (stopped,) = dispatcher.events.of_kind(EventKind.DISPATCHER_STOPPED)
    assert type(error).__name__ in str(stopped.reason)
    assert stopped.detail["released"] == 3
    state = backend._state("jobs")
    # the three never started are visible again at once; the interrupted one stays in flight
    assert sorted(json.loads(str(m.content))["n"] for m in state.visible) == [2, 3, 4]
    assert len(state.in_flight) == 1


def test_after_an_interrupt_the_released_messages_are_consumed_by_the_next_pass() -> None:
    backend = MelangeShapedBackend()
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    backend.declare_queue("jobs")
    publisher = QueuePublisher(registry, backend)
    for n in range(4):
        publisher.publish("jobs", {"n": n})
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(Interrupting(on_n=0, error=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        dispatcher.consume_event("jobs")

    calm = MessageDispatcher(registry, backend=backend)
    seen: list[Any] = []
    calm.attach_consumer(Consumer(on_message=seen.append))
    assert calm.consume_event("jobs").processed == 3
    assert sorted(m["n"] for m in seen) == [1, 2, 3]
