"""What the lab teaches, checked with plain boto3 on three brokers: the lab, moto's server
(stock moto) and LocalStack (not moto). AWS's documentation is the judge: a broker known to
break a rule is marked so in ``wrong_on`` (see tests/fidelity.py), and docs/fidelity.md is
generated from these outcomes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from melange_lab import SimulatedBroker
from tests.localstack import LocalStack
from tests.moto_server import MotoServer, loopback_only

T = TypeVar("T")
fidelity = pytest.mark.fidelity
STOCK_MOTO = "stock moto 5.2"
# LocalStack's SQS checks visibility and delay timers on a 1-second tick, so they fire up to a
# second late (AWS's are exact to within its documented approximations); the tests allow it.
LOCALSTACK_TIMER_SLACK = 1.0
POLL_SECONDS = 10.0  # how long a test waits for an asynchronous delivery before failing


@dataclass
class Broker:
    """One broker, reached with plain boto3: clients, time, and bounded waiting."""

    name: str
    sqs: Any
    sns: Any
    advance: Callable[[float], Any]
    asynchronous: bool
    endpoint: str | None = None
    queues: dict[str, str] = field(default_factory=dict)

    def queue(self, name: str, **attributes: Any) -> tuple[str, str]:
        """(url, arn) of a new queue; attributes as SQS takes them (strings)."""
        text = {key: str(value) for key, value in attributes.items()}
        url = self.sqs.create_queue(QueueName=name, Attributes=text)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def topic(self, name: str, **attributes: str) -> str:
        return str(self.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"])

    def subscribed_queue(self, topic: str, name: str, **attributes: str) -> str:
        """A queue subscribed to ``topic`` with these subscription attributes; its url."""
        fifo = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
        url, arn = self.queue(name, **fifo)
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        return url

    def receive(self, url: str, count: int = 10) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=count,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        return list(response.get("Messages", []))

    def eventually(self, probe: Callable[[], T], timeout: float = POLL_SECONDS) -> T:
        """``probe()``'s first truthy answer, polling a bounded time (delivery is async)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = probe()
            if answer or time.monotonic() > deadline:
                return answer
            time.sleep(0.1)

    def receive_eventually(self, url: str, expected: int) -> list[dict[str, Any]]:
        """Receives until ``expected`` messages came (or the bounded wait ends)."""
        got: list[dict[str, Any]] = []
        self.eventually(lambda: got.extend(self.receive(url)) or len(got) >= expected)
        return got

    def settle(self) -> None:
        """Before asserting that nothing (else) arrived: on an asynchronous broker, give
        deliveries a moment; the lab delivers inside Publish."""
        if self.asynchronous:
            time.sleep(1.0)

    def visible(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def certificate(self, url: str) -> bytes:
        """The PEM at SigningCertURL (on a local endpoint, fetched from that endpoint)."""
        if self.endpoint is not None:
            url = self.endpoint + urlsplit(url).path
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        return response.content


@pytest.fixture(
    params=[
        "lab",
        pytest.param("moto_server", marks=pytest.mark.server),
        pytest.param("localstack", marks=pytest.mark.localstack),
    ]
)
def aws(request: pytest.FixtureRequest) -> Iterator[Broker]:
    if request.param == "lab":
        lab: SimulatedBroker = request.getfixturevalue("broker")
        yield Broker("lab", lab.client("sqs"), lab.client("sns"), lab.clock.advance, False)
        return
    if request.param == "moto_server":
        server: MotoServer = request.getfixturevalue("moto_server")
        server.reset()
        with loopback_only():
            yield Broker(
                "moto_server",
                server.client("sqs"),
                server.client("sns"),
                time.sleep,
                False,
                server.url,
            )
        return
    stack: LocalStack = request.getfixturevalue("localstack")
    stack.reset()
    with loopback_only():
        yield Broker(
            "localstack",
            stack.client("sqs"),
            stack.client("sns"),
            lambda seconds: time.sleep(seconds + LOCALSTACK_TIMER_SLACK),
            True,
            stack.url,
        )


def error_code(call: Callable[[], Any]) -> str:
    """The AWS error code ``call`` fails with ("" if it succeeds)."""
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return ""


# -- SQS -----------------------------------------------------------------------------------------


@fidelity("queue-round-trip")
def test_queue_message_comes_back_unchanged_and_is_gone_once_deleted(aws: Broker) -> None:
    url, _ = aws.queue("parcels", VisibilityTimeout=1)
    attributes = {
        "manifest": {"DataType": "String", "StringValue": "Parcel"},
        "weight": {"DataType": "Number", "StringValue": "2.5"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    }
    aws.sqs.send_message(QueueUrl=url, MessageBody="café ☕", MessageAttributes=attributes)

    (message,) = aws.receive(url)
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    assert message["Body"] == "café ☕"
    assert message["MessageAttributes"] == attributes
    aws.advance(1.5)
    assert aws.receive(url) == []


@fidelity("visibility-timeout")
def test_received_message_reappears_after_its_visibility_timeout(aws: Broker) -> None:
    url, _ = aws.queue("flaky", VisibilityTimeout=2)
    aws.sqs.send_message(QueueUrl=url, MessageBody="retry me")

    first = aws.receive(url)
    hidden = aws.receive(url)
    aws.advance(2.5)
    again = aws.receive(url)

    assert [m["Body"] for m in first] == ["retry me"] and hidden == []
    assert [m["Body"] for m in again] == ["retry me"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def _dead_lettered(aws: Broker) -> tuple[list[dict[str, Any]], str]:
    """A message received twice without a delete, on a queue with maxReceiveCount 2."""
    dlq_url, dlq_arn = aws.queue("payments-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = aws.queue("payments", VisibilityTimeout=1, RedrivePolicy=policy)
    aws.sqs.send_message(QueueUrl=url, MessageBody="poison")
    receives = 0
    for _ in range(4):
        receives += len(aws.receive(url))
        aws.advance(1.2)
    assert receives == 2
    return aws.receive_eventually(dlq_url, 1), arn


@fidelity("dead-letter-after-max-receives")
def test_message_moves_to_the_dlq_after_max_receive_count_receives(aws: Broker) -> None:
    moved, _ = _dead_lettered(aws)

    assert [m["Body"] for m in moved] == ["poison"]


@fidelity(
    "dead-letter-source-arn",
    wrong_on={"moto_server": f"{STOCK_MOTO} does not set DeadLetterQueueSourceArn"},
)
def test_dead_lettered_message_names_its_source_queue(aws: Broker) -> None:
    moved, source_arn = _dead_lettered(aws)

    assert moved[0]["Attributes"].get("DeadLetterQueueSourceArn") == source_arn


@fidelity("fifo-order")
def test_fifo_queue_returns_each_group_in_order(aws: Broker) -> None:
    url, _ = aws.queue("ledger.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for n in range(3):
        for group in ("alice", "bob"):
            aws.sqs.send_message(QueueUrl=url, MessageBody=f"{group}-{n}", MessageGroupId=group)

    seen: list[str] = []
    for _ in range(6):
        batch = aws.receive(url)
        seen += [m["Body"] for m in batch]
        for message in batch:
            aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(seen) == 6:
            break

    for group in ("alice", "bob"):
        assert [s for s in seen if s.startswith(group)] == [f"{group}-{n}" for n in range(3)]


@fidelity(
    "fifo-dedup-window",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} forgets a deduplication id once its message is deleted"
    },
)
def test_fifo_queue_drops_a_resent_deduplication_id_even_after_the_first_was_deleted(
    aws: Broker,
) -> None:
    url, _ = aws.queue("invoices.fifo", FifoQueue="true")
    send = dict(QueueUrl=url, MessageGroupId="g", MessageDeduplicationId="inv-1")
    first = aws.sqs.send_message(MessageBody="first", **send)["MessageId"]
    (received,) = aws.receive(url)
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"])

    again = aws.sqs.send_message(MessageBody="resent", **send)["MessageId"]

    assert again == first  # SQS answers a duplicate with the first message's id
    assert aws.receive(url) == []


@fidelity(
    "fifo-topic-dedup-window",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} delivers a repeated id once the first copy was deleted"
    },
)
def test_fifo_topic_drops_a_republished_deduplication_id_after_the_copy_was_deleted(
    aws: Broker,
) -> None:
    topic = aws.topic("orders.fifo", FifoTopic="true")
    url = aws.subscribed_queue(topic, "orders-copy.fifo", RawMessageDelivery="true")
    publish = dict(TopicArn=topic, MessageGroupId="g", MessageDeduplicationId="order-1")
    aws.sns.publish(Message="first", **publish)
    (received,) = aws.receive_eventually(url, 1)
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"])

    aws.sns.publish(Message="again", **publish)
    aws.settle()

    assert received["Body"] == "first"
    assert aws.receive(url) == []


@fidelity(
    "message-size-bytes",
    wrong_on={"moto_server": f"{STOCK_MOTO} counts characters and leaves attributes out"},
)
def test_message_size_counts_utf8_bytes_and_attributes(aws: Broker) -> None:
    url, _ = aws.queue("small", MaximumMessageSize=1024)
    label = {"note": {"DataType": "String", "StringValue": "x" * 100}}

    fits = error_code(lambda: aws.sqs.send_message(QueueUrl=url, MessageBody="é" * 450))
    too_many_bytes = error_code(lambda: aws.sqs.send_message(QueueUrl=url, MessageBody="é" * 600))
    too_with_attributes = error_code(
        lambda: aws.sqs.send_message(QueueUrl=url, MessageBody="a" * 950, MessageAttributes=label)
    )

    assert fits == ""  # 900 bytes
    assert too_many_bytes == "InvalidParameterValue"  # 600 characters, 1200 bytes
    assert too_with_attributes == "InvalidParameterValue"  # 950 + 4 + 6 + 100 bytes


@fidelity(
    "queue-attribute-ranges",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} accepts every value out of range but MaximumMessageSize",
        "localstack": "LocalStack accepts queue attributes out of range",
    },
)
def test_queue_attributes_outside_sqs_ranges_are_refused(aws: Broker) -> None:
    wrong = {
        "DelaySeconds": "901",
        "MaximumMessageSize": "1023",
        "MessageRetentionPeriod": "59",
        "ReceiveMessageWaitTimeSeconds": "21",
        "VisibilityTimeout": "43201",
    }
    url, _ = aws.queue("ranged")
    answers = {
        name: (
            error_code(lambda n=name, v=value: aws.queue(f"ranged-{n}", **{n: v})),
            error_code(
                lambda n=name, v=value: aws.sqs.set_queue_attributes(
                    QueueUrl=url, Attributes={n: v}
                )
            ),
        )
        for name, value in wrong.items()
    }
    edges = error_code(lambda: aws.queue("edges", VisibilityTimeout=43200, DelaySeconds=900))
    fifo_name_on_standard = error_code(lambda: aws.queue("not-fifo.fifo"))

    assert answers == dict.fromkeys(wrong, ("InvalidAttributeValue", "InvalidAttributeValue"))
    assert edges == ""
    assert fifo_name_on_standard == "InvalidParameterValue"


