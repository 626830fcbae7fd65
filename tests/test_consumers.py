"""Consumers and the dispatcher: melange's rules, loops that end, and the background mode."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from melange_lab import (
    Consumer,
    MessageDispatcher,
    QueuePublisher,
    SimpleMessageDispatcher,
    SimulatedBroker,
    SingleDispatchConsumer,
    consumer,
)
from melange_lab.backends import BackendManager
from melange_lab.errors import MelangeLabError
from melange_lab.events import EventKind
from melange_lab.infrastructure.cache import DeduplicationCache, NullCache
from melange_lab.serializers import SerializerRegistry
from tests.messages import OrderCreated
from tests.scenarios import Recorder, total_count, visible_count


class PriorityOrder(OrderCreated):
    """A subclass: dispatched to the OrderCreated handler unless it has its own."""


class OrderHandlers(SingleDispatchConsumer):
    def __init__(self) -> None:
        super().__init__()
        self.orders: list[OrderCreated] = []
        self.notes: list[dict[str, Any]] = []

    @consumer
    def on_order(self, event: OrderCreated) -> None:
        self.orders.append(event)

    @consumer(dict)
    def on_note(self, event: Any) -> None:
        self.notes.append(event)


@pytest.fixture
def publish(broker: SimulatedBroker, registry: SerializerRegistry) -> Iterator[QueuePublisher]:
    broker.backend.declare_queue("inbox", visibility_timeout=30)
    yield QueuePublisher(registry, broker.backend)


def _dispatcher(
    broker: SimulatedBroker, registry: SerializerRegistry, *consumers: Consumer, **options: Any
) -> MessageDispatcher:
    dispatcher = MessageDispatcher(registry, backend=broker.backend, **options)
    for each in consumers:
        dispatcher.attach_consumer(each)
    return dispatcher


# -- consumers ----------------------------------------------------------------------------------


def test_consumer_calls_on_message_with_the_decoded_message(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    seen: list[Any] = []
    publish.publish("inbox", OrderCreated("o-1", 3))
    _dispatcher(broker, registry, Consumer(on_message=seen.append)).consume_loop("inbox")
    assert seen == [OrderCreated("o-1", 3)]


def test_consumer_without_on_message_or_process_fails_the_message_and_says_how_to_fix() -> None:
    with pytest.raises(NotImplementedError, match="on_message"):
        Consumer().process({"a": 1})


def test_single_dispatch_consumer_routes_by_type_most_specific_first() -> None:
    handlers = OrderHandlers()
    handlers.process(OrderCreated("o-1"))
    handlers.process(PriorityOrder("o-2"))
    handlers.process({"note": 1})
    assert handlers.orders == [OrderCreated("o-1"), PriorityOrder("o-2")]
    assert handlers.notes == [{"note": 1}]
    assert handlers.accepts(PriorityOrder("x")) and not handlers.accepts("text")


def test_single_dispatch_consumer_only_gets_what_it_accepts(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    handlers, everything = OrderHandlers(), Recorder()
    publish.publish("inbox", OrderCreated("o-1"))
    publish.publish("inbox", {"note": 1})
    _dispatcher(broker, registry, handlers, everything).consume_loop("inbox")
    assert handlers.orders == [OrderCreated("o-1")] and handlers.notes == [{"note": 1}]
    assert len(everything.seen) == 2


def test_consumer_method_without_a_usable_annotation_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(MelangeLabError, match=r"@consumer\(OrderCreated\)"):

        class Broken(SingleDispatchConsumer):
            @consumer
            def on_anything(self, event):  # type: ignore[no-untyped-def]
                pass


def test_consumers_of_one_class_with_different_functions_have_different_names() -> None:
    def first(message: Any) -> None: ...

    def second(message: Any) -> None: ...

    assert Consumer(first).qualified_name != Consumer(second).qualified_name
    assert OrderHandlers().qualified_name.endswith("OrderHandlers")


# -- acknowledgement rules -------------------------------------------------------------------------


def test_message_is_acknowledged_only_when_every_accepting_consumer_succeeds(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    ok, failing = Recorder(), Recorder(failing=lambda _: True)
    errors: list[BaseException] = []
    publish.publish("inbox", {"n": 1})
    summary = _dispatcher(broker, registry, ok, failing).consume_loop("inbox", errors.append)
    assert (summary.failed, summary.acknowledged) == (1, 0)
    assert [type(e) for e in errors] == [RuntimeError]
    assert total_count(broker.backend, "inbox") == 1
    assert broker.events.of_kind(EventKind.ACKNOWLEDGED) == []


def test_always_ack_acknowledges_even_when_a_consumer_fails(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    publish.publish("inbox", {"n": 1})
    dispatcher = _dispatcher(broker, registry, Recorder(lambda _: True), always_ack=True)
    assert dispatcher.consume_loop("inbox").acknowledged == 1
    assert total_count(broker.backend, "inbox") == 0


def test_early_ack_acknowledges_before_processing(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    publish.publish("inbox", {"n": 1})
    dispatcher = _dispatcher(broker, registry, Recorder(lambda _: True), early_ack=True)
    dispatcher.consume_loop("inbox")
    kinds = [e.kind for e in broker.events if e.kind in (EventKind.ACKNOWLEDGED, EventKind.FAILED)]
    assert kinds == [EventKind.ACKNOWLEDGED, EventKind.FAILED]
    assert total_count(broker.backend, "inbox") == 0  # at most once: the failure lost it


def test_always_ack_and_early_ack_together_are_refused(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    with pytest.raises(MelangeLabError, match="not both"):
        MessageDispatcher(registry, backend=broker.backend, always_ack=True, early_ack=True)


def test_message_no_consumer_accepts_is_acknowledged_and_reported_as_unhandled(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    publish.publish("inbox", {"n": 1})
    refuse_all = Consumer(lambda _: None)
    refuse_all.accepts = lambda message: False  # type: ignore[method-assign]
    summary = _dispatcher(broker, registry, refuse_all).consume_loop("inbox")
    assert (summary.unhandled, summary.acknowledged) == (1, 1)
    (unhandled,) = broker.events.of_kind(EventKind.UNHANDLED)
    assert "no attached consumer accepts" in str(unhandled.reason)


def test_unattached_consumer_gets_nothing_more(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    kept, removed = Recorder(), Recorder()
    dispatcher = _dispatcher(broker, registry, kept, removed)
    dispatcher.unattach_consumer(removed)
    publish.publish("inbox", {"n": 1})
    dispatcher.consume_loop("inbox")
    assert len(kept.seen) == 1 and removed.seen == []


def test_simple_message_dispatcher_uses_its_one_consumer_and_the_default_backend(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    BackendManager().set_default_backend(broker.backend)
    recorder = Recorder()
    publish.publish("inbox", {"n": 1})
    assert SimpleMessageDispatcher(recorder, registry).consume_loop("inbox").processed == 1
    assert recorder.seen == [{"n": 1}]


def test_dispatcher_tells_the_backend_its_registry(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessageDispatcher(registry, backend=broker.backend)
    assert broker.backend.serializer_registry is registry


# -- loops that end --------------------------------------------------------------------------------


def test_consume_loop_returns_when_the_queue_is_drained(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    for n in range(25):
        publish.publish("inbox", {"n": n})
    summary = _dispatcher(broker, registry, Recorder()).consume_loop("inbox")
    assert (summary.received, summary.acknowledged, summary.stopped_because) == (25, 25, "drained")


def test_consume_loop_stops_after_max_messages_and_leaves_the_rest_visible(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    for n in range(12):
        publish.publish("inbox", {"n": n})
    summary = _dispatcher(broker, registry, Recorder()).consume_loop("inbox", max_messages=5)
    assert (summary.received, summary.stopped_because) == (5, "max_messages")
    assert visible_count(broker.backend, "inbox") == 7


@pytest.mark.timeout(10)
def test_consume_loop_stops_at_its_time_limit_and_releases_what_it_did_not_start(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    for n in range(10):
        publish.publish("inbox", {"n": n})
    slow = Consumer(lambda _: threading.Event().wait(0.05))
    summary = _dispatcher(broker, registry, slow).consume_loop("inbox", time_limit=0.12)
    assert summary.stopped_because == "time_limit"
    assert 1 <= summary.acknowledged < 10
    assert summary.released == 10 - summary.received
    assert visible_count(broker.backend, "inbox") == 10 - summary.acknowledged


def test_consume_once_handles_a_single_batch(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    for n in range(15):
        publish.publish("inbox", {"n": n})
    after: list[None] = []
    summary = _dispatcher(broker, registry, Recorder()).consume_once(
        "inbox", after_consume=lambda: after.append(None)
    )
    assert summary.received == 10 and len(after) == 10
    assert visible_count(broker.backend, "inbox") == 5


# -- the background consumer -----------------------------------------------------------------------


def _wait_until(condition: Any, timeout: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        done.wait(0.02)
    raise AssertionError("condition not met in time")


@pytest.mark.timeout(20)
def test_background_consumer_processes_messages_published_while_it_runs(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    recorder = Recorder()
    dispatcher = _dispatcher(broker, registry, recorder)
    dispatcher.start("inbox", poll_interval=0.01)
    try:
        assert dispatcher.running
        for n in range(5):
            publish.publish("inbox", {"n": n})
        _wait_until(lambda: len(recorder.seen) == 5)
    finally:
        summary = dispatcher.stop()
    assert not dispatcher.running
    assert (summary.acknowledged, summary.stopped_because) == (5, "stopped")
    dispatcher.start("inbox")
    try:
        with pytest.raises(MelangeLabError, match="already consuming"):
            dispatcher.start("inbox")
    finally:
        dispatcher.stop()


@pytest.mark.timeout(20)
def test_stopping_mid_batch_finishes_the_current_message_and_releases_the_rest(
    broker: SimulatedBroker, registry: SerializerRegistry, publish: QueuePublisher
) -> None:
    for n in range(6):
        publish.publish("inbox", {"n": n})
    started, go_on = threading.Event(), threading.Event()

    def slow_first(message: Any) -> None:
        started.set()
        assert go_on.wait(5)

    dispatcher = _dispatcher(broker, registry, Consumer(slow_first))
    dispatcher.start("inbox", poll_interval=0.01)
    assert started.wait(5)
    stopper = threading.Thread(target=dispatcher.stop)
    stopper.start()
    _wait_until(lambda: dispatcher.stop_requested)
    go_on.set()
    stopper.join(10)
    summary = dispatcher.background_summary
    assert (summary.acknowledged, summary.released) == (1, 5)
    acked = [e.message_id for e in broker.events.of_kind(EventKind.ACKNOWLEDGED)]
    assert len(acked) == len(set(acked)) == 1
    assert visible_count(broker.backend, "inbox") == 5
    assert total_count(broker.backend, "inbox") == 5


@pytest.mark.timeout(20)
def test_background_consumer_on_a_real_clock_sees_a_failed_message_again(
    registry: SerializerRegistry,
) -> None:
    with SimulatedBroker(clock="real") as broker:
        broker.backend.declare_queue("retry", visibility_timeout=1)
        QueuePublisher(registry, broker.backend).publish("retry", {"n": 1})
        attempts = Recorder(failing=lambda _: len(attempts.seen) == 1)
        dispatcher = _dispatcher(broker, registry, attempts)
        dispatcher.start("retry", poll_interval=0.05)
        try:
            _wait_until(lambda: len(attempts.seen) == 2, timeout=8)
        finally:
            summary = dispatcher.stop()
        assert (summary.failed, summary.acknowledged) == (1, 1)


# -- the dedup cache -------------------------------------------------------------------------------


def test_deduplication_cache_forgets_the_oldest_keys_beyond_its_bound() -> None:
    cache = DeduplicationCache(max_entries=3)
    for key in "abcd":
        cache.store(key)
    assert "a" not in cache and all(k in cache for k in "bcd") and len(cache) == 3
    assert cache.get("b") is True and cache.get("a") is None


def test_null_cache_remembers_nothing() -> None:
    cache = NullCache()
    cache.store("a")
    assert "a" not in cache and cache.get("a") is None
