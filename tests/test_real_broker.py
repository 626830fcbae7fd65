"""The same code against a real SNS/SQS endpoint (moto's server on 127.0.0.1): the shared
scenarios on both backends, melange's wire format both ways, the endpoint backends' settings,
and the read-only view of a real endpoint."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from melange_lab import QueuePublisher, RemoteBroker, SimulatedBroker, TopicPublisher
from melange_lab.backends import AWSBackend, LocalSQSBackend
from melange_lab.backends.sqs import SQSBackend
from melange_lab.errors import BrokerRequestFailed, MelangeLabError, QueueNotFound
from melange_lab.events import Event, EventKind
from melange_lab.inspection import PeekNotSupported
from melange_lab.serializers import SerializerRegistry
from tests import scenarios
from tests.messages import OrderCreated
from tests.moto_server import MotoServer, NonLoopbackConnection, free_port, loopback_only
from tests.test_fidelity import LOCALSTACK_TIMER_SLACK

Advance = Callable[[float], Any]


@pytest.fixture(
    params=[
        "simulated",
        pytest.param("http", marks=pytest.mark.server),
        pytest.param("localstack", marks=pytest.mark.localstack),
    ]
)
def backend(request: pytest.FixtureRequest) -> SQSBackend:
    """The simulated broker's backend (manual clock), or LocalSQSBackend on moto's server or
    on LocalStack."""
    if request.param == "simulated":
        simulated: SimulatedBroker = request.getfixturevalue("broker")
        return simulated.backend
    endpoint = "http_backend" if request.param == "http" else "localstack_backend"
    http: LocalSQSBackend = request.getfixturevalue(endpoint)
    return http


@pytest.fixture
def advance(request: pytest.FixtureRequest, backend: SQSBackend) -> Advance:
    """Moves time: the simulated broker's clock, or real seconds on the server (LocalStack's
    timers fire up to a second late: tests.test_fidelity.LOCALSTACK_TIMER_SLACK)."""
    if request.node.callspec.params.get("backend") == "localstack":
        return lambda seconds: time.sleep(seconds + LOCALSTACK_TIMER_SLACK)
    if isinstance(backend, LocalSQSBackend):
        return time.sleep
    simulated: SimulatedBroker = request.getfixturevalue("broker")
    return simulated.clock.advance


# -- the shared scenarios, on every broker ------------------------------------------------------


@pytest.mark.fidelity("lab-scenarios")
def test_queue_message_round_trips_and_is_gone_once_acknowledged(
    backend: SQSBackend, registry: SerializerRegistry
) -> None:
    scenarios.queue_publish_and_consume(backend, registry)


@pytest.mark.fidelity("lab-scenarios")
def test_dispatcher_acknowledges_every_message_it_processed(
    backend: SQSBackend, registry: SerializerRegistry
) -> None:
    scenarios.ack_on_success(backend, registry)


@pytest.mark.fidelity("lab-scenarios")
def test_topic_fans_out_to_three_queues_and_the_filter_keeps_one_out(
    backend: SQSBackend, registry: SerializerRegistry
) -> None:
    scenarios.fan_out_to_three_queues_with_a_filter(backend, registry)


@pytest.mark.fidelity("lab-scenarios")
def test_filter_events_lets_only_listed_manifests_into_the_queue(
    backend: SQSBackend, registry: SerializerRegistry
) -> None:
    scenarios.filtered_subscription(backend, registry)


@pytest.mark.fidelity("lab-scenarios")
def test_failed_message_comes_back_after_its_visibility_timeout(
    backend: SQSBackend, registry: SerializerRegistry, advance: Advance
) -> None:
    scenarios.failure_comes_back_after_visibility_timeout(backend, registry, advance)


@pytest.mark.fidelity("lab-scenarios")
def test_message_moves_to_the_dlq_after_max_receive_count_failures(
    backend: SQSBackend, registry: SerializerRegistry, advance: Advance
) -> None:
    assert scenarios.dead_letter_after_max_receives(backend, registry, advance, 2) == 2


@pytest.mark.fidelity("lab-scenarios")
def test_fifo_queue_keeps_order_within_each_group(
    backend: SQSBackend, registry: SerializerRegistry
) -> None:
    scenarios.fifo_keeps_order_per_group(backend, registry)


@pytest.mark.fidelity("lab-scenarios")
def test_fifo_queue_drops_a_repeated_deduplication_id(
    backend: SQSBackend, registry: SerializerRegistry
) -> None:
    scenarios.fifo_deduplicates_by_id(backend, registry)


@pytest.mark.fidelity("lab-scenarios")
def test_redrive_moves_dead_letters_back_unchanged(
    backend: SQSBackend, registry: SerializerRegistry, advance: Advance
) -> None:
    scenarios.redrive_returns_dead_letters(backend, registry, advance)


# -- melange's wire format, through the HTTP endpoint, both ways ---------------------------------


def _receive_one(moto_server: MotoServer, queue_url: str) -> dict[str, Any]:
    response = moto_server.client("sqs").receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=0
    )
    (message,) = response["Messages"]
    return dict(message)


@pytest.mark.server
def test_lab_queue_message_reads_back_with_plain_boto3_in_melanges_form(
    http_backend: LocalSQSBackend, moto_server: MotoServer, registry: SerializerRegistry
) -> None:
    queue, _ = http_backend.declare_queue("wire")
    QueuePublisher(registry, http_backend).publish("wire", {"order": 1})

    received = _receive_one(moto_server, queue.url)

    assert json.loads(received["Body"]) == {"Message": json.dumps({"order": 1})}
    assert received["MessageAttributes"] == {
        "manifest": {"StringValue": "json", "DataType": "String"},
        "serializer_id": {"StringValue": "1", "DataType": "Number"},
    }


@pytest.mark.server
def test_lab_topic_message_reads_back_with_plain_boto3_as_an_sns_envelope(
    http_backend: LocalSQSBackend, moto_server: MotoServer, registry: SerializerRegistry
) -> None:
    topic = http_backend.declare_topic("orders")
    queue, _ = http_backend.declare_queue("orders-copy", topic)
    TopicPublisher(registry, http_backend).publish("orders", OrderCreated("o-9", 3))

    envelope = json.loads(_receive_one(moto_server, queue.url)["Body"])

    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic.arn
    assert envelope["MessageAttributes"]["manifest"] == {"Type": "String", "Value": "OrderCreated"}
    assert envelope["MessageAttributes"]["serializer_id"] == {"Type": "Number", "Value": "2"}
    assert registry.deserialize_with_serializerid(
        envelope["Message"], 2, "OrderCreated"
    ) == OrderCreated("o-9", 3)


@pytest.mark.server
def test_melange_queue_message_sent_with_plain_boto3_is_read_by_the_lab(
    http_backend: LocalSQSBackend, moto_server: MotoServer, registry: SerializerRegistry
) -> None:
    queue, _ = http_backend.declare_queue("from-melange")
    moto_server.client("sqs").send_message(
        QueueUrl=queue.url,
        MessageBody=json.dumps({"Message": json.dumps({"order": 2})}),
        MessageAttributes={
            "manifest": {"DataType": "String", "StringValue": "json"},
            "serializer_id": {"DataType": "Number", "StringValue": "1"},
        },
    )

    (message,) = http_backend.retrieve_messages(queue)

    assert (message.content, message.manifest, message.serializer_id) == (
        json.dumps({"order": 2}),
        "json",
        1,
    )
    assert registry.deserialize_with_serializerid(message.content, 1, "json") == {"order": 2}


@pytest.mark.server
def test_melange_topic_message_published_with_plain_boto3_is_read_from_its_envelope(
    http_backend: LocalSQSBackend, moto_server: MotoServer
) -> None:
    topic = http_backend.declare_topic("melange-events")
    queue, _ = http_backend.declare_queue("melange-events-copy", topic)
    moto_server.client("sns").publish(
        TopicArn=topic.arn,
        Message=json.dumps({"order": 3}),
        MessageAttributes={
            "manifest": {"DataType": "String", "StringValue": "json"},
            "serializer_id": {"DataType": "Number", "StringValue": "1"},
        },
    )

    (message,) = http_backend.retrieve_messages(queue)

    assert message.content == json.dumps({"order": 3})
    assert (message.manifest, message.serializer_id) == ("json", 1)


@pytest.mark.server
@pytest.mark.parametrize(
    ("body", "content"),
    [(json.dumps({"order": 4}), {"order": 4}), ("plain text, not JSON", "plain text, not JSON")],
    ids=["json-without-Message", "not-json"],
)
def test_raw_body_sent_with_plain_boto3_is_read_as_melange_reads_it(
    http_backend: LocalSQSBackend, moto_server: MotoServer, body: str, content: Any
) -> None:
    queue, _ = http_backend.declare_queue("raw")
    moto_server.client("sqs").send_message(QueueUrl=queue.url, MessageBody=body)

    (message,) = http_backend.retrieve_messages(queue)

    assert message.content == content
    assert (message.manifest, message.serializer_id) == (None, None)


# -- the endpoint backends -----------------------------------------------------------------------


def test_local_backend_refuses_a_host_without_a_scheme_and_shows_the_fix() -> None:
    with pytest.raises(MelangeLabError, match=r"host='http://localhost'"):
        LocalSQSBackend(host="localhost", port=4566)


def test_local_backend_refuses_a_port_given_twice() -> None:
    with pytest.raises(MelangeLabError, match="Give the port once"):
        LocalSQSBackend(host="http://localhost:4566", port=4566)


def test_local_backend_builds_melanges_endpoint_and_uses_sns_on_the_same_host_by_default() -> None:
    backend = LocalSQSBackend(host="http://127.0.0.1", port=4566)
    assert backend.endpoint_url == backend.sns_endpoint_url == "http://127.0.0.1:4566"
    separate = LocalSQSBackend(host="http://127.0.0.1", port=9324, sns_port=9911)
    assert separate.sns_endpoint_url == "http://127.0.0.1:9911"


def test_local_backend_drains_without_long_polling_unless_asked() -> None:
    assert LocalSQSBackend(host="http://127.0.0.1", port=4566).wait_time_seconds == 0
    assert (
        LocalSQSBackend(host="http://127.0.0.1", port=1, wait_time_seconds=5).wait_time_seconds == 5
    )


def test_local_backend_names_an_unknown_option() -> None:
    with pytest.raises(TypeError, match=r"\['visiblity_timeout'\]"):
        LocalSQSBackend(host="http://127.0.0.1", port=4566, visiblity_timeout=3)


def test_aws_backend_takes_its_region_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    backend = AWSBackend()
    assert backend.wait_time_seconds == 1
    assert "eu-west-1" in repr(backend)


def test_aws_backend_without_a_region_says_where_to_set_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(MelangeLabError, match="AWS_DEFAULT_REGION"):
        AWSBackend()


def test_endpoint_that_does_not_answer_raises_the_labs_error_not_botocores() -> None:
    backend = LocalSQSBackend(
        host="http://127.0.0.1", port=free_port(), extra_settings={"config": _no_retries()}
    )
    with loopback_only(), pytest.raises(BrokerRequestFailed) as raised:
        backend.declare_queue("q")
    assert raised.value.aws_code == "EndpointConnectionError"


def _no_retries() -> Any:
    from botocore.config import Config

    return Config(retries={"max_attempts": 1}, connect_timeout=1)


@pytest.mark.server
def test_missing_queue_on_the_server_is_the_same_error_as_in_the_simulation(
    http_backend: LocalSQSBackend,
) -> None:
    http_backend.declare_queue("present")
    with pytest.raises(QueueNotFound, match="'present'"):
        http_backend.get_queue("absent")


@pytest.mark.server
def test_yield_messages_ends_when_the_real_queue_is_drained(
    http_backend: LocalSQSBackend, registry: SerializerRegistry
) -> None:
    queue, _ = http_backend.declare_queue("drain")
    for n in range(12):
        QueuePublisher(registry, http_backend).publish("drain", {"n": n})
    started = time.monotonic()
    seen = list(http_backend.yield_messages(queue))
    assert len(seen) == 12 and time.monotonic() - started < 5


# -- observing a real endpoint -------------------------------------------------------------------


@pytest.mark.server
def test_remote_broker_shows_topics_queues_counts_and_subscriptions(
    http_backend: LocalSQSBackend, moto_server: MotoServer, registry: SerializerRegistry
) -> None:
    topic = http_backend.declare_topic("orders")
    http_backend.declare_queue("billing", topic, filter_events=["OrderCreated"])
    http_backend.declare_queue("jobs", dead_letter_queue_name="jobs-dlq", max_receive_count=3)
    TopicPublisher(registry, http_backend).publish("orders", OrderCreated("o-1"))
    # a queue made by another program shows up too
    moto_server.client("sqs").create_queue(QueueName="elsewhere")

    remote = RemoteBroker(moto_server.backend())

    assert [(t.name, t.subscriptions) for t in remote.topics()] == [("orders", 1)]
    queues = {q.name: q for q in remote.queues()}
    assert sorted(queues) == ["billing", "elsewhere", "jobs", "jobs-dlq"]
    assert queues["billing"].visible == 1
    assert (queues["jobs"].dead_letter_queue, queues["jobs"].max_receive_count) == ("jobs-dlq", 3)
    assert queues["jobs-dlq"].dead_letter_sources == ("jobs",)
    (subscription,) = remote.subscriptions()
    assert (subscription.topic, subscription.queue) == ("orders", "billing")
    assert subscription.filter_policy is not None
    assert subscription.filter_policy.rules == {"manifest": ["OrderCreated"]}


@pytest.mark.server
def test_remote_broker_refuses_to_peek_and_changes_nothing(
    http_backend: LocalSQSBackend, registry: SerializerRegistry
) -> None:
    http_backend.declare_queue("q")
    QueuePublisher(registry, http_backend).publish("q", {"n": 1})
    remote = RemoteBroker(http_backend)

    with pytest.raises(PeekNotSupported, match="receive count"):
        remote.peek("q")

    (queue,) = remote.queues()
    assert (queue.visible, queue.in_flight) == (1, 0)


@pytest.mark.server
def test_remote_broker_hears_what_its_backend_does(
    http_backend: LocalSQSBackend, registry: SerializerRegistry
) -> None:
    remote = RemoteBroker(http_backend)
    heard: list[Event] = []
    unsubscribe = remote.subscribe(heard.append)
    http_backend.declare_queue("q")
    QueuePublisher(registry, http_backend).publish("q", {"n": 1})
    unsubscribe()
    QueuePublisher(registry, http_backend).publish("q", {"n": 2})

    assert [e.kind for e in heard] == [EventKind.QUEUE_DECLARED, EventKind.PUBLISHED]
    assert len(remote.events.of_kind(EventKind.PUBLISHED)) == 2


# -- nothing leaves 127.0.0.1 --------------------------------------------------------------------


def test_loopback_guard_fails_a_connection_beyond_127_0_0_1() -> None:
    with loopback_only(), socket.socket() as sock, pytest.raises(NonLoopbackConnection):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: refused before any packet is sent


@pytest.mark.server
def test_server_backend_talks_only_to_127_0_0_1(
    http_backend: LocalSQSBackend, moto_server: MotoServer
) -> None:
    assert http_backend.endpoint_url == http_backend.sns_endpoint_url == moto_server.url
    assert moto_server.url.startswith("http://127.0.0.1:")
