"""Faults on purpose: duplicates, reordering, crash before ack; seeded, and never on FIFO."""

from __future__ import annotations

from typing import Any

import pytest

from melange_lab import MessageDispatcher, QueuePublisher, SimulatedBroker
from melange_lab.events import EventKind
from melange_lab.infrastructure.cache import DeduplicationCache
from melange_lab.serializers import SerializerRegistry
from tests import scenarios
from tests.scenarios import Recorder, total_count


def _publish(
    broker: SimulatedBroker, registry: SerializerRegistry, queue: str, count: int, **kwargs: Any
) -> None:
    publisher = QueuePublisher(registry, broker.backend)
    for n in range(count):
        publisher.publish(queue, {"n": n}, **kwargs)


def _consume(
    broker: SimulatedBroker,
    registry: SerializerRegistry,
    queue: str,
    cache: DeduplicationCache | None = None,
) -> Recorder:
    recorder = Recorder()
    dispatcher = MessageDispatcher(registry, cache=cache, backend=broker.backend)
    dispatcher.attach_consumer(recorder)
    dispatcher.consume_loop(queue)
    return recorder


def _faults(broker: SimulatedBroker, fault: str) -> list[Any]:
    injected = broker.events.of_kind(EventKind.FAULT_INJECTED)
    return [e for e in injected if e.detail["fault"] == fault]


def test_duplicates_are_processed_twice_without_the_cache_and_once_with_it(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    for queue in ("plain", "deduplicated"):
        broker.backend.declare_queue(queue)
        _publish(broker, registry, queue, 10)
    broker.faults(duplicate_rate=0.5, seed=7)

    without_cache = _consume(broker, registry, "plain")
    duplicated = len(_faults(broker, "duplicate"))
    assert duplicated > 0
    assert len(without_cache.seen) == 10 + duplicated

    with_cache = _consume(broker, registry, "deduplicated", DeduplicationCache())
    duplicated_again = len(_faults(broker, "duplicate")) - duplicated
    assert duplicated_again > 0
    assert sorted(m["n"] for m in with_cache.seen) == list(range(10))
    assert len(broker.events.of_kind(EventKind.SKIPPED_DUPLICATE)) == duplicated_again
    books = scenarios.ledger(broker.backend)
    assert books.balanced and books.in_queues == 0


def _faulty_run(broker: SimulatedBroker, registry: SerializerRegistry, seed: int) -> list[Any]:
    broker.reset()
    broker.backend.declare_queue("q", visibility_timeout=30)
    _publish(broker, registry, "q", 20)
    seen: list[Any] = []
    with broker.faults(duplicate_rate=0.3, reorder_rate=0.5, crash_before_ack_rate=0.2, seed=seed):
        for _ in range(3):
            seen += [m["n"] for m in _consume(broker, registry, "q").seen]
            broker.clock.advance(30)
    faults = [e.detail["fault"] for e in broker.events.of_kind(EventKind.FAULT_INJECTED)]
    return [seen, len(faults), faults]


def test_the_same_seed_gives_the_same_run_and_another_seed_another(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    first = _faulty_run(broker, registry, seed=42)
    assert first == _faulty_run(broker, registry, seed=42)
    assert first != _faulty_run(broker, registry, seed=43)
    assert {"duplicate", "reorder", "crash_before_ack"} <= set(first[2])


def test_reordering_hands_a_standard_queue_batch_out_of_order(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("q")
    _publish(broker, registry, "q", 10)
    broker.faults(reorder_rate=1.0, seed=1)
    seen = [m["n"] for m in _consume(broker, registry, "q").seen]
    assert sorted(seen) == list(range(10)) and seen != list(range(10))
    (reorder,) = _faults(broker, "reorder")
    assert "another order" in str(reorder.reason)
    assert len(reorder.detail["delivered_order"]) == 10


def test_faults_never_duplicate_or_reorder_a_fifo_queue(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.faults(duplicate_rate=1.0, reorder_rate=1.0, seed=3)
    scenarios.fifo_keeps_order_per_group(broker.backend, registry)
    assert broker.events.of_kind(EventKind.FAULT_INJECTED) == []


def test_a_crash_before_ack_brings_the_message_back_and_the_cache_stops_a_second_processing(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("q", visibility_timeout=30)
    _publish(broker, registry, "q", 1)
    cache = DeduplicationCache()
    with broker.faults(crash_before_ack_rate=1.0):
        first = _consume(broker, registry, "q", cache)
    (crash,) = _faults(broker, "crash_before_ack")
    assert "before acknowledging" in str(crash.reason)
    assert len(first.seen) == 1 and total_count(broker.backend, "q") == 1
    broker.clock.advance(30)
    second = _consume(broker, registry, "q", cache)
    assert second.seen == []  # already processed: skipped, then acknowledged
    assert len(broker.events.of_kind(EventKind.SKIPPED_DUPLICATE)) == 1
    assert total_count(broker.backend, "q") == 0


def test_a_crash_before_ack_without_the_cache_processes_the_message_twice(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("q", visibility_timeout=30)
    _publish(broker, registry, "q", 1)
    with broker.faults(crash_before_ack_rate=1.0):
        _consume(broker, registry, "q")
    broker.clock.advance(30)
    assert _consume(broker, registry, "q").seen == [{"n": 0}]


def test_faults_turn_off_with_the_context_manager_and_with_clear_faults(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("q")
    with broker.faults(duplicate_rate=1.0) as injector:
        assert broker.backend.faults is injector
    assert broker.backend.faults is None and not injector.enabled
    broker.faults(duplicate_rate=1.0)
    broker.clear_faults()
    _publish(broker, registry, "q", 3)
    assert len(_consume(broker, registry, "q").seen) == 3
    assert broker.events.of_kind(EventKind.FAULT_INJECTED) == []


def test_a_new_fault_injector_replaces_the_old_one(broker: SimulatedBroker) -> None:
    old = broker.faults(duplicate_rate=1.0)
    new = broker.faults(reorder_rate=1.0)
    assert broker.backend.faults is new and not old.enabled
    old.turn_off()
    assert broker.backend.faults is new


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_fault_rates_must_be_probabilities(broker: SimulatedBroker, rate: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        broker.faults(duplicate_rate=rate)
