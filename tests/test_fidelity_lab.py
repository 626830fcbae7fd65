"""The lab side of issue 12: delivery after a latency, plain boto3 and melange's AWSBackend
inside a running broker, and the lab's own filter-policy checks agreeing with SNS."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from melange_lab import MessagingBackendFactory, SimulatedBroker, TopicPublisher
from melange_lab import moto_internals as mi
from melange_lab.backends import AWSBackend, LocalSQSBackend
from melange_lab.errors import InvalidFilterPolicy, InvalidParameter
from melange_lab.filter_policies import FilterPolicy
from melange_lab.serializers import SerializerRegistry
from tests.scenarios import eventually, total_count

# -- delivery after a latency ---------------------------------------------------------------------


def _topic_with_queue(broker: SimulatedBroker, queue: str = "billing") -> None:
    MessagingBackendFactory(broker.backend).init_queue(queue, ["orders"])


def test_with_a_latency_a_topic_copy_arrives_only_when_the_clock_reaches_it(
    registry: SerializerRegistry,
) -> None:
    with SimulatedBroker(clock="manual", delivery_latency=2.0) as broker:
        _topic_with_queue(broker)
        TopicPublisher(registry, broker.backend).publish("orders", {"n": 1})

        counts = [total_count(broker.backend, "billing"), broker.pending_deliveries()]
        broker.clock.advance(1.9)
        counts += [total_count(broker.backend, "billing"), broker.pending_deliveries()]
        broker.clock.advance(0.1)
        counts += [total_count(broker.backend, "billing"), broker.pending_deliveries()]

    assert counts == [0, 1, 0, 1, 1, 0]


def test_late_deliveries_keep_publish_order(registry: SerializerRegistry) -> None:
    with SimulatedBroker(clock="manual", delivery_latency=1.0) as broker:
        _topic_with_queue(broker)
        publisher = TopicPublisher(registry, broker.backend)
        for n in range(3):
            publisher.publish("orders", {"n": n})
            broker.clock.advance(0.4)
        broker.clock.advance(1.0)
        bodies = [m.payload["n"] for m in broker.peek("billing")]

    assert bodies == [0, 1, 2]


def test_queue_sends_are_not_delayed_only_topic_deliveries(registry: SerializerRegistry) -> None:
    with SimulatedBroker(clock="manual", delivery_latency=5.0) as broker:
        broker.backend.declare_queue("direct")
        broker.client("sqs").send_message(
            QueueUrl=broker.backend.get_queue("direct").url, MessageBody="now"
        )

        assert total_count(broker.backend, "direct") == 1


def test_with_a_latency_on_the_real_clock_the_copy_arrives_by_itself(
    registry: SerializerRegistry,
) -> None:
    with SimulatedBroker(delivery_latency=0.2) as broker:
        _topic_with_queue(broker)
        TopicPublisher(registry, broker.backend).publish("orders", {"n": 1})

        assert eventually(lambda: total_count(broker.backend, "billing") == 1, timeout=5)


def test_stopping_a_broker_with_deliveries_in_transit_drops_them_and_unpatches_moto(
    registry: SerializerRegistry,
) -> None:
    with SimulatedBroker(clock="manual", delivery_latency=10.0) as broker:
        _topic_with_queue(broker)
        TopicPublisher(registry, broker.backend).publish("orders", {"n": 1})
        assert broker.pending_deliveries() == 1

    assert mi.pending_deliveries() == 0
    assert "delivery_latency" not in mi._features


@pytest.mark.parametrize("latency", [-1, "1", float("nan"), True])
def test_a_latency_that_is_not_seconds_is_refused_naming_the_fix(latency: Any) -> None:
    with pytest.raises(InvalidParameter, match="delivery_latency"):
        SimulatedBroker(delivery_latency=latency, start=False)


# -- plain boto3 and melange inside a running broker ---------------------------------------------

AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SQS",
)


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[object]]:
    """No AWS settings at all (config files point at empty files), and no network."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    boto3.DEFAULT_SESSION = None
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise ConnectionRefusedError(f"test refuses outbound connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts
    boto3.DEFAULT_SESSION = None


def test_plain_boto3_just_works_inside_a_broker_without_credentials_or_region(
    bare_environment: list[object],
) -> None:
    with SimulatedBroker() as broker:
        broker.backend.declare_queue("orders")
        listed = boto3.client("sqs").list_queues()["QueueUrls"]
        topic = boto3.client("sns").create_topic(Name="events")["TopicArn"]

    assert [url.rsplit("/", 1)[-1] for url in listed] == ["orders"]
    assert topic == "arn:aws:sns:us-east-1:123456789012:events"
    assert bare_environment == []


def test_broker_client_and_session_are_plain_boto3_on_the_broker(
    bare_environment: list[object],
) -> None:
    with SimulatedBroker(region="eu-west-1") as broker:
        url = broker.client("sqs").create_queue(QueueName="q")["QueueUrl"]
        names = [q.name for q in broker.queues()]
        region = broker.session.region_name

    assert names == ["q"] and "eu-west-1" in url and region == "eu-west-1"
    assert bare_environment == []


def test_melanges_aws_backend_calls_reach_the_broker_not_aws(
    bare_environment: list[object],
) -> None:
    """melange 7.2's AWSBackend builds ``boto3.resource("sqs")`` / ``boto3.resource("sns")``
    with no settings (melange/backends/sqs/sqs_backend.py); the lab's AWSBackend likewise."""
    with SimulatedBroker() as broker:
        queue = boto3.resource("sqs").create_queue(QueueName="melange-queue")
        topic = boto3.resource("sns").create_topic(Name="melange-topic")
        topic.subscribe(Protocol="sqs", Endpoint=queue.attributes["QueueArn"])
        topic.publish(Message="from melange")
        lab_aws = AWSBackend()
        names = sorted(q.name for q in broker.queues())
        visible = lab_aws.queue_attributes(lab_aws.get_queue("melange-queue"))

    assert names == ["melange-queue"]
    assert visible["ApproximateNumberOfMessages"] == "1"
    assert bare_environment == []


def test_the_environment_is_put_back_exactly_when_the_broker_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "work")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    before = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}

    with SimulatedBroker():
        during = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}

    assert {k: v for k, v in os.environ.items() if k.startswith("AWS_")} == before
    assert "AWS_PROFILE" not in during and during["AWS_DEFAULT_REGION"] == "us-east-1"
    assert during["AWS_ACCESS_KEY_ID"] == "melange-lab"