@fidelity(
    "message-contents",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} accepts empty bodies, any character and empty attributes",
        "localstack": "LocalStack accepts more than 10 message attributes",
    },
)
def test_messages_sqs_cannot_carry_are_refused(aws: Broker) -> None:
    url, _ = aws.queue("strict-inbox")
    many = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    empty = {"a": {"DataType": "String", "StringValue": ""}}

    def send(body: str, attributes: dict[str, Any] | None = None) -> str:
        extra = {"MessageAttributes": attributes} if attributes else {}
        return error_code(lambda: aws.sqs.send_message(QueueUrl=url, MessageBody=body, **extra))

    assert send("") == "MissingParameter"
    assert send("a\x00b") == "InvalidMessageContents"
    assert send("ok", empty) == "InvalidParameterValue"
    assert send("ok", many) == "InvalidParameterValue"
    assert send("tab\tand emoji 🎉") == ""
    deduplicated = error_code(
        lambda: aws.sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    )
    assert deduplicated == "InvalidParameterValue"  # a standard queue has no deduplication


# -- SNS -----------------------------------------------------------------------------------------


@fidelity("fan-out-envelope")
def test_topic_publish_reaches_every_queue_in_an_sns_envelope(aws: Broker) -> None:
    topic = aws.topic("shop")
    urls = [aws.subscribed_queue(topic, name) for name in ("billing", "audit")]
    kind = {"kind": {"DataType": "String", "StringValue": "order"}}
    message_id = aws.sns.publish(TopicArn=topic, Message="o-1", MessageAttributes=kind)["MessageId"]

    envelopes = [json.loads(aws.receive_eventually(url, 1)[0]["Body"]) for url in urls]

    for envelope in envelopes:
        assert envelope["Type"] == "Notification"
        assert (envelope["Message"], envelope["MessageId"]) == ("o-1", message_id)
        assert envelope["TopicArn"] == topic
        assert envelope["MessageAttributes"] == {"kind": {"Type": "String", "Value": "order"}}


