"""What the lab keeps of melange 7.2.0 beyond its own suite: module paths and names, shapes,
lookups, backends written for melange, the testing recipe, FIFO defaults, one broker per
process, and payloads too deep for the recursion limit (issue 13 item 8)."""

from __future__ import annotations

import base64
import collections.abc
import datetime
import importlib
import json
import pickle
import threading
import typing
import uuid
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
import pytz
from simple_cqrs.domain_event import DomainEvent

from melange_lab import (
    Consumer,
    MessageDispatcher,
    MessagingBackendFactory,
    QueuePublisher,
    SimpleMessageDispatcher,
    SimulatedBroker,
    TopicPublisher,
)
from melange_lab.backends import InMemoryMessagingBackend, MessagingBackend, link_synchronously
from melange_lab.errors import (
    DeserializationFailed,
    MelangeLabError,
    QueueNotFound,
    SerializationFailed,
    UnsafePickle,
)
from melange_lab.models import Message, MessageDto, QueueWrapper, TopicWrapper
from melange_lab.serializers import JsonSerializer, PickleSerializer, SerializerRegistry

# Every public module path and name of melange 7.2.0 that the lab provides (melange's
# KafkaBackend, RabbitMQ backend, RedisCache and SNS signature validator are left out on
# purpose: see README "How it maps to melange").
MELANGE_NAMES = {
    "": "QueuePublisher TopicPublisher MessagingBackendFactory Consumer SingleDispatchConsumer "
    "consumer MessageDispatcher SimpleMessageDispatcher",
    "publishers": "QueuePublisher TopicPublisher",
    "consumers": "Consumer SingleDispatchConsumer consumer",
    "message_dispatcher": "MessageDispatcher SimpleMessageDispatcher",
    "models": "Message QueueWrapper TopicWrapper",
    "exceptions": "SerializationError",
    "utils": "get_fully_qualified_name",
    "helpers.typing": "T",
    "infrastructure.cache": "DeduplicationCache NullCache",
    "serializers": "Serializer JsonSerializer PickleSerializer SerializerRegistry",
    "serializers.interfaces": "Serializer",
    "serializers.json": "JsonSerializer",
    "serializers.pickle": "PickleSerializer",
    "serializers.registry": "SerializerRegistry sort default_settings ClassSerializer",
    "backends": "link_synchronously InMemoryMessagingBackend MessagingBackend BackendManager "
    "LocalSQSBackend AWSBackend",
    "backends.interfaces": "MessagingBackend",
    "backends.backend_manager": "BackendManager",
    "backends.factory": "MessagingBackendFactory",
    "backends.testing": "InMemoryMessagingBackend link_synchronously",
    "backends.sqs.localsqs": "LocalSQSBackend",
    "backends.sqs.sqs_backend": "BaseSQSBackend AWSBackend",
}


@pytest.mark.parametrize("module", sorted(MELANGE_NAMES))
def test_melange_module_paths_and_names_exist_under_melange_lab(module: str) -> None:
    imported = importlib.import_module("melange_lab" + (f".{module}" if module else ""))
    for name in MELANGE_NAMES[module].split():
        assert hasattr(imported, name), f"melange_lab.{module} lacks {name}"


# -- models --------------------------------------------------------------------------------


def test_message_takes_melange_positional_order_and_create_takes_metadata() -> None:
    message = Message("id-1", "body", {"raw": 1}, 2, "OrderCreated")
    assert (message.serializer_id, message.manifest, message.metadata) == (
        2,
        "OrderCreated",
        {"raw": 1},
    )
    created = Message.create("body", "OrderCreated", 2, metadata="meta")
    assert created == Message(None, "body", "meta", 2, "OrderCreated")


def test_wrappers_have_melange_shape_and_keep_the_lab_handles() -> None:
    opaque = object()
    queue = QueueWrapper(opaque)
    assert queue.unwrapped_obj is opaque and queue.unwrap() is opaque
    assert TopicWrapper(opaque).unwrapped_obj is opaque
    lab = QueueWrapper("orders.fifo", "http://sqs/orders.fifo", {"FifoQueue": "true"})
    assert (lab.name, lab.url, lab.is_fifo) == ("orders.fifo", "http://sqs/orders.fifo", True)
    assert lab.unwrapped_obj.attributes == {"FifoQueue": "true"} == lab.attributes
    assert TopicWrapper("t", "arn:t").unwrap().arn == "arn:t"
    assert lab == QueueWrapper("orders.fifo", "http://sqs/orders.fifo")  # attributes not compared


