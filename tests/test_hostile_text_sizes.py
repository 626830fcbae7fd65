"""Text and sizes SQS and SNS refuse, sent through the lab's API and through plain boto3.

SQS carries only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in a body
and in a String attribute value (SendMessage, MessageAttributeValue); SNS carries UTF-8 text,
so a lone surrogate half, which UTF-8 cannot hold, is refused there. Each refusal is typed
(``InvalidMessageContents``, or the service's error code through boto3), never a
``UnicodeEncodeError``; nothing half-sent; every copy accounted for afterwards; sizes count
UTF-8 bytes up to exactly the limit.
"""

from __future__ import annotations

import decimal
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError

from melange_lab import QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.errors import (
    BrokerRequestFailed,
    InvalidMessageContents,
    InvalidParameter,
    MelangeLabError,
    MessageTooLarge,
)
from melange_lab.events import EventKind
from melange_lab.serializers import Serializer, SerializerRegistry
from melange_lab.widgets.actions import default_registry
from tests.hostile import adds_up, deep_list

# Around each edge of SQS's ranges
SQS_ALLOWED = ["\t", "\n", "\r", " ", "~", "\x7f", "é", "\ud7ff", "\ue000", "\ufffd", "\U00010000",
               "\U0001f600", "\U0010ffff"]  # fmt: skip
SQS_REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ud800", "\udbff",
               "\udc00", "\udc80", "\udfff", "\ufffe", "\uffff"]  # fmt: skip
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udc80", "\udfff"]


class RawText(Serializer[str]):
    """Publishes text as it is: what a learner's own serializer may produce."""

    @staticmethod
    def identifier() -> int:
        return 70

    def serialize(self, data: str) -> str:
        return data

    def deserialize(self, data: str, manifest: str | None = None) -> str:
        return data


RAW = SerializerRegistry({"serializers": {"raw": RawText}, "default": "raw"})


@pytest.fixture(scope="module")
def lab() -> Iterator[SimulatedBroker]:
    broker = SimulatedBroker(clock="manual")
    yield broker
    broker.stop()


@pytest.fixture
def broker(lab: SimulatedBroker) -> SimulatedBroker:
    """Topic 'orders' to 'billing' (envelope) and 'audit' (raw delivery); queue 'jobs'."""
    if not lab.running:
        lab.start()
    lab.reset()
    backend = lab.backend
    topic = backend.declare_topic("orders")
    backend.declare_queue("billing", topic)
    backend.declare_queue("audit", topic, raw_message_delivery=True)
    backend.declare_queue("jobs")
    return lab


def totals(broker: SimulatedBroker) -> dict[str, int]:
    return {q.name: q.total for q in broker.queues()}


def still_works(broker: SimulatedBroker, around_the_lab: Mapping[str, int] = {}) -> None:
    before = totals(broker)
    TopicPublisher(default_registry(), broker.backend).publish("orders", {"order_id": "ok"})
    QueuePublisher(default_registry(), broker.backend).publish("jobs", {"job": 1})
    after = totals(broker)
    assert after["billing"] == before["billing"] + 1 and after["jobs"] == before["jobs"] + 1
    assert adds_up(broker, around_the_lab)


def queue_url(broker: SimulatedBroker, name: str) -> str:
    return str(broker.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def topic_arn(broker: SimulatedBroker) -> str:
    return str(broker.backend.get_topic("orders").arn)


def code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


# -- plain boto3, SQS --------------------------------------------------------------------------


@pytest.mark.parametrize("character", SQS_REFUSED, ids=[f"U+{ord(c):04X}" for c in SQS_REFUSED])
def test_boto3_sqs_refuses_a_body_or_attribute_value_with_a_character_sqs_does_not_carry(
    broker: SimulatedBroker, character: str
) -> None:
    sqs, url = broker.client("sqs"), queue_url(broker, "jobs")
    attribute = {"DataType": "String", "StringValue": f"v{character}"}
    # a body is InvalidMessageContents; an attribute value InvalidParameterValue (as AWS
    # answers LocalStack's AWS-validated test_invalid_string_attributes_cause_...)
    for request, expected in (
        ({"MessageBody": f"body{character}"}, "InvalidMessageContents"),
        (
            {"MessageBody": "body", "MessageAttributes": {"note": attribute}},
            "InvalidParameterValue",
        ),
    ):
        with pytest.raises(ClientError) as error:
            sqs.send_message(QueueUrl=url, **request)
        assert code(error.value) == expected
        assert f"U+{ord(character):04X}" in str(error.value)
    assert totals(broker)["jobs"] == 0
    still_works(broker)


@pytest.mark.parametrize("character", SQS_ALLOWED, ids=[f"U+{ord(c):04X}" for c in SQS_ALLOWED])
def test_boto3_sqs_carries_every_edge_of_its_ranges_unchanged(
    broker: SimulatedBroker, character: str
) -> None:
    sqs, url = broker.client("sqs"), queue_url(broker, "jobs")
    body = f"a{character}b"
    value = {"DataType": "String", "StringValue": f"v{character}"}
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={"note": value})
    received = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert received["Body"] == body
    assert received["MessageAttributes"]["note"]["StringValue"] == f"v{character}"