@fidelity("asynchronous-delivery")
def test_a_test_waits_for_delivery_with_a_bounded_poll(aws: Broker) -> None:
    topic = aws.topic("events")
    url = aws.subscribed_queue(topic, "events-copy")

    aws.sns.publish(TopicArn=topic, Message="hello")

    assert aws.eventually(lambda: aws.visible(url) == 1)


@fidelity(
    "raw-delivery-binary",
    wrong_on={"moto_server": f"{STOCK_MOTO} crashes receiving a raw Binary attribute"},
)
def test_raw_delivery_hands_over_the_message_and_its_binary_attribute(aws: Broker) -> None:
    topic = aws.topic("images")
    url = aws.subscribed_queue(topic, "thumbs", RawMessageDelivery="true")
    attributes = {
        "thumb": {"DataType": "Binary", "BinaryValue": b"\x89PNG\x00"},
        "size": {"DataType": "Number", "StringValue": "64"},
    }
    aws.sns.publish(TopicArn=topic, Message="raw body", MessageAttributes=attributes)

    (message,) = aws.receive_eventually(url, 1)

    assert message["Body"] == "raw body"
    assert message["MessageAttributes"] == attributes


def _verifies(envelope: dict[str, Any], pem: bytes) -> bool:
    fields = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    signed = "".join(f"{f}\n{envelope[f]}\n" for f in fields if f in envelope).encode()
    key = x509.load_pem_x509_certificate(pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    algorithm = hashes.SHA256() if envelope["SignatureVersion"] == "2" else hashes.SHA1()
    try:
        key.verify(base64.b64decode(envelope["Signature"]), signed, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


@fidelity(
    "signature-version",
    wrong_on={"moto_server": f'{STOCK_MOTO} always says "2" and signs without the Subject'},
)
@pytest.mark.parametrize("asked", [None, "1", "2"])
def test_envelope_signature_version_follows_the_topic_and_verifies(
    aws: Broker, asked: str | None
) -> None:
    topic = aws.topic("signed", **({"SignatureVersion": asked} if asked else {}))
    url = aws.subscribed_queue(topic, "signed-copy")
    aws.sns.publish(TopicArn=topic, Message="check me", Subject="hello")

    envelope = json.loads(aws.receive_eventually(url, 1)[0]["Body"])

    assert envelope["SignatureVersion"] == (asked or "1")
    assert _verifies(envelope, aws.certificate(envelope["SigningCertURL"]))


# -- filter policies -----------------------------------------------------------------------------


def _filtered(
    aws: Broker, policy: dict[str, Any], scope: str, messages: list[tuple[str, dict[str, Any]]]
) -> list[str]:
    """Publishes each (body, attributes) through a subscription with ``policy``; returns the
    bodies that got through, once the last (a marker every policy lets through) arrived."""
    index = len(aws.queues)
    aws.queues[f"filtered-{index}"] = ""
    topic = aws.topic(f"filtered-{index}")
    url = aws.subscribed_queue(
        topic,
        f"filtered-copy-{index}",
        FilterPolicy=json.dumps(policy),
        FilterPolicyScope=scope,
        RawMessageDelivery="true",
    )
    for body, attributes in messages:
        aws.sns.publish(TopicArn=topic, Message=body, MessageAttributes=attributes)
    passed = [body for body, _ in messages if "marker" in body]
    got = aws.receive_eventually(url, len(passed))
    aws.settle()
    got += aws.receive(url)
    return sorted(m["Body"] for m in got)


def _text(value: str) -> dict[str, Any]:
    return {"DataType": "String", "StringValue": value}


@fidelity("filter-attributes")
def test_attribute_policy_operators_let_through_only_what_matches(aws: Broker) -> None:
    policy = {
        "store": [{"prefix": "eu-"}],
        "total": [{"numeric": [">=", 10, "<", 100]}],
        "coupon": [{"exists": False}],
        "channel": [{"anything-but": ["test"]}, {"equals-ignore-case": "TEST-OK"}],
    }
    number = {"DataType": "Number", "StringValue": "50"}
    base = {"store": _text("eu-west"), "total": number, "channel": _text("web")}
    messages = [
        ("marker-1", base),
        ("us store", {**base, "store": _text("us-east")}),
        ("too cheap", {**base, "total": {"DataType": "Number", "StringValue": "5"}}),
        ("has coupon", {**base, "coupon": _text("X")}),
        ("test channel", {**base, "channel": _text("test")}),
        ("marker-2", {**base, "channel": _text("test-ok")}),
        ("no total", {k: v for k, v in base.items() if k != "total"}),
    ]

    assert _filtered(aws, policy, "MessageAttributes", messages) == ["marker-1", "marker-2"]


@fidelity(
    "filter-exists",
    wrong_on={
        "localstack": "LocalStack lets exists: false through with no attributes at all, and "
        "exists: true through for a null body value",
        "moto_server": f"{STOCK_MOTO} lets exists: false through with no attributes at all",
    },
)
def test_exists_follows_snss_documented_edges(aws: Broker) -> None:
    absent = _filtered(
        aws,
        {"coupon": [{"exists": False}]},
        "MessageAttributes",
        [("no attributes", {}), ("marker other attribute", {"store": _text("eu")})],
    )
    null = _filtered(
        aws,
        {"coupon": [{"exists": True}]},
        "MessageBody",
        [(json.dumps({"coupon": None}), {}), (json.dumps({"coupon": "X", "tag": "marker"}), {})],
    )

    assert absent == ["marker other attribute"]
    assert null == [json.dumps({"coupon": "X", "tag": "marker"})]


@fidelity(
    "filter-body-or",
    wrong_on={"moto_server": f"{STOCK_MOTO} fails the publish ($or in a body policy crashes)"},
)
def test_or_in_a_body_policy_lets_either_alternative_through(aws: Broker) -> None:
    policy = {"kind": ["order"], "$or": [{"total": [{"numeric": [">", 100]}]}, {"vip": [True]}]}
    messages = [
        (json.dumps({"kind": "order", "total": 500, "tag": "marker"}), {}),
        (json.dumps({"kind": "order", "total": 5, "vip": True, "tag": "marker"}), {}),
        (json.dumps({"kind": "order", "total": 5}), {}),
        (json.dumps({"kind": "refund", "total": 500}), {}),
    ]

    assert len(_filtered(aws, policy, "MessageBody", messages)) == 2


@fidelity("filter-cidr", wrong_on={"moto_server": f"{STOCK_MOTO} refuses the cidr operator"})
def test_cidr_policy_matches_addresses_inside_the_block(aws: Broker) -> None:
    policy = {"source_ip": [{"cidr": "10.0.0.0/24"}]}
    messages = [
        ("marker inside", {"source_ip": _text("10.0.0.42")}),
        ("outside", {"source_ip": _text("10.0.1.42")}),
        ("not an address", {"source_ip": _text("server-1")}),
    ]

    assert _filtered(aws, policy, "MessageAttributes", messages) == ["marker inside"]


@fidelity(
    "filter-anything-but-array",
    wrong_on={"moto_server": f"{STOCK_MOTO} never matches anything-but against an array"},
)
def test_anything_but_matches_a_body_array_holding_another_value(aws: Broker) -> None:
    policy = {"interests": [{"anything-but": ["rugby", "tennis"]}]}
    messages = [
        (json.dumps({"interests": ["rugby", "baseball"], "tag": "marker"}), {}),
        (json.dumps({"interests": ["rugby", "tennis"]}), {}),
        (json.dumps({"interests": "tennis"}), {}),
    ]

    assert _filtered(aws, policy, "MessageBody", messages) == [messages[0][0]]


REFUSED_POLICIES: dict[str, tuple[str, str]] = {
    "not JSON": ("{not json", "MessageAttributes"),
    "empty list": ('{"kind": []}', "MessageAttributes"),
    "prefix not a string": ('{"kind": [{"prefix": 5}]}', "MessageAttributes"),
    "unknown operator": ('{"kind": [{"wildcard": "a*"}]}', "MessageAttributes"),
    "two operators in one": ('{"kind": [{"prefix": "a", "suffix": "b"}]}', "MessageAttributes"),
    "exists not a boolean": ('{"kind": [{"exists": "yes"}]}', "MessageAttributes"),
    "anything-but exists": ('{"kind": [{"anything-but": {"exists": true}}]}', "MessageAttributes"),
    "numeric bottom above top": ('{"n": [{"numeric": [">", 10, "<", 5]}]}', "MessageAttributes"),
    "numeric unknown operator": ('{"n": [{"numeric": ["!=", 5]}]}', "MessageAttributes"),
    "bad cidr": ('{"ip": [{"cidr": "10.0.0.0"}]}', "MessageAttributes"),
    "nested in attribute scope": ('{"a": {"b": ["c"]}}', "MessageAttributes"),
    "six keys": (json.dumps({f"k{i}": ["v"] for i in range(6)}), "MessageAttributes"),
    "over 150 combinations": (
        json.dumps({"a": list("abcdefghij"), "b": list("abcdefghij"), "c": ["x", "y"]}),
        "MessageAttributes",
    ),
    "value not a list or object": ('{"kind": "order"}', "MessageBody"),
}


def _subscribe_answers(aws: Broker, policies: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Each policy's answer to Subscribe (its own queue each: SNS refuses a second subscription
    of one endpoint with other attributes)."""
    topic = aws.topic("policies")
    answers: dict[str, str] = {}
    for index, (name, (policy, scope)) in enumerate(policies.items()):
        _, arn = aws.queue(f"policy-{index}")
        attributes = {"FilterPolicy": policy, "FilterPolicyScope": scope}
        answers[name] = error_code(
            lambda arn=arn, attributes=attributes: aws.sns.subscribe(
                TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes
            )
        )
    return answers


@fidelity(
    "filter-refused",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} accepts some (empty list, prefix 5) and fails on non-JSON "
        "with an internal error"
    },
)
def test_policies_sns_refuses_are_refused_with_invalid_parameter(aws: Broker) -> None:
    answers = _subscribe_answers(aws, REFUSED_POLICIES)

    assert answers == dict.fromkeys(REFUSED_POLICIES, "InvalidParameter")


ACCEPTED_POLICIES: dict[str, tuple[str, str]] = {
    "anything-but prefix": ('{"kind": [{"anything-but": {"prefix": "test-"}}]}', "MessageBody"),
    "anything-but numbers": ('{"n": [{"anything-but": [1, 2]}]}', "MessageAttributes"),
    "suffix and equals-ignore-case": (
        '{"f": [{"suffix": ".png"}, {"equals-ignore-case": "README"}]}',
        "MessageAttributes",
    ),
    "numeric equals": ('{"n": [{"numeric": ["=", 3.5]}]}', "MessageAttributes"),
    "nested body": ('{"order": {"lines": {"sku": ["a", "b"]}}}', "MessageBody"),
    "or in attributes": ('{"$or": [{"a": ["x"]}, {"b": ["y"]}]}', "MessageAttributes"),
    "150 combinations": (
        json.dumps({"a": list("abcdefghij"), "b": list("abcde"), "c": ["x", "y", "z"]}),
        "MessageAttributes",
    ),
}


@fidelity("filter-refused")
def test_policies_sns_accepts_are_accepted(aws: Broker) -> None:
    answers = _subscribe_answers(aws, ACCEPTED_POLICIES)

    assert answers == dict.fromkeys(ACCEPTED_POLICIES, "")


@fidelity(
    "sns-message-size-bytes",
    wrong_on={"moto_server": f"{STOCK_MOTO} counts characters, not bytes"},
)
def test_sns_refuses_a_message_over_256_kib_in_bytes(aws: Broker) -> None:
    topic = aws.topic("big")

    fits = error_code(lambda: aws.sns.publish(TopicArn=topic, Message="é" * 130_000))
    too_big = error_code(lambda: aws.sns.publish(TopicArn=topic, Message="é" * 132_000))

    assert (fits, too_big) == ("", "InvalidParameter")  # 260,000 and 264,000 bytes


@fidelity(
    "sns-publish-checks",
    wrong_on={"moto_server": f"{STOCK_MOTO} accepts an empty message and answers MissingParameter"},
)
def test_publish_refuses_what_sns_refuses(aws: Broker) -> None:
    topic = aws.topic("plain")
    fifo = aws.topic("ordered.fifo", FifoTopic="true")

    answers = [
        error_code(lambda: aws.sns.publish(TopicArn=topic, Message="")),
        error_code(lambda: aws.sns.publish(TopicArn=fifo, Message="m", MessageDeduplicationId="d")),
        error_code(lambda: aws.sns.publish(TopicArn=fifo, Message="m", MessageGroupId="g")),
        error_code(lambda: aws.sns.publish(TopicArn=topic + "-gone", Message="m")),
        error_code(lambda: aws.sns.publish(TopicArn=topic, Message="fine")),
    ]

    assert answers == ["InvalidParameter", "InvalidParameter", "InvalidParameter", "NotFound", ""]


@fidelity(
    "sns-attribute-values",
    wrong_on={
        "moto_server": f"{STOCK_MOTO} answers InvalidParameter",
        "localstack": "LocalStack accepts a Number attribute that is not a number",
    },
)
def test_publish_checks_attribute_values_as_sns(aws: Broker) -> None:
    topic = aws.topic("typed")

    def publish(attribute: dict[str, Any]) -> str:
        return error_code(
            lambda: aws.sns.publish(TopicArn=topic, Message="m", MessageAttributes={"a": attribute})
        )

    assert publish({"DataType": "String", "StringValue": ""}) == "ParameterValueInvalid"
    assert publish({"DataType": "Number", "StringValue": "twelve"}) == "ParameterValueInvalid"
    assert publish({"DataType": "Number", "StringValue": "-1.5e3"}) == ""