# -- the registry ----------------------------------------------------------------------------


class Event:
    pass


class Paid(Event):
    def __init__(self, at: datetime.datetime | None = None) -> None:
        self.at = at


def test_typing_aliases_bind_like_their_plain_classes_as_melange_issubclass_does() -> None:
    registry = SerializerRegistry(
        {
            "serializers": {"json": JsonSerializer, "pickle": PickleSerializer},
            "serializer_bindings": {
                typing.Dict: "json",  # noqa: UP006  (melange's default settings write it so)
                typing.Sequence: "json",
                Event: "pickle",
            },
        }
    )
    assert registry.serializer_for(dict) is JsonSerializer
    assert registry.serializer_for(collections.OrderedDict) is JsonSerializer
    assert registry.serializer_for(list) is JsonSerializer  # a virtual Sequence
    assert registry.serializer_for(typing.Dict[str, int]) is JsonSerializer  # noqa: UP006
    assert isinstance(registry.find_serializer_for({"a": 1}), JsonSerializer)
    assert registry.serializer_for(Paid) is PickleSerializer


def test_lookups_return_what_melange_returns_the_configured_serializer() -> None:
    instance = PickleSerializer(allowed=[Paid])
    registry = SerializerRegistry(
        {"serializers": {"json": JsonSerializer, "pickle": instance}, "default": "pickle"}
    )
    assert registry.get_serializer_by_id(1) is JsonSerializer
    assert registry.get_serializer_by_name("json") is JsonSerializer
    assert registry.get_serializer_by_id(2) is instance  # given as an instance, kept as one
    assert registry.serializer_for(Paid) is instance
    with pytest.raises(DeserializationFailed, match="no serializer with id 9"):
        registry.get_serializer_by_id(9)


# -- pickle: what bound classes need by value, and nothing else ------------------------------


class Shipped(DomainEvent):  # type: ignore[misc]
    def __init__(self, order: str, zone: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.order = order
        self.zone = zone
        self.lines = collections.OrderedDict(a=[1, 2], b={3, 4})
        self.when = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=2)))


def domain_event_registry() -> SerializerRegistry:
    return SerializerRegistry(
        {
            "serializers": {"pickle": PickleSerializer},
            "serializer_bindings": {DomainEvent: "pickle"},
        }
    )


@pytest.mark.parametrize(
    "zone", [None, pytz.timezone("Europe/Madrid"), zoneinfo.ZoneInfo("America/Lima")]
)
def test_domain_events_with_time_zones_cross_the_broker_when_domain_event_is_bound(
    zone: Any,
) -> None:
    broker = SimulatedBroker.default()
    broker.backend.declare_queue("shipping")
    QueuePublisher(domain_event_registry(), broker.backend).publish(
        "shipping", Shipped("A1", zone, correlation_id="c-1")
    )
    received: list[Shipped] = []
    # a consumer with a registry of its own, as a separate melange service would have
    dispatcher = SimpleMessageDispatcher(
        Consumer(on_message=received.append), domain_event_registry(), backend=broker.backend
    )
    assert dispatcher.consume_loop("shipping").processed == 1
    event = received[0]
    assert event.occurred_on.tzinfo is pytz.utc and event.correlation_id == "c-1"
    assert event.zone == zone and event.lines["b"] == {3, 4}


def _pickled(value: Any) -> str:
    return base64.b64encode(pickle.dumps(value)).decode()


class Unbound:
    def __init__(self) -> None:
        self.marker = len  # a global that is not a class