@pytest.mark.parametrize("character", SURROGATES, ids=[f"U+{ord(c):04X}" for c in SURROGATES])
def test_boto3_sqs_refuses_a_lone_surrogate_anywhere_with_an_sqs_error(
    broker: SimulatedBroker, character: str
) -> None:
    sqs, url = broker.client("sqs"), queue_url(broker, "jobs")
    for call in (
        lambda: sqs.create_queue(QueueName=f"q{character}"),
        lambda: sqs.send_message(
            QueueUrl=url,
            MessageBody="x",
            MessageAttributes={f"n{character}": {"DataType": "String", "StringValue": "v"}},
        ),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert code(error.value).startswith("Invalid")
    assert set(totals(broker)) == {"billing", "audit", "jobs"} and totals(broker)["jobs"] == 0


# -- plain boto3, SNS: botocore could not even encode these -----------------------------------


@pytest.mark.parametrize("character", SURROGATES, ids=[f"U+{ord(c):04X}" for c in SURROGATES])
@pytest.mark.parametrize(
    "where", ["Message", "Subject", "MessageAttributes", "TopicName", "FilterPolicy"]
)
def test_boto3_sns_refuses_a_lone_surrogate_as_invalid_parameter_not_unicode_encode_error(
    broker: SimulatedBroker, character: str, where: str
) -> None:
    sns, arn = broker.client("sns"), topic_arn(broker)
    calls = {
        "Message": lambda: sns.publish(TopicArn=arn, Message=f"hi{character}"),
        "Subject": lambda: sns.publish(TopicArn=arn, Message="hi", Subject=f"s{character}"),
        "MessageAttributes": lambda: sns.publish(
            TopicArn=arn,
            Message="hi",
            MessageAttributes={"a": {"DataType": "String", "StringValue": character}},
        ),
        "TopicName": lambda: sns.create_topic(Name=f"t{character}"),
        "FilterPolicy": lambda: sns.subscribe(
            TopicArn=arn,
            Protocol="sqs",
            Endpoint="arn:aws:sqs:us-east-1:123456789012:jobs",
            Attributes={"FilterPolicy": '{"a": ["' + character + '"]}'},
        ),
    }
    before = totals(broker)
    with pytest.raises(sns.exceptions.InvalidParameterException) as error:
        calls[where]()
    assert f"U+{ord(character):04X}" in str(error.value)
    assert totals(broker) == before
    assert len(broker.subscriptions()) == 2 and len(broker.topics()) == 1
    still_works(broker)


def test_plain_boto3_made_while_the_broker_runs_refuses_the_same_way(
    broker: SimulatedBroker,
) -> None:
    import boto3

    sns = boto3.client("sns")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=topic_arn(broker), Message="x\ud800")
    still_works(broker)


# -- the lab's API -----------------------------------------------------------------------------


