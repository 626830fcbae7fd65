"""AWS's recorded answers the lab follows (issue 22), checked with plain boto3 on the lab, moto's
server and LocalStack. Each fact comes from a recording of real AWS (LocalStack's AWS-validated
snapshots) or AWS's documentation; the tests are ours. A broker known to answer otherwise is
listed in ``wrong_on`` (a strict xfail, so it fails the run the day that broker changes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_fidelity import STOCK_MOTO, Broker, aws, error_code

__all__ = ["aws"]  # the three-broker fixture, shared with tests/test_fidelity.py
fidelity = pytest.mark.fidelity


def _bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [message["Body"] for message in messages]


@fidelity(
    "fifo-whole-group",
    wrong_on={"moto_server": f"{STOCK_MOTO} interleaves groups in send order"},
)
def test_a_fifo_receive_returns_one_group_together_and_the_whole_group_after_a_timeout(
    aws: Broker,
) -> None:
    url, _ = aws.queue(
        "ledger.fifo", FifoQueue="true", ContentBasedDeduplication="true", VisibilityTimeout=1
    )
    for body, group in (("a-1", "a"), ("b-1", "b"), ("a-2", "a"), ("a-3", "a")):
        aws.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)

    first = _bodies(aws.receive(url, 2))
    locked = _bodies(aws.receive(url, 10))
    aws.advance(1.5)
    again = _bodies(aws.receive(url, 10))

    assert first == ["a-1", "a-2"]  # one group first, in order, before the next group
    assert locked == ["b-1"]  # group a is in flight from its first message on
    assert again[:3] == ["a-1", "a-2", "a-3"]  # a's timeout ended first: the whole group


@fidelity(
    "fifo-deduplication-scope",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} drops the same deduplication id in another group",
        "localstack": "LocalStack delivers a repeated deduplication id within one group",
    },
)
def test_message_group_deduplication_scope_and_purge_forget_as_sqs_does(aws: Broker) -> None:
    url, _ = aws.queue(
        "scoped.fifo",
        FifoQueue="true",
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
    )
    for group in ("a", "b", "a"):
        aws.sqs.send_message(
            QueueUrl=url, MessageBody=group, MessageGroupId=group, MessageDeduplicationId="same"
        )
    scoped = sorted(_bodies(aws.receive(url, 10)))
    plain, _ = aws.queue("purged.fifo", FifoQueue="true")
    send = dict(QueueUrl=plain, MessageGroupId="g", MessageDeduplicationId="once")
    aws.sqs.send_message(MessageBody="before", **send)
    aws.sqs.purge_queue(QueueUrl=plain)
    aws.sqs.send_message(MessageBody="after", **send)

    assert scoped == ["a", "b"]
    assert _bodies(aws.receive(plain)) == ["after"]


@fidelity(
    "fifo-topic-to-standard-queue",
    wrong_on={"moto_server": f"{STOCK_MOTO} fails the Publish (it sends the ids to the queue)"},
)
def test_a_fifo_topic_delivers_to_a_standard_queue_with_a_sequence_number_and_no_signature(
    aws: Broker,
) -> None:
    topic = aws.topic("orders.fifo", FifoTopic="true", ContentBasedDeduplication="true")
    url = aws.subscribed_queue(topic, "orders-standard")

    answer = aws.sns.publish(TopicArn=topic, Message="first", MessageGroupId="g")
    (message,) = aws.receive_eventually(url, 1)
    envelope = json.loads(message["Body"])

    assert envelope["Message"] == "first"
    assert envelope["SequenceNumber"] == answer["SequenceNumber"]
    assert not {"Signature", "SignatureVersion", "SigningCertURL"} & set(envelope)
    assert "MessageGroupId" not in message["Attributes"]  # a standard queue's copy


@fidelity(
    "batch-entry-failures",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} fails the whole batch after sending the entries before",
        "localstack": "LocalStack codes the failed entry InvalidParameterValueException (AWS's "
        "recording: InvalidParameterValue)",
    },
)
def test_a_batch_fails_the_bad_entry_alone(aws: Broker) -> None:
    url, _ = aws.queue("small", MaximumMessageSize=1024)
    entries = [
        {"Id": "ok-1", "MessageBody": "fine"},
        {"Id": "too-long", "MessageBody": "x" * 1025},
        {"Id": "ok-2", "MessageBody": "also fine"},
    ]

    answer = aws.sqs.send_message_batch(QueueUrl=url, Entries=entries)

    assert sorted(entry["Id"] for entry in answer["Successful"]) == ["ok-1", "ok-2"]
    (failed,) = answer["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == (
        "too-long",
        "InvalidParameterValue",
        True,
    )
    assert sorted(_bodies(aws.receive(url))) == ["also fine", "fine"]
    too_many = [{"Id": f"m{n}", "MessageBody": "m"} for n in range(11)]
    assert error_code(lambda: aws.sqs.send_message_batch(QueueUrl=url, Entries=too_many)) in (
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        "TooManyEntriesInBatchRequest",
    )


@fidelity(
    "filter-dotted-keys",
    wrong_on={"moto_server": f"{STOCK_MOTO} matches a dotted key only as a literal key"},
)
def test_a_dotted_body_policy_key_reaches_nested_and_literal_keys(aws: Broker) -> None:
    topic = aws.topic("shapes")
    url = aws.subscribed_queue(
        topic,
        "circles",
        FilterPolicyScope="MessageBody",
        FilterPolicy='{"shape.kind": ["circle"]}',
        RawMessageDelivery="true",
    )
    for body in (
        {"shape": {"kind": "circle"}},
        {"shape.kind": "circle"},
        {"shape": {"kind": "square"}},
    ):
        aws.sns.publish(TopicArn=topic, Message=json.dumps(body))

    got = aws.receive_eventually(url, 2)
    aws.settle()
    got += aws.receive(url)

    assert sorted(_bodies(got)) == sorted(
        [json.dumps({"shape": {"kind": "circle"}}), json.dumps({"shape.kind": "circle"})]
    )


# AWS's worked example: 4 values three keys deep (4 x 3), 3 values two deep (3 x 2) and 3 at
# the top (3 x 1): 12 x 6 x 3 = 216 combinations, over the 150 allowed.
NESTED_216 = {
    "key_a": {"key_b": {"key_c": ["v1", "v2", "v3", "v4"]}, "key_d": ["v1", "v2", "v3"]},
    "key_e": ["v1", "v2", "v3"],
}


@fidelity(
    "filter-complexity-and-removal",
    wrong_on={"moto_server": f"{STOCK_MOTO} accepts the 216-combination policy"},
)
def test_nesting_counts_in_a_policys_complexity_and_an_empty_policy_removes_it(
    aws: Broker,
) -> None:
    topic = aws.topic("metrics")
    _, arn = aws.queue("all-metrics")
    refused = error_code(
        lambda: aws.sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"FilterPolicyScope": "MessageBody", "FilterPolicy": json.dumps(NESTED_216)},
        )
    )
    created_by_refusal = aws.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    url = aws.subscribed_queue(
        topic, "some-metrics", FilterPolicy='{"kind": ["cpu"]}', RawMessageDelivery="true"
    )
    (subscription,) = aws.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    aws.sns.set_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"],
        AttributeName="FilterPolicy",
        AttributeValue="{}",
    )
    aws.sns.publish(TopicArn=topic, Message="anything")

    assert refused == "InvalidParameter"
    assert created_by_refusal == []  # a refused Subscribe leaves nothing behind
    assert _bodies(aws.receive_eventually(url, 1)) == ["anything"]


@fidelity(
    "sixty-second-rules",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} creates the queue again at once and purges at will",
        "localstack": "LocalStack (by default) creates the queue again at once",
    },
)
def test_a_deleted_queue_name_and_a_second_purge_wait_sixty_seconds(aws: Broker) -> None:
    url, _ = aws.queue("short-lived")
    aws.sqs.purge_queue(QueueUrl=url)
    second_purge = error_code(lambda: aws.sqs.purge_queue(QueueUrl=url))
    aws.sqs.delete_queue(QueueUrl=url)
    recreate = error_code(lambda: aws.sqs.create_queue(QueueName="short-lived"))

    assert second_purge == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert recreate == "AWS.SimpleQueueService.QueueDeletedRecently"
    aws.advance(60)
    assert error_code(lambda: aws.sqs.create_queue(QueueName="short-lived")) == ""


@fidelity(
    "subscribe-attributes",
    wrong_on={"moto_server": f"{STOCK_MOTO} answers a repeated Subscribe with the old one"},
)
def test_subscribe_checks_its_attributes_and_refuses_a_different_repeat(aws: Broker) -> None:
    topic = aws.topic("alerts")
    _, arn = aws.queue("alerts-copy")
    subscribe = dict(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    aws.sns.subscribe(**subscribe, Attributes={"RawMessageDelivery": "True"})

    same = error_code(
        lambda: aws.sns.subscribe(**subscribe, Attributes={"RawMessageDelivery": "true"})
    )
    different = error_code(
        lambda: aws.sns.subscribe(**subscribe, Attributes={"RawMessageDelivery": "false"})
    )
    wrong_value = error_code(
        lambda: aws.sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn + "-other",
            Attributes={"RawMessageDelivery": "yes"},
        )
    )
    protocol = error_code(
        lambda: aws.sns.subscribe(TopicArn=topic, Protocol="carrier-pigeon", Endpoint="coop")
    )

    assert (same, different, wrong_value, protocol) == (
        "",
        "InvalidParameter",
        "InvalidParameter",
        "InvalidParameter",
    )


@fidelity(
    "tags",
    wrong_on={"moto_server": f"{STOCK_MOTO} keeps the last of two tags with one key"},
)
def test_tags_refuse_duplicate_keys_and_a_repeated_topic_with_other_tags(aws: Broker) -> None:
    kept = [{"Key": "team", "Value": "billing"}, {"Key": "tier", "Value": "1"}]
    topic = aws.sns.create_topic(Name="tagged", Tags=kept)["TopicArn"]
    duplicate = error_code(
        lambda: aws.sns.tag_resource(
            ResourceArn=topic, Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]
        )
    )
    other = error_code(
        lambda: aws.sns.create_topic(Name="tagged", Tags=[{"Key": "team", "Value": "ops"}])
    )
    again = [aws.sns.create_topic(Name="tagged", Tags=t)["TopicArn"] for t in (kept[:1], [])]
    url, _ = aws.queue("tagged-queue")
    aws.sqs.tag_queue(QueueUrl=url, Tags={"team": "billing"})
    aws.sqs.untag_queue(QueueUrl=url, TagKeys=["team"])

    assert (duplicate, other) == ("InvalidParameter", "InvalidParameter")
    assert again == [topic, topic]
    assert "Tags" not in aws.sqs.list_queue_tags(QueueUrl=url)


TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _with_trace_header(client: Any, operation: str) -> None:
    def add(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = TRACE

    client.meta.events.register(f"before-send.{operation}", add)


@fidelity(
    "trace-header",
    wrong_on={"moto_server": f"{STOCK_MOTO} drops the X-Amzn-Trace-Id header"},
)
def test_a_trace_header_travels_as_the_aws_trace_header_attribute(aws: Broker) -> None:
    url, _ = aws.queue("traced")
    topic = aws.topic("traced-topic")
    copies = aws.subscribed_queue(topic, "traced-copies")
    _with_trace_header(aws.sqs, "sqs.SendMessage")
    _with_trace_header(aws.sns, "sns.Publish")
    aws.sqs.send_message(QueueUrl=url, MessageBody="hello")
    given = {"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}}
    sent = aws.sqs.send_message(QueueUrl=url, MessageBody="again", MessageSystemAttributes=given)
    aws.sns.publish(TopicArn=topic, Message="hello")
    direct = aws.receive(url, 1)[0]
    delivered = aws.receive_eventually(copies, 1)[0]

    assert direct["Attributes"]["AWSTraceHeader"] == TRACE
    assert delivered["Attributes"]["AWSTraceHeader"] == TRACE
    assert sent["MD5OfMessageSystemAttributes"] == "5ae4d5d7636402d80f4eb6d213245a88"  # recorded