def test_unsafe_pickle_error_suggests_a_fix_that_works() -> None:
    text = _pickled(Unbound())
    strict = domain_event_registry()
    with pytest.raises(UnsafePickle) as error:
        strict.deserialize_with_serializerid(text, 2)
    assert f'PickleSerializer(allowed=["{__name__}.Unbound"])' in str(error.value)
    # the suggestion, applied; then the next refused global, a function, the same way
    allowed = [f"{__name__}.Unbound"]
    with pytest.raises(UnsafePickle, match=r'allowed=\["builtins.len"\]'):
        SerializerRegistry(
            {"serializers": {"pickle": PickleSerializer(allowed=allowed)}}
        ).deserialize_with_serializerid(text, 2)
    fixed = SerializerRegistry(
        {"serializers": {"pickle": PickleSerializer(allowed=[*allowed, "builtins.len"])}}
    )
    assert fixed.deserialize_with_serializerid(text, 2).marker is len


def test_allowed_accepts_classes_functions_and_dotted_names() -> None:
    assert PickleSerializer(allowed=[Unbound, len]).deserialize(_pickled(Unbound())).marker is len


def test_pickle_still_refuses_code_running_globals() -> None:
    class Exploit:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (eval, ("1 + 1",))

    with pytest.raises(UnsafePickle, match=r"builtins\.eval"):
        domain_event_registry().deserialize_with_serializerid(_pickled(Exploit()), 2)


def test_a_pickle_serializer_reads_back_the_types_it_wrote() -> None:
    # melange's own test_pickleserializer does this with a bare PickleSerializer()
    serializer = PickleSerializer()
    assert isinstance(serializer.deserialize(serializer.serialize(Paid())), Paid)
    with pytest.raises(UnsafePickle):
        PickleSerializer().deserialize(serializer.serialize(Paid()))


# -- too deep for the recursion limit (issue 13 item 8) --------------------------------------