# -- the lab's checks agree with SNS ---------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        {"kind": [{"prefix": 5}]},
        {"kind": []},
        {"kind": [{"anything-but": {"exists": True}}]},
        {"kind": [{"anything-but": [{"prefix": "a"}]}]},
        {"kind": [{"anything-but": []}]},
        {"n": [{"numeric": [">", 5, ">", 1]}]},
        {f"k{i}": ["v"] for i in range(6)},
        {"$or": [{"a": ["x"]}]},
    ],
    ids=str,
)
def test_the_lab_refuses_policies_sns_refuses(policy: dict[str, Any]) -> None:
    with pytest.raises(InvalidFilterPolicy):
        FilterPolicy.parse(policy)


def test_the_lab_accepts_cidr_and_body_or_and_reports_what_it_delivers(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    policy = {"$or": [{"n": [{"numeric": [">", 10]}]}, {"ip": [{"cidr": "10.0.0.0/8"}]}]}
    topic = broker.backend.declare_topic("t")
    broker.backend.declare_queue(
        "q", topic, filter_policy=policy, filter_policy_scope="MessageBody"
    )
    publisher = TopicPublisher(registry, broker.backend)
    for payload in ({"n": 50}, {"n": 1, "ip": "10.1.2.3"}, {"n": 1, "ip": "192.168.0.1"}):
        publisher.publish("t", payload)

    delivered = [m.payload for m in broker.peek("q")]
    reported = [e.message_id for e in broker.events if e.kind.value == "delivered"]
    assert delivered == [{"n": 50}, {"n": 1, "ip": "10.1.2.3"}]
    assert reported == [m.message_id for m in broker.peek("q")]  # the copies that arrived


@pytest.mark.localstack
def test_body_or_through_an_endpoint_backend_publishes_and_guesses_no_fan_out_on_localstack(
    localstack_backend: LocalSQSBackend, registry: SerializerRegistry
) -> None:
    policy = {"kind": ["order"], "$or": [{"total": [{"numeric": [">", 100]}]}, {"vip": [True]}]}
    topic = localstack_backend.declare_topic("t")
    localstack_backend.declare_queue(
        "q", topic, filter_policy=policy, filter_policy_scope="MessageBody"
    )
    publisher = TopicPublisher(registry, localstack_backend)
    publisher.publish("t", {"kind": "order", "total": 500})
    publisher.publish("t", {"kind": "order", "total": 5})

    assert eventually(lambda: total_count(localstack_backend, "q") == 1)
    time.sleep(1.0)  # LocalStack delivers asynchronously: nothing else may arrive
    assert total_count(localstack_backend, "q") == 1
    kinds = [e.kind.value for e in localstack_backend.events]
    assert kinds.count("published") == 2  # what this process did
    assert "delivered" not in kinds and "filtered" not in kinds  # SNS does not tell; no guess


# -- the generated table -----------------------------------------------------------------------


def test_docs_fidelity_table_lists_every_behaviour_with_an_outcome_on_every_broker() -> None:
    from tests.fidelity import BEHAVIOURS, BROKERS

    rows = {
        line.split(" | ")[0].removeprefix("| "): line
        for line in (Path(__file__).parent.parent / "docs" / "fidelity.md").read_text().splitlines()
        if line.startswith("| ") and not line.startswith("| Behaviour")
    }
    for behaviour in BEHAVIOURS.values():
        row = rows[behaviour.title]
        cells = row.rstrip(" |").split(" | ")[-len(BROKERS) :]
        assert all(c.startswith(("matches AWS", "differs")) for c in cells), row
        assert behaviour.link in row


# -- LocalStack's interpreter ------------------------------------------------------------------


def test_no_python_new_enough_for_localstack_fails_the_run_saying_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests import localstack

    monkeypatch.setattr(localstack, "_candidates", lambda: ["/usr/bin/python3.11"])
    monkeypatch.setattr(localstack, "_version_of", lambda path: (3, 11))

    with pytest.raises(localstack.NoPythonForLocalStack, match=r"needs Python >= 3\.13.*3\.11"):
        localstack.find_python()


def test_localstack_runs_on_the_newest_python_found(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import localstack

    versions = {"/a/python3.12": (3, 12), "/b/python3.13": (3, 13), "/c/python3.14": (3, 14)}
    monkeypatch.setattr(localstack, "_candidates", lambda: list(versions))
    monkeypatch.setattr(localstack, "_version_of", versions.get)

    assert localstack.find_python() == localstack.Interpreter("/c/python3.14", (3, 14))


def test_a_topic_keeps_its_data_protection_policy_and_gives_it_back(
    broker: SimulatedBroker,
) -> None:
    sns = broker.client("sns")
    arn = sns.create_topic(Name="guarded")["TopicArn"]
    assert "DataProtectionPolicy" not in sns.get_data_protection_policy(ResourceArn=arn)
    policy = '{"Name": "p", "Version": "2021-06-01", "Statement": []}'
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=policy)
    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == policy
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy="{not json")
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_data_protection_policy(ResourceArn=arn + "-gone")


