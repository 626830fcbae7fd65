"""The simulated broker's life cycle, its isolation from the network, and looking inside."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from melange_lab import MessagingBackendFactory, QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.errors import BrokerStopped
from melange_lab.events import EventKind
from melange_lab.serializers import SerializerRegistry
from tests.messages import OrderCreated

REAL_LOOKING = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Refuses every outbound connection and records who tried."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise ConnectionRefusedError(f"test refuses outbound connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts


def test_broker_never_reaches_the_network_even_with_real_credentials_set(
    monkeypatch: pytest.MonkeyPatch, no_network: list[object], registry: SerializerRegistry
) -> None:
    for name, value in REAL_LOOKING.items():
        monkeypatch.setenv(name, value)
    with SimulatedBroker() as broker:
        MessagingBackendFactory(broker.backend).init_queue("q", ["t"])
        QueuePublisher(registry, broker.backend).publish("q", {"a": 1})
        TopicPublisher(registry, broker.backend).publish("t", {"b": 2})
        assert len(broker.peek("q")) == 2
        assert os.environ["AWS_ACCESS_KEY_ID"] == REAL_LOOKING["AWS_ACCESS_KEY_ID"]
    assert no_network == []
    assert os.environ["AWS_ACCESS_KEY_ID"] == REAL_LOOKING["AWS_ACCESS_KEY_ID"]


def test_broker_uses_its_own_region_and_account() -> None:
    with SimulatedBroker(region="eu-central-1") as broker:
        queue, _ = broker.backend.declare_queue("q")
        assert queue.attributes["QueueArn"] == "arn:aws:sqs:eu-central-1:123456789012:q"


def test_after_stop_other_boto3_code_talks_to_the_real_endpoint_again() -> None:
    with SimulatedBroker():
        pass
    client = boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    with pytest.raises(EndpointConnectionError):
        client.list_queues()


def test_a_stopped_broker_says_so_and_how_to_restart() -> None:
    broker = SimulatedBroker()
    backend = broker.backend
    broker.stop()
    with pytest.raises(BrokerStopped, match=r"broker\.start\(\)"):
        broker.queues()
    with pytest.raises(BrokerStopped):
        backend.declare_queue("q")


def test_stopped_broker_starts_again_empty() -> None:
    broker = SimulatedBroker()
    broker.backend.declare_queue("q")
    broker.stop()
    broker.start()
    try:
        assert broker.queues() == []
    finally:
        broker.stop()


def test_creating_a_second_broker_stops_the_first_and_does_not_mix_state() -> None:
    first = SimulatedBroker()
    first.backend.declare_queue("from-first")
    second = SimulatedBroker()  # what re-running a notebook cell does
    try:
        assert second.queues() == []
        with pytest.raises(BrokerStopped, match="newer SimulatedBroker replaced it"):
            first.queues()
    finally:
        second.stop()


def test_a_replaced_broker_tells_its_observers_which_broker_replaced_it_once() -> None:
    first = SimulatedBroker()
    told: list[SimulatedBroker | None] = []
    first.when_stopped(told.append)
    second = SimulatedBroker()
    try:
        assert told == [second] and second.running  # told once the newer one is live
        second.stop()
        assert told == [second]  # the first broker's observers are not told twice
    finally:
        second.stop()


def test_a_stopped_broker_tells_its_observers_none_and_a_cancelled_observer_nothing() -> None:
    broker = SimulatedBroker()
    told: list[SimulatedBroker | None] = []
    cancelled: list[SimulatedBroker | None] = []
    broker.when_stopped(told.append)
    broker.when_stopped(cancelled.append)()
    broker.when_stopped(lambda _: 1 / 0)  # a broken observer never breaks stop()

    broker.stop()
    broker.stop()

    assert told == [None] and cancelled == [] and not broker.running


def test_reset_empties_the_broker_and_keeps_it_running(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("q", ["t"])
    TopicPublisher(registry, broker.backend).publish("t", {"a": 1})

    broker.reset()

    assert broker.queues() == [] and broker.topics() == []
    assert [e.kind for e in broker.events] == [EventKind.RESET]
    MessagingBackendFactory(broker.backend).init_queue("q", ["t"])
    TopicPublisher(registry, broker.backend).publish("t", {"a": 1})
    assert len(broker.peek("q")) == 1


def test_peek_changes_neither_receive_count_nor_visibility(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    queue, _ = broker.backend.declare_queue("q")
    QueuePublisher(registry, broker.backend).publish("q", OrderCreated("o-1"))
    for _ in range(3):
        [stored] = broker.peek("q")
    assert (stored.receive_count, stored.state) == (0, "visible")

    [received] = broker.backend.retrieve_messages(queue)
    [stored] = broker.peek("q")
    assert (stored.receive_count, stored.state) == (1, "in_flight")
    assert stored.message_id == received.message_id


def test_look_inside_lists_topics_queues_counts_and_subscriptions(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    factory = MessagingBackendFactory(broker.backend)
    factory.init_queue(
        "billing", ["orders"], dlq_name="billing-dlq", filter_events=["OrderCreated"]
    )
    factory.init_queue("audit", ["orders"], raw_message_delivery=True)
    TopicPublisher(registry, broker.backend).publish("orders", OrderCreated("o-1"))
    broker.backend.retrieve_messages(broker.backend.get_queue("audit"))

    [topic] = broker.topics()
    assert (topic.name, topic.subscriptions) == ("orders", 2)
    queues = {q.name: q for q in broker.queues()}
    assert (queues["billing"].visible, queues["billing"].in_flight) == (1, 0)
    assert (queues["audit"].visible, queues["audit"].in_flight) == (0, 1)
    assert (queues["billing"].dead_letter_queue, queues["billing"].max_receive_count) == (
        "billing-dlq",
        4,
    )
    assert queues["billing-dlq"].dead_letter_sources == ("billing",)
    subscriptions = {s.queue: s for s in broker.subscriptions()}
    assert subscriptions["billing"].filter_policy is not None
    assert subscriptions["billing"].filter_policy.rules == {"manifest": ["OrderCreated"]}
    assert subscriptions["audit"].raw_message_delivery is True


def test_every_operation_reaches_observers_in_order(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    heard: list[EventKind] = []
    broker.subscribe(lambda event: heard.append(event.kind))
    queue = MessagingBackendFactory(broker.backend).init_queue("q", ["t"])
    TopicPublisher(registry, broker.backend).publish("t", {"a": 1})
    [message] = broker.backend.retrieve_messages(queue)
    broker.backend.acknowledge(message)

    assert heard == [
        EventKind.TOPIC_DECLARED,
        EventKind.QUEUE_DECLARED,
        EventKind.SUBSCRIBED,
        EventKind.PUBLISHED,
        EventKind.DELIVERED,
        EventKind.RECEIVED,
        EventKind.ACKNOWLEDGED,
    ]
    assert [e.kind for e in broker.events] == heard


def test_a_failing_observer_never_breaks_a_publish(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("view crashed")

    broker.subscribe(broken)
    broker.backend.declare_queue("q")
    QueuePublisher(registry, broker.backend).publish("q", {"a": 1})
    assert len(broker.peek("q")) == 1


def test_event_log_is_bounded_and_keeps_the_newest() -> None:
    with SimulatedBroker(max_events=5) as broker:
        for i in range(4):
            broker.backend.declare_queue(f"q{i}")
        assert len(broker.events) == 4
        for i in range(4, 8):
            broker.backend.declare_queue(f"q{i}")
        assert len(broker.events) == 5
        assert [e.queue for e in broker.events] == [f"q{i}" for i in range(3, 8)]
        assert [e.seq for e in broker.events] == [4, 5, 6, 7, 8]


def test_unsubscribed_observer_hears_nothing_more(broker: SimulatedBroker) -> None:
    heard: list[object] = []
    unsubscribe = broker.subscribe(heard.append)
    broker.backend.declare_queue("a")
    unsubscribe()
    broker.backend.declare_queue("b")
    assert len(heard) == 1