def _deep(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("serializer", [JsonSerializer, PickleSerializer])
def test_a_payload_deeper_than_the_recursion_limit_raises_serialization_failed(
    serializer: type[JsonSerializer] | type[PickleSerializer],
) -> None:
    broker = SimulatedBroker.default()
    broker.backend.declare_queue("deep")
    registry = SerializerRegistry({"serializers": {"s": serializer}, "default": "s"})
    with pytest.raises(SerializationFailed, match="nested too deeply"):
        QueuePublisher(registry, broker.backend).publish("deep", _deep(100_000))
    assert broker.peek("deep") == []


def test_a_100000_deep_json_text_raises_deserialization_failed() -> None:
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(DeserializationFailed, match="nested too deeply"):
        JsonSerializer().deserialize(text)


def test_a_100000_deep_message_body_is_a_failed_message_not_a_crash() -> None:
    broker = SimulatedBroker.default()
    queue, _ = broker.backend.declare_queue("deep-in")
    sqs = broker.backend._sqs  # a raw send, as a non-melange producer would
    sqs.send_message(QueueUrl=queue.url, MessageBody="[" * 100_000 + "]" * 100_000)
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    errors: list[BaseException] = []
    summary = SimpleMessageDispatcher(
        Consumer(print), registry, backend=broker.backend
    ).consume_loop("deep-in", errors.append)
    assert (summary.failed, summary.acknowledged) == (1, 0)
    assert isinstance(errors[0], DeserializationFailed)


# -- backends written against melange's interface --------------------------------------------


class MelangeStyleBackend(MessagingBackend):
    """Only melange 7.2.0's methods, with queues as plain strings (melange treats them as
    opaque), as a melange user's own backend would be written."""

    def __init__(self) -> None:
        super().__init__()
        self.queues: dict[str, list[Message]] = {}
        self.acknowledged: list[str | None] = []

    def declare_topic(self, topic_name: str) -> TopicWrapper:
        return TopicWrapper(topic_name)

    def get_queue(self, queue_name: str) -> Any:
        return queue_name

    def declare_queue(
        self, queue_name: str, *topics: TopicWrapper, dead_letter_queue_name: Any = None, **_: Any
    ) -> Any:
        self.queues.setdefault(queue_name, [])
        return queue_name, None

    def publish_to_queue(self, message: Message, queue: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.queues[queue].append(
            Message(
                str(uuid.uuid4()), message.content, None, message.serializer_id, message.manifest
            )
        )

    def retrieve_messages(self, queue: Any, **kwargs: Any) -> list[Message]:
        taken, self.queues[queue] = self.queues[queue], []
        return taken

    def yield_messages(self, queue: Any, **kwargs: Any) -> Iterator[Message]:
        yield from self.retrieve_messages(queue)

    def acknowledge(self, message: Message) -> None:
        self.acknowledged.append(message.message_id)


def test_a_backend_written_for_melange_is_instantiable_and_dispatches_opaque_queues() -> None:
    backend = MelangeStyleBackend()
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    MessagingBackendFactory(backend).init_queue("inbox")
    publisher = QueuePublisher(registry, backend)
    publisher.publish("inbox", {"n": 1})
    backend.publish_to_queue_batch(  # the lab's batch publish, by default one by one
        [MessageDto(Message.create(json.dumps({"n": 2}), "json", 1))], backend.get_queue("inbox")
    )
    seen: list[Any] = []
    dispatcher = MessageDispatcher(registry, backend=backend)
    dispatcher.attach_consumer(Consumer(on_message=seen.append))
    assert dispatcher.consume_event("inbox").processed == 2
    assert seen == [{"n": 1}, {"n": 2}] and len(backend.acknowledged) == 2
    publisher.publish("inbox", {"n": 3})
    assert dispatcher.consume_loop("inbox").processed == 1
    with pytest.raises(NotImplementedError, match="MelangeStyleBackend does not implement"):
        backend.delete_topic(backend.declare_topic("t"))


# -- the in-memory backend: melange's testing helper, with fan-out ---------------------------


def test_in_memory_backend_fans_a_topic_out_to_its_subscribed_queues_with_filters() -> None:
    backend = InMemoryMessagingBackend()
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    factory = MessagingBackendFactory(backend)
    factory.init_queue("all", ["orders"])
    factory.init_queue("only-json", ["orders"], filter_events=["json"])
    factory.init_queue("only-xml", ["orders"], filter_events=["xml"])
    seen: list[Any] = []
    link_synchronously("all", [Consumer(on_message=seen.append)], registry, backend)
    TopicPublisher(registry, backend).publish("orders", {"id": 1})
    assert seen == [{"id": 1}] and backend.messages("all") == []  # handled, acknowledged
    assert [m.content for m in backend.messages("only-json")] == ['{"id": 1}']
    assert backend.messages("only-xml") == []
    with pytest.raises(QueueNotFound):
        QueuePublisher(registry, backend).publish("nowhere", {"id": 2})


def test_in_memory_backend_keeps_a_message_whose_consumer_failed() -> None:
    backend = InMemoryMessagingBackend()
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})

    def fail(message: Any) -> None:
        raise RuntimeError("boom")

    link_synchronously("inbox", [Consumer(on_message=fail)], registry, backend)
    QueuePublisher(registry, backend).publish("inbox", {"id": 1})
    assert [m.content for m in backend.messages("inbox")] == ['{"id": 1}']


# -- the testing recipe, and loops that end ---------------------------------------------------


def _recipe_once(broker: SimulatedBroker, late: float) -> tuple[threading.Thread, list[Any]]:
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    MessagingBackendFactory(broker.backend).init_queue("recipe")
    seen: list[Any] = []
    dispatcher = SimpleMessageDispatcher(
        Consumer(on_message=seen.append), registry, backend=broker.backend
    )
    thread = threading.Thread(target=dispatcher.consume_loop, args=("recipe",), daemon=True)
    thread.start()
    threading.Event().wait(late)  # the publish comes after the loop found the queue empty
    QueuePublisher(registry, broker.backend).publish("recipe", {"value": 1})
    return thread, seen


