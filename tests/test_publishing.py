"""Publishing through melange's API: the seed snippets, fan-out, and every mistake explained."""

from __future__ import annotations

import pytest

from melange_lab import MessagingBackendFactory, QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.backends import BackendManager
from melange_lab.errors import (
    InvalidFilterPolicy,
    InvalidName,
    MelangeLabError,
    MessageTooLarge,
    MissingMessageGroupId,
    NoDefaultBackend,
    QueueNotFound,
    SerializationFailed,
    SerializerNotFound,
)
from melange_lab.events import EventKind
from melange_lab.serializers import PickleSerializer, SerializerRegistry
from tests.messages import OrderCreated


class DomainEvent:
    pass


class MyTestMessage:
    def __init__(self, message: str) -> None:
        self.message = message


def test_first_seed_snippet_as_written_names_the_unbound_type_and_both_fixes(
    broker: SimulatedBroker,
) -> None:
    registry = SerializerRegistry(
        {
            "serializers": {"pickle": PickleSerializer},
            "serializer_bindings": {DomainEvent: "pickle"},
        }
    )
    MessagingBackendFactory(broker.backend).init_queue("melangetutorial-queue")
    publisher = QueuePublisher(registry, broker.backend)

    with pytest.raises(SerializerNotFound) as raised:
        publisher.publish("melangetutorial-queue", MyTestMessage("Hello World!"))

    text = str(raised.value)
    assert "MyTestMessage" in text and "DomainEvent -> 'pickle'" in text
    assert '"serializer_bindings"' in text and '"default"' in text
    assert broker.queues()[0].total == 0


def test_first_seed_snippet_with_the_type_bound_puts_the_message_in_the_queue(
    broker: SimulatedBroker,
) -> None:
    registry = SerializerRegistry(
        {
            "serializers": {"pickle": PickleSerializer},
            "serializer_bindings": {MyTestMessage: "pickle"},
        }
    )
    MessagingBackendFactory(broker.backend).init_queue("melangetutorial-queue")

    QueuePublisher(registry, broker.backend).publish(
        "melangetutorial-queue", MyTestMessage("Hello World!")
    )

    [stored] = broker.peek("melangetutorial-queue")
    assert stored.payload.message == "Hello World!"
    assert stored.manifest == "MyTestMessage" and stored.serializer_id == 2