@pytest.mark.parametrize("character", SURROGATES, ids=[f"U+{ord(c):04X}" for c in SURROGATES])
def test_a_topic_publish_of_text_utf8_cannot_hold_is_refused_up_front_and_nothing_is_sent(
    broker: SimulatedBroker, character: str
) -> None:
    publisher = TopicPublisher(RAW, broker.backend)
    before = list(broker.events)
    with pytest.raises(InvalidMessageContents) as error:
        publisher.publish("orders", f"text {character}")
    assert error.value.aws_code == "InvalidParameter" and error.value.position == 5
    assert "U+" in str(error.value) and "'orders'" in str(error.value)
    with pytest.raises(InvalidMessageContents):
        publisher.publish("orders", "text", message_attributes={"note": f"v{character}"})
    with pytest.raises(MelangeLabError):
        publisher.publish("orders", "text", subject=f"s{character}")
    assert list(broker.events) == before
    still_works(broker)


@pytest.mark.parametrize("character", SQS_REFUSED, ids=[f"U+{ord(c):04X}" for c in SQS_REFUSED])
def test_json_payloads_carry_any_character_escaped_and_arrive_equal(
    broker: SimulatedBroker, character: str
) -> None:
    data = {"text": f"a{character}b", "key": character}
    QueuePublisher(default_registry(), broker.backend).publish("jobs", data)
    TopicPublisher(default_registry(), broker.backend).publish("orders", data)
    assert broker.peek("jobs")[0].payload == data
    assert broker.peek("billing")[0].payload == data
    assert adds_up(broker)


def test_a_queue_publish_whose_text_sqs_refuses_is_refused_up_front(
    broker: SimulatedBroker,
) -> None:
    class Labelled(RawText):
        def manifest(self, data: str) -> str:
            return f"label{data}"  # the manifest attribute carries the character

    registry = SerializerRegistry({"serializers": {"raw": Labelled}, "default": "raw"})
    before = list(broker.events)
    for character in ("\x00", "\uffff", "\ud800"):
        with pytest.raises(InvalidMessageContents) as error:
            QueuePublisher(registry, broker.backend).publish("jobs", character)
        assert error.value.aws_code == "InvalidMessageContents"
    assert list(broker.events) == before and totals(broker)["jobs"] == 0
    still_works(broker)


@pytest.mark.parametrize("group_id", ["\ud800", "g\x00", "g h", "é", "g" * 129, ""], ids=range(6))
def test_a_fifo_group_id_sqs_refuses_is_a_typed_error(
    broker: SimulatedBroker, group_id: str
) -> None:
    broker.backend.declare_queue("work.fifo")
    with pytest.raises(MelangeLabError) as error:
        QueuePublisher(default_registry(), broker.backend).publish(
            "work.fifo", {"a": 1}, message_group_id=group_id
        )
    assert len(str(error.value)) < 1_000
    assert totals(broker)["work.fifo"] == 0


# -- sizes -----------------------------------------------------------------------------------


def test_a_queue_message_fills_its_queues_maximum_message_size_to_the_byte(
    broker: SimulatedBroker,
) -> None:
    sqs, url = broker.client("sqs"), queue_url(broker, "jobs")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": "1024"})
    full = sqs.send_message(QueueUrl=url, MessageBody="\U0001f600" * 256)  # 1,024 bytes
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=url, MessageBody="\U0001f600" * 256 + "x")
    assert code(error.value) == "InvalidParameterValue"
    attribute = {"n": {"DataType": "String", "StringValue": "v"}}  # 1 + 6 + 1 bytes
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1_017, MessageAttributes=attribute)
    filled = sqs.send_message(QueueUrl=url, MessageBody="x" * 1_016, MessageAttributes=attribute)
    with pytest.raises((MessageTooLarge, BrokerRequestFailed)) as too_large:
        QueuePublisher(RAW, broker.backend).publish("jobs", "y" * 2_000)  # its limit was changed
    assert "1024" in str(too_large.value).replace(",", "")  # behind the backend's back
    assert totals(broker)["jobs"] == 2
    still_works(broker, {full["MessageId"]: 1, filled["MessageId"]: 1})


def test_an_sns_message_is_at_most_262144_bytes_with_its_attributes(
    broker: SimulatedBroker,
) -> None:
    publisher = TopicPublisher(RAW, broker.backend)
    with pytest.raises(MessageTooLarge) as error:
        publisher.publish("orders", "é" * 131_072)  # 262,144 bytes before the lab's attributes
    assert error.value.limit == 262_144
    sns = broker.client("sns")
    with pytest.raises(ClientError):
        sns.publish(TopicArn=topic_arn(broker), Message="x" * 262_145)
    published = sns.publish(TopicArn=topic_arn(broker), Message="x" * 262_144)
    assert adds_up(broker, {published["MessageId"]: 2})  # into billing and audit


