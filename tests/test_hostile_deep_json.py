"""A message body nested far deeper than Python's recursion limit (40,000 to 100,000 levels):
every place that reads message data shows or refuses it with a reason, never RecursionError."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from melange_lab import SimulatedBroker
from melange_lab.errors import InvalidFilterPolicy, MelangeLabError
from melange_lab.filter_policies import FilterPolicy
from melange_lab.inspection import decode_payload, json_only_registry
from melange_lab.models import Message

DEEP_OBJECT = '{"a":' * 40_000 + "1" + "}" * 40_000  # 240,001 bytes: under 256 KiB
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def broker() -> Iterator[SimulatedBroker]:
    simulated = SimulatedBroker(clock="manual")
    try:
        yield simulated
    finally:
        simulated.stop()


@pytest.mark.parametrize("body", [DEEP_OBJECT, DEEP_ARRAY])
def test_peek_shows_a_100000_deep_json_body_with_its_decode_error(
    broker: SimulatedBroker, body: str
) -> None:
    broker.backend.declare_queue("inbox")
    broker.client("sqs").send_message(
        QueueUrl=broker.backend.get_queue("inbox").url,
        MessageBody=body,
        MessageAttributes={
            "serializer_id": {"DataType": "Number", "StringValue": "1"},
            "manifest": {"DataType": "String", "StringValue": "dict"},
        },
    )

    (peeked,) = broker.peek("inbox")

    assert peeked.body == body
    assert peeked.decode_error is not None
    assert "deep" in peeked.decode_error or "Recursion" in peeked.decode_error


@pytest.mark.parametrize("body", [DEEP_OBJECT, DEEP_ARRAY])
def test_decode_payload_of_a_deep_body_returns_the_error_instead_of_raising(body: str) -> None:
    attributes = {"serializer_id": {"DataType": "Number", "StringValue": "1"}}
    payload, _, _, envelope, error = decode_payload(body, attributes, json_only_registry())

    assert envelope is None
    assert payload == body  # shown as stored
    assert error is not None and "deep" in error


@pytest.mark.parametrize("body", [DEEP_OBJECT, DEEP_ARRAY])
def test_a_body_scope_filter_treats_a_deep_body_as_not_matching_and_says_why(body: str) -> None:
    policy = FilterPolicy.parse({"a": [{"exists": True}]}, "MessageBody")

    assert policy.matches({}, body) is False
    assert "deep" in policy.why_filtered({}, body)


def test_a_deep_filter_policy_text_is_refused_as_invalid(broker: SimulatedBroker) -> None:
    with pytest.raises(InvalidFilterPolicy):
        FilterPolicy.parse(DEEP_OBJECT, "MessageBody")


def test_a_deep_message_through_a_body_filtered_subscription_is_filtered_not_raised(
    broker: SimulatedBroker,
) -> None:
    backend = broker.backend
    topic = backend.declare_topic("news")
    backend.declare_queue(
        "kind-a", topic, filter_policy={"a": [1]}, filter_policy_scope="MessageBody"
    )
    backend.declare_queue("all", topic)

    backend.publish_to_topic(Message(None, DEEP_OBJECT), topic)

    assert (
        broker.backend.queue_attributes(backend.get_queue("kind-a"))["ApproximateNumberOfMessages"]
        == "0"
    )
    assert (
        broker.backend.queue_attributes(backend.get_queue("all"))["ApproximateNumberOfMessages"]
        == "1"
    )
    (filtered,) = broker.events.of_kind("filtered")  # type: ignore[arg-type]
    assert "deep" in str(filtered.reason)


def test_a_deep_message_with_message_structure_json_is_refused_with_a_typed_error(
    broker: SimulatedBroker,
) -> None:
    topic = broker.backend.declare_topic("news")
    with pytest.raises(MelangeLabError, match="message_structure"):
        broker.backend.publish_to_topic(
            Message(None, DEEP_OBJECT), topic, {"message_structure": "json"}
        )


def test_a_deep_string_array_attribute_does_not_match_and_does_not_raise() -> None:
    policy = FilterPolicy.parse({"tags": ["x"]})
    attributes = {"tags": {"DataType": "String.Array", "StringValue": DEEP_ARRAY}}

    assert policy.matches(attributes, "{}") is False


def test_a_deep_payload_typed_into_the_view_is_refused_as_invalid_input() -> None:
    from melange_lab.errors import InvalidInput
    from melange_lab.widgets.actions import parse_json

    with pytest.raises(InvalidInput, match="nested too deeply"):
        parse_json(DEEP_ARRAY, "payload")
