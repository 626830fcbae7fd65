"""FIFO deduplication is the broker's decision: the backend always sends, and reports
``deduplicated`` or ``published`` from the broker's answer, so the two can never disagree."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from melange_lab import QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.events import EventKind
from melange_lab.models import Message, MessageDto
from melange_lab.serializers import JsonSerializer, SerializerRegistry
from tests.scenarios import ledger, total_count


@pytest.fixture
def broker() -> Iterator[SimulatedBroker]:
    simulated = SimulatedBroker(clock="manual")
    try:
        yield simulated
    finally:
        simulated.stop()


@pytest.fixture
def registry() -> SerializerRegistry:
    return SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})


def test_a_resend_after_the_first_copy_was_deleted_is_dropped_by_the_broker_and_reported(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    backend = broker.backend
    backend.declare_queue("pay.fifo")
    publisher = QueuePublisher(registry, backend)
    first = publisher.publish(
        "pay.fifo", {"v": 1}, message_group_id="g", message_deduplication_id="p1"
    )
    (received,) = backend.retrieve_messages(backend.get_queue("pay.fifo"))
    backend.acknowledge(received)
    broker.clock.advance(200)

    again = publisher.publish(
        "pay.fifo", {"v": 2}, message_group_id="g", message_deduplication_id="p1"
    )

    assert again == first
    assert total_count(backend, "pay.fifo") == 0
    (deduplicated,) = broker.events.of_kind(EventKind.DEDUPLICATED)
    assert deduplicated.message_id == deduplicated.published_id == first
    assert ledger(backend).balanced


def test_a_queue_recreated_behind_the_backends_back_gets_the_resend_the_broker_accepts(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    backend = broker.backend
    backend.declare_queue("pay.fifo")
    publisher = QueuePublisher(registry, backend)
    publisher.publish("pay.fifo", {"v": 1}, message_group_id="g", message_deduplication_id="p1")
    sqs = broker.client("sqs")  # another program deletes and re-creates the queue
    url = sqs.get_queue_url(QueueName="pay.fifo")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    sqs.create_queue(
        QueueName="pay.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )

    publisher.publish("pay.fifo", {"v": 2}, message_group_id="g", message_deduplication_id="p1")

    assert total_count(backend, "pay.fifo") == 1  # the new queue never saw p1: not lost
    assert broker.events.of_kind(EventKind.DEDUPLICATED) == []


def test_a_batch_resending_an_id_from_an_earlier_publish_is_reported_from_the_brokers_answer(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    backend = broker.backend
    backend.declare_queue("jobs.fifo")
    queue = backend.get_queue("jobs.fifo")
    first = QueuePublisher(registry, backend).publish(
        "jobs.fifo", {"n": 0}, message_group_id="g", message_deduplication_id="job-0"
    )
    dtos = [
        MessageDto(Message.create(json.dumps({"n": n}), "json", 1), "g", f"job-{n}")
        for n in range(3)
    ]

    ids = backend.publish_to_queue_batch(dtos, queue)

    assert ids[0] == first and len(set(ids)) == 3
    assert total_count(backend, "jobs.fifo") == 3
    (deduplicated,) = broker.events.of_kind(EventKind.DEDUPLICATED)
    assert deduplicated.message_id == first
    assert ledger(backend).balanced


def test_a_fifo_topic_republish_after_the_copy_was_consumed_is_reported_deduplicated(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    backend = broker.backend
    topic = backend.declare_topic("orders.fifo")
    backend.declare_queue("ledger.fifo", topic)
    publisher = TopicPublisher(registry, backend)
    first = publisher.publish(
        "orders.fifo", {"o": 1}, message_group_id="g", message_deduplication_id="o1"
    )
    for message in backend.retrieve_messages(backend.get_queue("ledger.fifo")):
        backend.acknowledge(message)

    again = publisher.publish(
        "orders.fifo", {"o": 1}, message_group_id="g", message_deduplication_id="o1"
    )

    assert again == first
    assert total_count(backend, "ledger.fifo") == 0
    (deduplicated,) = broker.events.of_kind(EventKind.DEDUPLICATED)
    assert deduplicated.topic == "orders.fifo"
    assert ledger(backend).balanced


def test_a_fifo_topic_republish_after_five_minutes_is_published_again(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    backend = broker.backend
    backend.declare_topic("orders.fifo")
    backend.declare_queue("ledger.fifo", backend.get_topic("orders.fifo"))
    publisher = TopicPublisher(registry, backend)
    first = publisher.publish(
        "orders.fifo", {"o": 1}, message_group_id="g", message_deduplication_id="o1"
    )
    broker.clock.advance(301)

    again = publisher.publish(
        "orders.fifo", {"o": 1}, message_group_id="g", message_deduplication_id="o1"
    )

    assert again != first
    assert total_count(backend, "ledger.fifo") == 2
    assert broker.events.of_kind(EventKind.DEDUPLICATED) == []