def test_a_batch_over_one_mebibyte_in_all_is_refused_whole(broker: SimulatedBroker) -> None:
    sqs, url = broker.client("sqs"), queue_url(broker, "jobs")
    entries: list[dict[str, Any]] = [{"Id": str(i), "MessageBody": "x" * 200_000} for i in range(6)]
    with pytest.raises(ClientError) as error:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert "TooLong" in code(error.value)
    assert totals(broker)["jobs"] == 0
    still_works(broker)


# -- one subscription's failure is its own (SNS delivers to each subscription on its own) -----


def failures(broker: SimulatedBroker) -> dict[str, str]:
    return {
        str(e.queue): str(e.reason)
        for e in broker.events
        if e.kind is EventKind.DELIVERY_FAILED and e.queue
    }


def shrink(broker: SimulatedBroker, queue: str, limit: int = 1_024) -> None:
    sqs = broker.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": str(limit)})


@pytest.mark.parametrize("how", ["lab", "boto3"])
def test_a_queue_too_small_for_the_message_fails_alone_and_the_publish_succeeds(
    broker: SimulatedBroker, how: str
) -> None:
    broker.backend.declare_queue("small", broker.backend.get_topic("orders"))
    shrink(broker, "small")
    text = "y" * 2_000
    if how == "lab":
        published = TopicPublisher(RAW, broker.backend).publish("orders", text)
    else:
        answer = broker.client("sns").publish(TopicArn=topic_arn(broker), Message=text)
        published = answer["MessageId"]
    assert published
    assert totals(broker) == {"billing": 1, "audit": 1, "jobs": 0, "small": 0}
    assert "shorter than 1024 bytes" in failures(broker)["small"]
    assert set(failures(broker)) == {"small"}
    assert adds_up(broker)
    TopicPublisher(RAW, broker.backend).publish("orders", "short")  # it still receives
    assert totals(broker)["small"] == 1
    still_works(broker)


@pytest.mark.parametrize("character", ["\x00", "\x1f", "\uffff"], ids=["nul", "1f", "ffff"])
def test_a_raw_copy_sqs_cannot_carry_fails_alone_and_the_envelopes_arrive_escaped(
    broker: SimulatedBroker, character: str
) -> None:
    published = TopicPublisher(RAW, broker.backend).publish("orders", f"a{character}b")
    assert published
    assert totals(broker)["billing"] == 1 and totals(broker)["audit"] == 0
    assert broker.peek("billing")[0].payload == f"a{character}b"
    assert f"U+{ord(character):04X}" in failures(broker)["audit"]
    assert adds_up(broker)
    still_works(broker)


def test_a_raw_copy_whose_attribute_sqs_cannot_carry_fails_alone(broker: SimulatedBroker) -> None:
    TopicPublisher(RAW, broker.backend).publish(
        "orders", "fine", message_attributes={"note": "bell\x07"}
    )
    assert totals(broker)["billing"] == 1 and totals(broker)["audit"] == 0
    assert "audit" in failures(broker) and set(failures(broker)) == {"audit"}
    assert adds_up(broker)
    still_works(broker)


def test_every_subscription_failing_still_loses_nothing_and_says_so_for_each(
    broker: SimulatedBroker,
) -> None:
    shrink(broker, "billing")
    published = TopicPublisher(RAW, broker.backend).publish("orders", "z\x00" * 1_000)
    assert published
    assert totals(broker) == {"billing": 0, "audit": 0, "jobs": 0}
    assert set(failures(broker)) == {"billing", "audit"}
    assert adds_up(broker)


# -- message attribute values: what SNS and SQS carry, or a typed error naming the attribute ----

