"""Hostile input: every bad value gets a typed error naming it and the fix, and changes nothing.

Each case is a call a learner could type; each must raise a ``MelangeLabError`` whose message
names the value, before any queue, topic or message exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from melange_lab import (
    MelangeLabError,
    MessageDispatcher,
    QueuePublisher,
    RemoteBroker,
    SimulatedBroker,
    TopicPublisher,
)
from melange_lab.backends import LocalSQSBackend
from melange_lab.errors import InvalidParameter, MessageTooLarge, UnknownOption
from melange_lab.events import EventLog
from melange_lab.models import Message, MessageDto
from melange_lab.serializers import SerializerRegistry

NAN, INF = math.nan, math.inf
Call = Callable[[SimulatedBroker, SerializerRegistry], Any]


def _declare(**options: Any) -> Call:
    return lambda broker, _: broker.backend.declare_queue("q", **options)


def _declare_fifo(**options: Any) -> Call:
    return lambda broker, _: broker.backend.declare_queue("q.fifo", **options)


def _publish(queue: str = "plain", **options: Any) -> Call:
    return lambda broker, registry: QueuePublisher(registry, broker.backend).publish(
        queue, {"n": 1}, **options
    )


def _publish_topic(topic: str = "news", **options: Any) -> Call:
    return lambda broker, registry: TopicPublisher(registry, broker.backend).publish(
        topic, {"n": 1}, **options
    )


def _receive(**options: Any) -> Call:
    return lambda broker, _: broker.backend.retrieve_messages(
        broker.backend.get_queue("plain"), **options
    )


def _consume(method: str, *args: Any, **options: Any) -> Call:
    def call(broker: SimulatedBroker, registry: SerializerRegistry) -> Any:
        dispatcher = MessageDispatcher(registry, backend=broker.backend)
        return getattr(dispatcher, method)(*args, **options)

    return call


BAD_CALLS: dict[str, tuple[Call, str]] = {
    # queue settings, each out of SQS's range or of the wrong type
    "retention 0 (every message would vanish)": (_declare(message_retention_period=0), "0"),
    "retention 59": (_declare(message_retention_period=59), "59"),
    "retention over 14 days": (_declare(message_retention_period=1_209_601), "1209601"),
    "retention as a string": (_declare(message_retention_period="60"), "'60'"),
    "retention NaN": (_declare(message_retention_period=NAN), "nan"),
    "visibility -1": (_declare(visibility_timeout=-1), "-1"),
    "visibility over 12 h": (_declare(visibility_timeout=43_201), "43201"),
    "visibility inf": (_declare(visibility_timeout=INF), "inf"),
    "visibility a float": (_declare(visibility_timeout=1.5), "1.5"),
    "visibility a bool": (_declare(visibility_timeout=True), "True"),
    "delay over 900": (_declare(delay_seconds=901), "901"),
    "delay negative": (_declare(delay_seconds=-5), "-5"),
    "max_receive_count 0": (_declare(max_receive_count=0, dead_letter_queue_name="d"), "0"),
    "max_receive_count 1001": (
        _declare(max_receive_count=1001, dead_letter_queue_name="d"),
        "1001",
    ),
    "max_receive_count '3'": (_declare(max_receive_count="3", dead_letter_queue_name="d"), "'3'"),
    "raw_message_delivery 'yes'": (_declare(raw_message_delivery="yes"), "'yes'"),
    "content dedup on a standard queue": (_declare(content_based_deduplication=True), "True"),
    "queue as its own dead-letter queue": (_declare(dead_letter_queue_name="q"), "'q'"),
    "a topic name where a topic goes": (lambda b, _: b.backend.declare_queue("q", "news"), "news"),
    "unknown declare option": (_declare(visiblity_timeout=5), "visiblity_timeout"),
    "empty queue name": (lambda b, _: b.backend.declare_queue(""), "''"),
    "queue name of 81 characters": (lambda b, _: b.backend.declare_queue("q" * 81), "q" * 20),
    "queue name with a space": (lambda b, _: b.backend.declare_queue("my queue"), "my queue"),
    "queue name not a string": (lambda b, _: b.backend.declare_queue(42), "42"),
    "topic name with a slash": (lambda b, _: b.backend.declare_topic("a/b"), "a/b"),
    "content dedup on a standard topic": (
        lambda b, _: b.backend.declare_topic("t", content_based_deduplication=True),
        "True",
    ),
    # publishing
    "unknown publish keyword": (_publish(colour="red"), "colour"),
    "message delay 901": (_publish(delay_seconds=901), "901"),
    "message delay NaN": (_publish(delay_seconds=NAN), "nan"),
    "message delay on a FIFO queue": (
        _publish("ordered.fifo", message_group_id="g", delay_seconds=5),
        "5",
    ),
    "group id of 129 characters": (_publish("ordered.fifo", message_group_id="g" * 129), "g" * 20),
    "group id with a space": (_publish("ordered.fifo", message_group_id="a b"), "a b"),
    "group id not a string": (_publish("ordered.fifo", message_group_id=7), "7"),
    "dedup id with a non-ASCII letter": (
        _publish("ordered.fifo", message_group_id="g", message_deduplication_id="é"),
        "é",
    ),
    "dedup id on a standard queue": (
        _publish(message_deduplication_id="d"),
        "message_deduplication_id",
    ),
    "unknown topic keyword": (_publish_topic(colour="red"), "colour"),
    "subject with a line break": (_publish_topic(subject="a\nb"), "a\\nb"),
    "subject of 100 characters": (_publish_topic(subject="s" * 100), "s" * 20),
    "message_structure other than json": (_publish_topic(message_structure="xml"), "xml"),
    "attribute value None": (_publish_topic(message_attributes={"a": None}), "None"),
    "attribute name starting AWS.": (_publish_topic(message_attributes={"AWS.x": "1"}), "AWS.x"),
    "attributes not a dict": (_publish_topic(message_attributes=["a"]), "['a']"),
    "eleven attributes": (
        _publish_topic(message_attributes={f"a{i}": "v" for i in range(11)}),
        "a10",
    ),
    "dedup id on a standard topic": (
        _publish_topic(message_deduplication_id="d"),
        "message_deduplication_id",
    ),
    "batch of things that are not MessageDtos": (
        lambda b, _: b.backend.publish_to_queue_batch(
            [Message.create("{}")],  # type: ignore[list-item]
            b.backend.get_queue("plain"),
        ),
        "Message(",
    ),
    # receiving
    "receive 0 messages": (_receive(max_messages=0), "0"),
    "receive 11 messages": (_receive(max_messages=11), "11"),
    "receive wait 21": (_receive(wait_time_seconds=21), "21"),
    "receive wait NaN": (_receive(wait_time_seconds=NAN), "nan"),
    "receive visibility -1": (_receive(visibility_timeout=-1), "-1"),
    "receive visibility '30'": (_receive(visibility_timeout="30"), "'30'"),
    "receive unknown keyword": (_receive(wait=1), "wait"),
    "receive from a queue name": (lambda b, _: b.backend.retrieve_messages("plain"), "plain"),
    "yield max_messages -1": (
        lambda b, _: b.backend.yield_messages(b.backend.get_queue("plain"), max_messages=-1),
        "-1",
    ),
    "change visibility past 12 h": (
        lambda b, _: b.backend.change_message_visibility(Message.create("x"), 43_201),
        "43201",
    ),
    # dispatchers
    "consume_loop max_messages 0": (_consume("consume_loop", "plain", max_messages=0), "0"),
    "consume_loop max_messages '5'": (_consume("consume_loop", "plain", max_messages="5"), "'5'"),
    "consume_loop time_limit NaN": (_consume("consume_loop", "plain", time_limit=NAN), "nan"),
    "consume_loop time_limit -1": (_consume("consume_loop", "plain", time_limit=-1), "-1"),
    "consume_loop on_exception not callable": (
        _consume("consume_loop", "plain", on_exception="print"),
        "'print'",
    ),
    "consume_loop unknown keyword": (_consume("consume_loop", "plain", limit=3), "limit"),
    "consume_once max_messages True": (
        _consume("consume_once", "plain", max_messages=True),
        "True",
    ),
    "start poll_interval 0 (a busy loop)": (_consume("start", "plain", poll_interval=0), "0"),
    "stop timeout inf": (_consume("stop", timeout=INF), "inf"),
    "topic message that is not text": (
        lambda b, _: b.backend.publish_to_topic(
            Message.create({"a": 1}), b.backend.declare_topic("news")
        ),
        "{'a': 1}",
    ),
    "empty topic message": (
        lambda b, _: b.backend.publish_to_topic(
            Message.create(""), b.backend.declare_topic("news")
        ),
        "''",
    ),
    "queue message content json cannot encode": (
        lambda b, _: b.backend.publish_to_queue(
            Message.create(object()), b.backend.get_queue("plain")
        ),
        "object",
    ),
    # handles of the wrong kind
    "delete_queue with a name": (lambda b, _: b.backend.delete_queue("plain"), "'plain'"),
    "delete_topic with a name": (lambda b, _: b.backend.delete_topic("news"), "'news'"),
    "publish_to_queue with a queue name": (
        lambda b, _: b.backend.publish_to_queue(Message.create("{}"), "plain"),
        "'plain'",
    ),
    "publish_to_queue with a dict": (
        lambda b, _: b.backend.publish_to_queue({"n": 1}, b.backend.get_queue("plain")),
        "{'n': 1}",
    ),
    "publish_to_topic with a topic name": (
        lambda b, _: b.backend.publish_to_topic(Message.create("{}"), "news"),
        "'news'",
    ),
    "acknowledge a string": (lambda b, _: b.backend.acknowledge("receipt"), "'receipt'"),
    "subscribe with names": (lambda b, _: b.backend.subscribe("news", "plain"), "'news'"),
    "observer not callable": (lambda b, _: b.subscribe("print"), "'print'"),
    "attach a function as a consumer": (
        lambda b, r: MessageDispatcher(r, backend=b.backend).attach_consumer(print),
        "print",
    ),
    "dispatcher backend a string": (
        lambda b, r: MessageDispatcher(r, backend="http://localhost:4566"),
        "localhost",
    ),
    "always_ack 'yes'": (
        lambda b, r: MessageDispatcher(r, backend=b.backend, always_ack="yes"),
        "'yes'",
    ),
    # the clock and faults
    "advance NaN": (lambda b, _: b.clock.advance(NAN), "nan"),
    "advance inf": (lambda b, _: b.clock.advance(INF), "inf"),
    "advance -1": (lambda b, _: b.clock.advance(-1), "-1"),
    "advance 'x'": (lambda b, _: b.clock.advance("x"), "'x'"),
    "advance True": (lambda b, _: b.clock.advance(True), "True"),
    "advance past ten years": (lambda b, _: b.clock.advance(10**10), "10000000000"),
    "advance past any float": (lambda b, _: b.clock.advance(10**400), "about 401 digits"),
    "duplicate_rate 1.5": (lambda b, _: b.faults(duplicate_rate=1.5), "1.5"),
    "duplicate_rate '0.5'": (lambda b, _: b.faults(duplicate_rate="0.5"), "'0.5'"),
    "reorder_rate -0.1": (lambda b, _: b.faults(reorder_rate=-0.1), "-0.1"),
    "crash rate NaN": (lambda b, _: b.faults(crash_before_ack_rate=NAN), "nan"),
    "seed a string": (lambda b, _: b.faults(seed="seven"), "'seven'"),
    "faults unknown keyword": (lambda b, _: b.faults(drop_rate=0.5), "drop_rate"),
    # redrive
    "redrive into the dead-letter queue itself": (
        lambda b, _: b.redrive("plain-dlq", to_queue="plain-dlq"),
        "plain-dlq",
    ),
    "redrive unknown keyword": (lambda b, _: b.redrive("plain-dlq", target="plain"), "target"),
}


@pytest.fixture(scope="module")
def shared_broker() -> Iterator[SimulatedBroker]:
    """One broker for the whole table: a refused call changes nothing, so cases cannot leak."""
    simulated = SimulatedBroker(clock="manual", start=False)
    try:
        yield simulated
    finally:
        simulated.stop()


@pytest.fixture
def prepared(shared_broker: SimulatedBroker) -> SimulatedBroker:
    if not shared_broker.running:  # another test's broker replaced it
        shared_broker.start()
    shared_broker.backend.declare_queue("plain", dead_letter_queue_name="plain-dlq")
    shared_broker.backend.declare_queue("ordered.fifo")
    shared_broker.backend.declare_topic("news")
    return shared_broker


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_value_gets_a_typed_error_naming_it_and_creates_nothing(
    prepared: SimulatedBroker, registry: SerializerRegistry, case: str
) -> None:
    call, shown = BAD_CALLS[case]
    queues_before = [(q.name, q.total) for q in prepared.queues()]
    topics_before = [t.name for t in prepared.topics()]
    events_before = len(prepared.events)

    with pytest.raises(MelangeLabError) as raised:
        call(prepared, registry)

    assert shown in str(raised.value)
    assert [(q.name, q.total) for q in prepared.queues()] == queues_before
    assert [t.name for t in prepared.topics()] == topics_before
    assert len(prepared.events) == events_before  # nothing happened, so nothing to report
    prepared.backend.declare_queue("still-works")  # the broker stays usable


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"clock": "fast"}, "clock"),
        ({"region": "us east 1"}, "region"),
        ({"region": 5}, "region"),
        ({"max_events": -1}, "max_events"),
        ({"max_events": 0}, "max_events"),
        ({"max_events": 1.5}, "max_events"),
        ({"max_receive_count": 0}, "max_receive_count"),
        ({"max_receive_count": "4"}, "max_receive_count"),
        ({"start": "no"}, "start"),
    ],
)
def test_broker_constructor_refuses_bad_values_before_starting(
    prepared: SimulatedBroker, options: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameter, match=parameter) as raised:
        SimulatedBroker(**options)
    assert raised.value.parameter == parameter
    assert prepared.running  # the live broker was not replaced by a broker that never started
    prepared.backend.declare_queue("still-here")


def test_broker_constructor_names_an_unknown_keyword_and_its_options(
    prepared: SimulatedBroker,
) -> None:
    with pytest.raises(UnknownOption, match=r"SimulatedBroker\(\): unknown option.*'clok'.*clock"):
        SimulatedBroker(clok="manual")  # type: ignore[call-arg]
    assert prepared.running


def test_typed_errors_are_also_the_python_errors_code_expects(prepared: SimulatedBroker) -> None:
    with pytest.raises(ValueError):
        prepared.clock.advance(-1)
    with pytest.raises(TypeError):
        prepared.clock.advance("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        prepared.faults(dupe=0.5)  # type: ignore[call-arg]


def test_queue_error_keeps_the_aws_error_code(prepared: SimulatedBroker) -> None:
    with pytest.raises(InvalidParameter) as raised:
        prepared.backend.declare_queue("q", message_retention_period=0)
    assert raised.value.aws_code == "InvalidParameterValue"
    assert "60" in str(raised.value) and "1,209,600" in str(raised.value)  # the allowed range


def test_a_queue_as_its_own_dead_letter_queue_is_refused_and_nothing_is_created(
    prepared: SimulatedBroker,
) -> None:
    with pytest.raises(InvalidParameter, match="its own dead-letter queue"):
        prepared.backend.declare_queue("orders", dead_letter_queue_name="orders")
    with pytest.raises(InvalidParameter, match="its own dead-letter queue"):
        prepared.backend.declare_queue("orders.fifo", dead_letter_queue_name="orders.fifo")
    assert "orders" not in [q.name for q in prepared.queues()]
    assert "orders.fifo" not in [q.name for q in prepared.queues()]


def test_a_retention_of_a_minute_is_accepted_and_keeps_messages(
    prepared: SimulatedBroker, registry: SerializerRegistry
) -> None:
    prepared.backend.declare_queue("short", message_retention_period=60)
    QueuePublisher(registry, prepared.backend).publish("short", {"n": 1})
    assert [q.total for q in prepared.queues() if q.name == "short"] == [1]


@pytest.mark.parametrize(
    ("host", "port", "parameter"),
    [
        ("http://localhost", "abc", "port"),
        ("http://localhost", 99_999, "port"),
        ("http://localhost", 0, "port"),
        ("http://localhost", True, "port"),
        ("http://local host", 4566, "host"),
        ("http://localhost:abc", None, "port"),
        ("localhost", 4566, "host"),
        ("ftp://localhost", 4566, "host"),
        ("http://localhost/path", 4566, "host"),
        ("", 4566, "host"),
        (None, 4566, "host"),
        ("http://localhost:4566", 4566, "port"),
    ],
)
def test_local_backend_refuses_a_host_or_port_boto3_could_not_use(
    host: Any, port: Any, parameter: str
) -> None:
    with pytest.raises(InvalidParameter, match=parameter):
        LocalSQSBackend(host=host, port=port)


@pytest.mark.parametrize(
    "options",
    [
        {"connect_timeout": 0},
        {"read_timeout": NAN},
        {"read_timeout": "5"},
        {"max_attempts": 0},
        {"wait_time_seconds": 21},
        {"max_number_of_messages": 11},
        {"visibility_timeout": -1},
        {"max_receive_count": 0},
        {"extra_settings": "region=eu-west-1"},
    ],
)
def test_local_backend_refuses_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter, match=next(iter(options))):
        LocalSQSBackend(host="http://localhost", port=4566, **options)


def test_local_backend_names_boto3_settings_it_refused() -> None:
    with pytest.raises(InvalidParameter, match=r"extra_settings.*bogus"):
        LocalSQSBackend(host="http://localhost", port=4566, extra_settings={"bogus": 1})


def test_a_failed_declare_leaves_no_new_dead_letter_queue_behind(
    prepared: SimulatedBroker,
) -> None:
    prepared.backend.declare_queue("settled", visibility_timeout=10)
    with pytest.raises(MelangeLabError, match="already exists with other settings"):
        prepared.backend.declare_queue(
            "settled", visibility_timeout=20, dead_letter_queue_name="settled-dlq"
        )
    assert "settled-dlq" not in [q.name for q in prepared.queues()]


def test_local_backend_names_an_unknown_keyword() -> None:
    with pytest.raises(UnknownOption, match=r"LocalSQSBackend.*timeout_seconds.*read_timeout"):
        LocalSQSBackend(host="http://localhost", port=4566, timeout_seconds=5)


def test_remote_broker_needs_a_backend() -> None:
    with pytest.raises(InvalidParameter, match="backend"):
        RemoteBroker("http://localhost:4566")  # type: ignore[arg-type]


def test_event_log_size_is_checked() -> None:
    with pytest.raises(InvalidParameter, match="max_events=-1"):
        EventLog(lambda: 0.0, -1)


def test_batch_entries_are_checked_before_any_is_sent(
    prepared: SimulatedBroker, registry: SerializerRegistry
) -> None:
    prepared.backend.declare_queue("jobs.fifo")
    good = MessageDto(Message.create("{}", "json", 1), "g")
    bad = MessageDto(Message.create("{}", "json", 1), "bad group")
    with pytest.raises(InvalidParameter, match="bad group"):
        prepared.backend.publish_to_queue_batch(
            [good, bad], prepared.backend.get_queue("jobs.fifo")
        )
    assert [q.total for q in prepared.queues() if q.name == "jobs.fifo"] == [0]


def test_size_limits_count_utf8_bytes_up_to_exactly_the_limit(prepared: SimulatedBroker) -> None:
    topic = prepared.backend.declare_topic("sizes")
    prepared.backend.declare_queue("sizes-copy", topic, raw_message_delivery=True)
    at_limit = "é" * (262_144 // 2)  # 131,072 characters, 262,144 bytes of UTF-8
    prepared.backend.publish_to_topic(Message.create(at_limit), topic)
    with pytest.raises(MessageTooLarge, match="262,145 bytes"):
        prepared.backend.publish_to_topic(Message.create(at_limit + "x"), topic)
    queue = prepared.backend.get_queue("plain")
    limit = int(queue.attributes["MaximumMessageSize"])  # the queue's own, 1 MiB by default
    body_overhead = len('{"Message": ""}')
    prepared.backend.publish_to_queue(Message.create("x" * (limit - body_overhead)), queue)
    with pytest.raises(MessageTooLarge, match=f"{limit + 1:,} bytes"):
        prepared.backend.publish_to_queue(Message.create("x" * (limit + 1 - body_overhead)), queue)
