"""Which of SNS and SQS an unsigned request to broker.serve() is for (service_routing)."""

from __future__ import annotations

import pytest

from melange_lab.moto_internals.service_routing import (
    parameters,
    queue_url_refusal,
    service_of,
)

QUEUE_PATH = "/123456789012/orders"
QUEUE_URL = "http://127.0.0.1:9324" + QUEUE_PATH
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:orders"


@pytest.mark.parametrize(
    ("action", "service"),
    [("SendMessage", "sqs"), ("ListQueues", "sqs"), ("Publish", "sns"), ("TagResource", "sns")],
)
def test_an_action_only_one_service_has_names_that_service(action: str, service: str) -> None:
    assert service_of("/", {"Action": action}) == service


@pytest.mark.parametrize("action", ["AddPermission", "RemovePermission"])
def test_an_action_both_services_have_goes_where_its_path_or_parameters_point(
    action: str,
) -> None:
    assert service_of(QUEUE_PATH, {"Action": action}) == "sqs"
    assert service_of("/", {"Action": action, "QueueUrl": QUEUE_URL}) == "sqs"
    assert service_of("/", {"Action": action, "TopicArn": TOPIC_ARN}) == "sns"
    assert service_of("/", {"Action": action}) is None


def test_a_query_string_signature_decides_before_the_action() -> None:
    signed = {"Action": "Publish", "X-Amz-Credential": "key/20260101/eu-west-1/sqs/aws4_request"}
    assert service_of("/", signed) == "sqs"
    other = {"X-Amz-Credential": "key/20260101/us-east-1/s3/aws4_request"}
    assert service_of(QUEUE_PATH, other) is None


def test_sqs_json_target_header_is_sqs_and_other_targets_are_left_to_moto() -> None:
    assert service_of("/", {}, target="AmazonSQS.ListQueues") == "sqs"
    assert service_of("/", {}, target="DynamoDB_20120810.ListTables") is None


def test_a_request_naming_nothing_is_left_to_moto() -> None:
    assert service_of("/", {}) is None
    assert service_of("/", {"Action": "ListBuckets"}) is None


def test_the_form_body_adds_to_and_overrides_the_query_string() -> None:
    assert parameters("Action=ListQueues&A=1", "A=2&B=3") == {
        "Action": "ListQueues",
        "A": "2",
        "B": "3",
    }


def test_a_queue_url_takes_queue_operations_only() -> None:
    assert queue_url_refusal(QUEUE_PATH, {"Action": "SendMessage"}) is None
    assert queue_url_refusal("/", {"Action": "CreateQueue"}) is None
    missing = queue_url_refusal(QUEUE_PATH, {})
    assert missing is not None and missing.status.startswith("404")
    refused = queue_url_refusal(QUEUE_PATH, {"Action": "CreateQueue"})
    assert refused is not None and refused.code == "InvalidAction"