BIG_DIGITS = 10**5_000
BAD_ATTRIBUTE_VALUES: dict[str, Any] = {
    "nested list": [["x"]],
    "object in a list": [{"x": 1}],
    "NaN in a list": [float("nan")],
    "5,000 digits in a list": [BIG_DIGITS],
    "5,000 digits": BIG_DIGITS,
    "39 significant digits": 10**38 + 1,
    "over 10^126": 1e127,
    "under 10^-128": 1e-129,
    "1e308": 1e308,
    "infinity": float("inf"),
    "a set": {"x"},
    "bytes": b"xyz",
    "an object": object(),
    "a Decimal": decimal.Decimal("1.5"),
    "None": None,
    "empty text": "",
    "empty list": [],
    "deep list": deep_list(),
    "boto3 form with an unknown key": {"DataType": "String", "StringValue": "x", "Foo": 1},
    "boto3 form with a made-up type": {"DataType": "Bogus", "StringValue": "x"},
    "boto3 form with a number as text": {"DataType": "String", "StringValue": 5},
    "boto3 form with text as bytes": {"DataType": "Binary", "BinaryValue": "AAH/"},
}


@pytest.mark.parametrize("value", BAD_ATTRIBUTE_VALUES.values(), ids=BAD_ATTRIBUTE_VALUES)
def test_an_attribute_value_sns_cannot_carry_is_refused_naming_it_and_nothing_is_sent(
    broker: SimulatedBroker, value: Any
) -> None:
    before = len(list(broker.events))
    with pytest.raises(InvalidParameter) as refused:
        TopicPublisher(default_registry(), broker.backend).publish(
            "orders", {"order_id": "A1"}, message_attributes={"priority": value}
        )
    said = str(refused.value)
    assert refused.value.parameter == "message_attributes['priority']"
    assert "is not allowed" in said and ("boto3's form" in said or "38 significant" in said)
    assert len(said) < 600  # a 5,000-digit or 5,000-deep value is quoted short
    assert len(list(broker.events)) == before and totals(broker)["billing"] == 0
    still_works(broker)