def test_consume_loop_in_a_thread_waits_for_a_late_publish_and_ends_with_the_broker() -> None:
    broker = SimulatedBroker.default()
    thread, seen = _recipe_once(broker, late=0.3)
    for _ in range(200):
        if seen:
            break
        threading.Event().wait(0.05)
    assert seen == [{"value": 1}] and thread.is_alive()
    broker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_consume_loop_on_the_main_thread_returns_when_drained_and_idle_limit_is_explicit() -> None:
    broker = SimulatedBroker.default()
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    MessagingBackendFactory(broker.backend).init_queue("q")
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    assert dispatcher.consume_loop("q").stopped_because == "drained"
    assert dispatcher.consume_loop("q", idle_limit=0.1).stopped_because == "idle_limit"
    with pytest.raises(MelangeLabError, match="idle_limit must be 0 or more"):
        dispatcher.consume_loop("q", idle_limit=-1)
    results: list[str] = []
    thread = threading.Thread(
        target=lambda: results.append(dispatcher.consume_loop("q", idle_limit=0).stopped_because)
    )
    thread.start()
    thread.join(timeout=10)
    assert results == ["drained"]


# -- FIFO defaults as melange's ----------------------------------------------------------------


def test_fifo_queue_and_dlq_get_content_based_deduplication_yet_publishes_stay_distinct() -> None:
    broker = SimulatedBroker.default()
    queue, dlq = broker.backend.declare_queue("pay.fifo", dead_letter_queue_name="pay-dlq.fifo")
    assert dlq is not None
    for wrapper in (queue, dlq):
        assert wrapper.attributes["ContentBasedDeduplication"] == "true"
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    publisher = QueuePublisher(registry, broker.backend)
    for _ in range(2):  # melange sends a fresh deduplication id with each publish
        publisher.publish("pay.fifo", {"same": "body"}, message_group_id="g")
    assert len(broker.peek("pay.fifo")) == 2
    broker.backend.declare_queue("asked.fifo", content_based_deduplication=True)
    for _ in range(2):  # asked for explicitly: the body is the id, as SQS does
        publisher.publish("asked.fifo", {"same": "body"}, message_group_id="g")
    assert len(broker.peek("asked.fifo")) == 1
    off, _ = broker.backend.declare_queue("off.fifo", content_based_deduplication=False)
    assert "ContentBasedDeduplication" not in off.attributes or (
        off.attributes["ContentBasedDeduplication"] == "false"
    )


# -- one broker per process --------------------------------------------------------------------


def test_default_broker_is_shared_and_refuses_other_settings() -> None:
    assert SimulatedBroker.current() is None
    first = SimulatedBroker.default()
    assert SimulatedBroker.default() is first is SimulatedBroker.current()
    with pytest.raises(MelangeLabError, match="other settings than the live broker"):
        SimulatedBroker.default(clock="manual")
    first.stop()
    assert SimulatedBroker.current() is None
    second = SimulatedBroker.default(clock="manual")
    assert second is not first and second.clock.mode == "manual"


def test_consume_loop_on_a_backend_that_never_drains_is_melange_one_pass() -> None:
    class Repeating(MelangeStyleBackend):
        """retrieve_messages hands out the same message forever (as a test double can)."""

        def retrieve_messages(self, queue: Any, **kwargs: Any) -> list[Message]:
            return [Message("m-1", json.dumps({"n": 1}), None, 1, "json")]

        def yield_messages(self, queue: Any, **kwargs: Any) -> Iterator[Message]:
            yield from self.retrieve_messages(queue)

    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    dispatcher = MessageDispatcher(registry, backend=Repeating())
    dispatcher.attach_consumer(Consumer(on_message=print))
    assert dispatcher.consume_loop("inbox").processed == 1


def test_consume_event_on_a_fifo_queue_holds_a_group_back_after_a_failure() -> None:
    broker = SimulatedBroker.default()
    broker.backend.declare_queue("ledger.fifo")
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    publisher = QueuePublisher(registry, broker.backend)
    for n in (1, 2):
        publisher.publish("ledger.fifo", {"n": n}, message_group_id="account-7")
    seen: list[Any] = []

    def refuse_the_first(message: Any) -> None:
        if message["n"] == 1:
            raise RuntimeError("not yet")
        seen.append(message)

    dispatcher = SimpleMessageDispatcher(
        Consumer(on_message=refuse_the_first), registry, backend=broker.backend
    )
    summary = dispatcher.consume_event("ledger.fifo")
    assert (summary.failed, summary.processed) == (1, 0) and seen == []