def test_permissions_are_written_and_refused_in_sqs_and_sns_words(broker: SimulatedBroker) -> None:
    """AWS's recordings (LocalStack's test_sqs_permission_lifecycle, test_add_permission_errors):
    the lab keeps the policy AddPermission writes; it enforces none (there is no IAM)."""
    sqs, sns = broker.client("sqs"), broker.client("sns")
    url = sqs.create_queue(QueueName="shared")["QueueUrl"]
    grant = {"AWSAccountIds": ["111111111111"], "Actions": ["ReceiveMessage"]}
    sqs.add_permission(QueueUrl=url, Label="readers", **grant)
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    assert json.loads(policy["Policy"])["Version"] == "2008-10-17"
    with pytest.raises(sqs.exceptions.ClientError) as missing:
        sqs.remove_permission(QueueUrl=url, Label="writers")
    assert missing.value.response["Error"]["Message"].endswith("Reason: can't find label.")
    topic = sns.create_topic(Name="shared")["TopicArn"]
    allow = {"AWSAccountId": ["111111111111"], "ActionName": ["Publish"]}
    sns.add_permission(TopicArn=topic, Label="publishers", **allow)
    with pytest.raises(sns.exceptions.InvalidParameterException) as again:
        sns.add_permission(TopicArn=topic, Label="publishers", **allow)
    assert again.value.response["Error"]["Message"] == "Invalid parameter: Statement already exists"


def test_sns_pages_carry_base64_next_tokens(broker: SimulatedBroker) -> None:
    """AWS's NextToken decodes as base64 (LocalStack's AWS-validated pagination test)."""
    sns = broker.client("sns")
    for n in range(101):
        sns.create_topic(Name=f"page-{n}")
    first = sns.list_topics()
    assert len(first["Topics"]) == 100
    assert base64.b64decode(first["NextToken"], validate=True)
    second = sns.list_topics(NextToken=first["NextToken"])
    assert len(second["Topics"]) == 1 and "NextToken" not in second
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.list_topics(NextToken="not a token")