GOOD_ATTRIBUTE_VALUES: dict[str, tuple[Any, str, str]] = {
    "38 significant digits": (12345678901234567890123456789012345678, "Number",
                              "12345678901234567890123456789012345678"),
    "10^126": (1e126, "Number", "1e+126"),
    "10^-128": (1e-128, "Number", "1e-128"),
    "zero": (0, "Number", "0"),
    "a list of every kind SNS takes": (["x", 1, 2.5, True, None], "String.Array",
                                       '["x", 1, 2.5, true, null]'),
    "bytes in boto3's form": ({"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}, "Binary",
                              "AAH/"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("value", "kind", "arrives"), GOOD_ATTRIBUTE_VALUES.values(), ids=GOOD_ATTRIBUTE_VALUES
)
def test_an_attribute_value_at_the_edge_of_what_sns_carries_arrives_unchanged(
    broker: SimulatedBroker, value: Any, kind: str, arrives: str
) -> None:
    TopicPublisher(default_registry(), broker.backend).publish(
        "orders", {"order_id": "A1"}, message_attributes={"edge": value}
    )
    (copy,) = broker.peek("billing")
    envelope = json.loads(copy.body)["MessageAttributes"]["edge"]
    assert envelope == {"Type": kind, "Value": arrives}
    still_works(broker)


# -- over HTTP (broker.serve()): what moto cannot read is SQS's or SNS's error, not a 500 ------


@pytest.fixture(scope="module")
def served(lab: SimulatedBroker) -> Iterator[str]:
    if not lab.running:
        lab.start()
    with lab.serve() as server:
        yield server.url


JSON_PROTOCOL = "application/x-amz-json-1.0"


def over_http(url: str, service: str, body: str, target: str = "") -> tuple[int, str]:
    """A request as any HTTP client may send it (signed the way moto routes it, no more)."""
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=key/20260101/us-east-1/{service}/"
        "aws4_request, SignedHeaders=host, Signature=0",
        "Content-Type": JSON_PROTOCOL if target else "application/x-www-form-urlencoded",
        **({"X-Amz-Target": f"AmazonSQS.{target}"} if target else {}),
    }
    request = urllib.request.Request(url, data=body.encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


UNREADABLE_QUERIES = {
    "DelaySeconds=nan": "Action=SendMessage&MessageBody=x&DelaySeconds=nan",
    "DelaySeconds of 5,000 digits": "Action=SendMessage&MessageBody=x&DelaySeconds=" + "9" * 5000,
    "VisibilityTimeout=inf": "Action=ReceiveMessage&VisibilityTimeout=inf",
    "MaxNumberOfMessages of 5,000 digits": "Action=ReceiveMessage&MaxNumberOfMessages="
    + "9" * 5000,
}
NOT_JSON_OBJECTS = {
    "a list, not an object": "[1]",
    "nested 100,000 deep": "[" * 100_000,
    "cut short": '{"QueueUrl": ',
    "a 5,000-digit number": '{"DelaySeconds": ' + "9" * 5000 + "}",
    "not JSON": "QueueUrl=x",
}
UNREADABLE_JSON = {
    "a body that is an object": ("SendMessage", '{"QueueUrl": "%s", "MessageBody": {"a": 1}}'),
    "a count that is NaN": ("ReceiveMessage", '{"QueueUrl": "%s", "MaxNumberOfMessages": NaN}'),
    "a count of 1e400": ("ReceiveMessage", '{"QueueUrl": "%s", "MaxNumberOfMessages": 1e400}'),
    "a timeout that is a list": ("ReceiveMessage", '{"QueueUrl": "%s", "VisibilityTimeout": [1]}'),
}


def refused_and_still_served(broker: SimulatedBroker, status: int, said: str, code: str) -> None:
    assert status == 400 and code in said and ("could not" in said or "not a JSON" in said)
    assert len(said) < 1_000  # what moto said is cut short, never a 5,000-digit echo
    assert totals(broker)["jobs"] == 0
    still_works(broker)


@pytest.mark.parametrize("query", UNREADABLE_QUERIES.values(), ids=UNREADABLE_QUERIES)
def test_a_query_moto_cannot_read_is_an_invalid_parameter_value_and_the_server_goes_on(
    broker: SimulatedBroker, served: str, query: str
) -> None:
    url = urllib.parse.quote(queue_url(broker, "jobs"), safe="")
    status, said = over_http(served, "sqs", f"{query}&QueueUrl={url}")
    refused_and_still_served(broker, status, said, "<Code>InvalidParameterValue</Code>")


@pytest.mark.parametrize(("target", "body"), UNREADABLE_JSON.values(), ids=UNREADABLE_JSON)
def test_json_moto_cannot_read_is_an_invalid_parameter_value_and_the_server_goes_on(
    broker: SimulatedBroker, served: str, target: str, body: str
) -> None:
    filled = body % queue_url(broker, "jobs") if "%s" in body else body
    status, said = over_http(served, "sqs", filled, target)
    refused_and_still_served(broker, status, said, "InvalidParameterValueException")


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        ({"Action": "send_message", "MessageBody": "x", "DelaySeconds": -1}, "DelaySeconds"),
        ({"Action": "receive_message", "VisibilityTimeout": -1}, "VisibilityTimeout"),
        ({"Action": "receive_message", "VisibilityTimeout": 43_201}, "VisibilityTimeout"),
    ],
    ids=["negative delay", "negative visibility", "visibility over 12 hours"],
)
def test_boto3_numbers_below_or_above_sqs_ranges_are_invalid_parameter_value(
    broker: SimulatedBroker, call: dict[str, Any], parameter: str
) -> None:
    sqs = broker.client("sqs")
    arguments = {k: v for k, v in call.items() if k != "Action"}
    with pytest.raises(ClientError) as refused:
        getattr(sqs, call["Action"])(QueueUrl=queue_url(broker, "jobs"), **arguments)
    assert code(refused.value) == "InvalidParameterValue"
    assert parameter in str(refused.value)
    assert totals(broker)["jobs"] == 0
    still_works(broker)


NOT_NUMBERS = {
    "text": "abc",
    "NaN": "NaN",
    "1e400": "1e400",
    "39 digits": "1" * 39,
    "over 10^126": "1e127",
    "under 10^-128": "1e-129",
    "underscores": "1_000",
}