def test_topic_publish_puts_one_copy_in_each_subscribed_queue(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    factory = MessagingBackendFactory(broker.backend)
    for name in ("billing", "shipping", "audit"):
        factory.init_queue(name, ["orders"])

    TopicPublisher(registry, broker.backend).publish("orders", OrderCreated("o-1", 30))

    for name in ("billing", "shipping", "audit"):
        [stored] = broker.peek(name)
        assert stored.payload == OrderCreated("o-1", 30)
        assert stored.envelope is not None and stored.envelope["TopicArn"].endswith(":orders")


def test_filtered_subscription_gets_only_what_its_policy_allows(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    factory = MessagingBackendFactory(broker.backend)
    factory.init_queue("everything", ["orders"])
    factory.init_queue("orders-only", ["orders"], filter_events=["OrderCreated"])
    publisher = TopicPublisher(registry, broker.backend)

    publisher.publish("orders", OrderCreated("o-1"))
    publisher.publish("orders", {"note": "not an order"})

    assert [m.manifest for m in broker.peek("everything")] == ["OrderCreated", "json"]
    assert [m.manifest for m in broker.peek("orders-only")] == ["OrderCreated"]
    [filtered] = broker.events.of_kind(EventKind.FILTERED)
    assert filtered.queue == "orders-only"
    assert filtered.reason is not None and "'json'" in filtered.reason


def test_publishing_to_a_missing_queue_says_how_to_declare_it(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("present")
    with pytest.raises(QueueNotFound) as raised:
        QueuePublisher(registry, broker.backend).publish("absent", {"a": 1})
    assert "'absent'" in str(raised.value) and "'present'" in str(raised.value)
    assert "declare_queue('absent')" in str(raised.value)
    assert raised.value.aws_code == "AWS.SimpleQueueService.NonExistentQueue"


def test_a_payload_the_serializer_cannot_encode_leaves_nothing_behind(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("q")
    with pytest.raises(SerializationFailed, match="json serializer cannot encode a dict"):
        QueuePublisher(registry, broker.backend).publish("q", {"ids": {1, 2}})
    with pytest.raises(SerializationFailed):
        TopicPublisher(registry, broker.backend).publish("never-created", {"ids": {1, 2}})
    assert broker.peek("q") == []
    assert broker.topics() == []


@pytest.mark.parametrize("name", ["", "has space", "x" * 81, "dots.not.allowed", "ünïcode"])
def test_invalid_queue_names_are_refused_with_the_rule(broker: SimulatedBroker, name: str) -> None:
    with pytest.raises(InvalidName, match="letters, digits, hyphens or underscores"):
        broker.backend.declare_queue(name)
    assert broker.queues() == []


def test_invalid_topic_name_is_refused_before_anything_is_created(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    with pytest.raises(InvalidName, match="Invalid topic name"):
        TopicPublisher(registry, broker.backend).publish("bad topic", {"a": 1})
    assert broker.topics() == []


def test_fifo_publish_without_a_group_id_is_refused(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("orders.fifo")
    with pytest.raises(MissingMessageGroupId, match="message_group_id="):
        QueuePublisher(registry, broker.backend).publish("orders.fifo", {"a": 1})
    assert broker.peek("orders.fifo") == []


def test_fifo_topic_publish_without_a_group_id_is_refused(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    with pytest.raises(MissingMessageGroupId):
        TopicPublisher(registry, broker.backend).publish("orders.fifo", {"a": 1})


def test_a_message_over_the_size_limit_is_refused_and_not_sent(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    broker.backend.declare_queue("q")
    with pytest.raises(MessageTooLarge) as raised:
        QueuePublisher(registry, broker.backend).publish("q", {"blob": "x" * 1_100_000})
    assert raised.value.size > raised.value.limit == 1_048_576
    assert broker.peek("q") == []


def test_a_topic_message_over_the_sns_limit_is_refused(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    with pytest.raises(MessageTooLarge, match="262,144"):
        TopicPublisher(registry, broker.backend).publish("t", {"blob": "x" * 300_000})


def test_an_invalid_filter_policy_is_explained_and_creates_no_queue(
    broker: SimulatedBroker,
) -> None:
    topic = broker.backend.declare_topic("orders")
    with pytest.raises(InvalidFilterPolicy, match="not valid JSON"):
        broker.backend.declare_queue("billing", topic, filter_policy="{manifest: [}")
    with pytest.raises(InvalidFilterPolicy, match="must be a list"):
        broker.backend.declare_queue("billing", topic, filter_events="OrderCreated")  # type: ignore[arg-type]
    assert broker.queues() == []
    assert broker.subscriptions() == []


def test_publishers_without_a_backend_need_a_default(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    BackendManager().reset()
    with pytest.raises(NoDefaultBackend, match="set_default_backend"):
        QueuePublisher(registry)

    BackendManager().set_default_backend(broker.backend)
    broker.backend.declare_queue("q")
    QueuePublisher(registry).publish("q", {"a": 1})
    assert [m.payload for m in broker.peek("q")] == [{"a": 1}]


def test_batch_publish_checks_every_message_before_sending_any(
    broker: SimulatedBroker,
) -> None:
    from melange_lab.models import Message, MessageDto

    queue, _ = broker.backend.declare_queue("q.fifo")
    good = MessageDto(Message.create('{"a": 1}', "json", 1), message_group_id="g")
    bad = MessageDto(Message.create('{"a": 2}', "json", 1))
    with pytest.raises(MissingMessageGroupId):
        broker.backend.publish_to_queue_batch([good, bad], queue)
    assert broker.peek("q.fifo") == []

    ids = broker.backend.publish_to_queue_batch([good] * 12, queue)
    assert len(ids) == 12 and len(broker.peek("q.fifo")) == 12


def test_a_standard_queue_and_topic_take_a_group_id_as_fair_queues_do(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    """Since 2025 SQS accepts MessageGroupId on standard queues (fair queues: the tenant), and
    SNS passes a standard topic's on to them (AWS's recorded answers); no deduplication id."""
    MessagingBackendFactory(broker.backend).init_queue("tenants", ["signups"])
    QueuePublisher(registry, broker.backend).publish("tenants", {"a": 1}, message_group_id="t1")
    TopicPublisher(registry, broker.backend).publish("signups", {"a": 2}, message_group_id="t2")
    assert sorted(m.message_group_id or "" for m in broker.peek("tenants")) == ["t1", "t2"]
    with pytest.raises(MelangeLabError, match="message_deduplication_id"):
        QueuePublisher(registry, broker.backend).publish(
            "tenants", {"a": 3}, message_deduplication_id="d"
        )