@pytest.mark.parametrize("value", NOT_NUMBERS.values(), ids=NOT_NUMBERS)
@pytest.mark.parametrize("service", ["sqs", "sns"])
def test_boto3_number_attributes_sqs_and_sns_cannot_hold_are_refused(
    broker: SimulatedBroker, service: str, value: str
) -> None:
    attributes = {"n": {"DataType": "Number", "StringValue": value}}
    with pytest.raises(ClientError) as refused:
        if service == "sqs":
            broker.client("sqs").send_message(
                QueueUrl=queue_url(broker, "jobs"), MessageBody="x", MessageAttributes=attributes
            )
        else:
            broker.client("sns").publish(
                TopicArn=topic_arn(broker), Message="x", MessageAttributes=attributes
            )
    assert code(refused.value) in ("InvalidParameterValue", "ParameterValueInvalid")
    assert "'n'" in str(refused.value)
    assert totals(broker) == {"billing": 0, "audit": 0, "jobs": 0}
    still_works(broker)


@pytest.mark.parametrize(
    ("value", "passes_the_filter"),
    [("100", True), ("[100]", True), ("one hundred", False), ("[[1]]", False), ("{}", False),
     ("[" * 10_000, False)],
)
def test_boto3_sns_string_arrays_that_are_no_json_array_are_accepted_and_filtered_as_one_value(
    broker: SimulatedBroker, value: str, passes_the_filter: bool
) -> None:
    """SNS takes a String.Array value that is no JSON array (moto's suite records it as SNS's
    answer): a filter policy compares it as one value, and a value it cannot read matches
    nothing, however deeply nested."""
    sqs, sns = broker.client("sqs"), broker.client("sns")
    url = sqs.create_queue(QueueName="priced")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn(broker), Protocol="sqs", Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"price": [100, 500]})},
    )
    before = totals(broker)
    attributes = {"price": {"DataType": "String.Array", "StringValue": value}}
    sns.publish(TopicArn=topic_arn(broker), Message="x", MessageAttributes=attributes)
    after = totals(broker)
    assert after["billing"] == before["billing"] + 1
    assert after["priced"] == before["priced"] + (1 if passes_the_filter else 0)
    still_works(broker)


@pytest.mark.parametrize("subject", ["a\x00b", "line\nbreak", "tab\there", "bell\x07", "\x7f"])
def test_boto3_sns_subjects_with_line_breaks_or_control_characters_are_refused(
    broker: SimulatedBroker, subject: str
) -> None:
    sns = broker.client("sns")
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=topic_arn(broker), Message="x", Subject=subject)
    assert code(refused.value) == "InvalidParameter" and "Subject" in str(refused.value)
    batch = sns.publish_batch(
        TopicArn=topic_arn(broker),
        PublishBatchRequestEntries=[{"Id": "bad", "Message": "x", "Subject": subject},
                                    {"Id": "good", "Message": "y", "Subject": "fine subject"}],
    )  # fmt: skip
    assert [f["Id"] for f in batch["Failed"]] == ["bad"]
    assert [s["Id"] for s in batch["Successful"]] == ["good"]
    assert totals(broker)["billing"] == 1  # the good entry only
    still_works(broker)


@pytest.mark.parametrize("body", NOT_JSON_OBJECTS.values(), ids=NOT_JSON_OBJECTS)
def test_a_json_request_that_is_no_json_object_is_a_serialization_exception(
    broker: SimulatedBroker, served: str, body: str
) -> None:
    status, said = over_http(served, "sqs", body, "SendMessage")
    refused_and_still_served(broker, status, said, "com.amazonaws.sqs#SerializationException")


@pytest.mark.parametrize(
    ("service", "body", "target", "code"),
    [
        ("sqs", "Action=SendMesage&MessageBody=x", "", "<Code>InvalidAction</Code>"),
        ("sqs", "MessageBody=x", "", "<Code>InvalidAction</Code>"),
        ("sns", "Action=Publsh&Message=x", "", "<Code>InvalidAction</Code>"),
        ("sqs", "{}", "SendMesage", "com.amazonaws.sqs#UnknownOperationException"),
    ],
    ids=["misspelt", "no-action", "sns-misspelt", "json-target"],
)
def test_an_action_the_broker_does_not_know_is_invalid_action_not_an_empty_404(
    broker: SimulatedBroker, served: str, service: str, body: str, target: str, code: str
) -> None:
    status, said = over_http(served, service, body, target)
    assert status == 400 and code in said and "names no" in said
    assert totals(broker)["jobs"] == 0
    still_works(broker)
