"""What SNS answers and moto 5.2 does not: an empty message refused, FIFO publishes without a
group id or deduplication id refused as InvalidParameter, "Topic does not exist" for a
missing topic, a TopicArn of fewer than 6 parts refused, an empty Subject (or one over 100
characters) refused as "Invalid parameter: Subject", a MessageStructure=json message that is
not JSON or has no string "default" refused, ParameterValueInvalid for an empty or
non-numeric attribute value or a type that is not String, Number or Binary, and
GetTopicAttributes as SNS answers it (the SignatureVersion once set, SNS's default
EffectiveDeliveryPolicy, no empty DeliveryPolicy).

From the SNS API reference (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html,
API_GetTopicAttributes.html); LocalStack answers the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.sns.exceptions import SNSException, SNSInvalidParameter, SNSNotFoundError
from moto.sns.models import SNSBackend, Topic
from moto.sns.responses import SNSResponse

from melange_lab.moto_internals.patching import _Layer, _set_feature


def _topic(backend: SNSBackend, arn: str | None) -> Topic | None:
    """The topic ``arn`` names; raises NotFound for a topic ARN that has none."""
    if arn is not None and len(arn.split(":")) < 6:
        raise SNSInvalidParameter(
            "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not "
            f"{len(arn.split(':'))}"
        )
    if not arn or ":endpoint/" in arn:
        return None
    try:
        return backend.get_topic(arn)
    except SNSNotFoundError:
        raise SNSNotFoundError("Topic does not exist") from None


def _check_publish(stock: Callable[..., str]) -> Callable[..., str]:
    def publish(self: SNSBackend, message: str, *args: Any, **kwargs: Any) -> str:
        arn = kwargs.get("arn", args[0] if args else None)
        if message is None or message == "":
            raise SNSInvalidParameter("Invalid parameter: Empty message")
        subject = kwargs.get("subject")
        if subject is not None and not 0 < len(subject) <= MAX_SUBJECT:
            raise SNSInvalidParameter("Invalid parameter: Subject")
        if kwargs.get("message_structure") == "json":
            check_structure(message)
        topic = _topic(self, arn)
        if topic is not None and topic.fifo_topic:
            if not kwargs.get("group_id"):
                raise SNSInvalidParameter(
                    "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
                )
            content_based = str(topic.content_based_deduplication).lower() == "true"
            if not kwargs.get("deduplication_id") and not content_based:
                raise SNSInvalidParameter(
                    "Invalid parameter: The topic should either have ContentBasedDeduplication "
                    "enabled or MessageDeduplicationId provided explicitly"
                )
        return stock(self, message, *args, **kwargs)

    return publish


MAX_SUBJECT = 100  # characters
_TYPE_PREFIXES = ("String", "Number", "Binary")


def check_structure(message: str) -> None:
    """MessageStructure=json: the message is a JSON object with a string "default"."""
    try:
        document = json.loads(message)
    except (ValueError, RecursionError):
        raise SNSInvalidParameter(
            "Invalid parameter: Message Structure - JSON message body failed to parse"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("default"), str):
        raise SNSInvalidParameter(
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        )


def _attribute_values_as_sns(stock: Callable[..., Any]) -> Callable[..., Any]:
    """An empty attribute value, or a Number that is not one, is SNS's ParameterValueInvalid
    (moto answers InvalidParameter, and names the type by its first letter)."""

    def _transform_message_attributes(self: SNSResponse, attributes: dict[str, Any]) -> Any:
        for name, attribute in attributes.items():
            kind = str(attribute.get("DataType") or "")
            if kind and not kind.startswith(_TYPE_PREFIXES):
                raise SNSException(
                    "ParameterValueInvalid",
                    f"The message attribute '{name}' has an invalid message attribute type, the "
                    "set of supported type prefixes is Binary, Number, and String.",
                )
            value = attribute.get("StringValue", attribute.get("BinaryValue"))
            if kind and value in ("", b""):
                raise SNSException(
                    "ParameterValueInvalid",
                    f"The message attribute '{name}' must contain non-empty message attribute "
                    f"value for message attribute type '{kind.split('.')[0]}'.",
                )
            if kind.startswith("Number") and not _is_number_text(attribute.get("StringValue")):
                raise SNSException(
                    "ParameterValueInvalid",
                    f"Could not cast message attribute '{name}' value to number.",
                )
        return stock(self, attributes)

    return _transform_message_attributes


def _is_number_text(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


# What SNS answers as a topic's EffectiveDeliveryPolicy while it has no DeliveryPolicy
# (recorded); moto answers another document.
DEFAULT_EFFECTIVE_DELIVERY_POLICY = {
    "http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20,
            "maxDelayTarget": 20,
            "numRetries": 3,
            "numMaxDelayRetries": 0,
            "numNoDelayRetries": 0,
            "numMinDelayRetries": 0,
            "backoffFunction": "linear",
        },
        "disableSubscriptionOverrides": False,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
    }
}


def _topic_attributes_as_sns(stock: Callable[..., Any]) -> Callable[..., Any]:
    """GetTopicAttributes: the SignatureVersion once set, no empty DeliveryPolicy, and SNS's
    default EffectiveDeliveryPolicy."""

    def get_topic_attributes(self: SNSResponse) -> Any:
        answer = stock(self)
        topic = self.backend.get_topic(self._get_param("TopicArn"))
        if not isinstance(answer.result, dict):
            return answer
        attributes = answer.result["Attributes"]
        version = getattr(topic, "signature_version", getattr(topic, "SignatureVersion", None))
        if version is not None:
            attributes["SignatureVersion"] = str(version)
        if not attributes.get("DeliveryPolicy"):
            attributes.pop("DeliveryPolicy", None)
            attributes["EffectiveDeliveryPolicy"] = json.dumps(
                DEFAULT_EFFECTIVE_DELIVERY_POLICY, separators=(",", ":")
            )
        return answer

    return get_topic_attributes


_SNS_CHECKS: list[_Layer] = [
    (SNSBackend, "publish", _check_publish),
    (SNSResponse, "get_topic_attributes", _topic_attributes_as_sns),
    (SNSResponse, "_transform_message_attributes", _attribute_values_as_sns),
]


def install_sns_checks() -> None:
    """Answer Publish and GetTopicAttributes as SNS does where moto does not."""
    _set_feature("sns_checks", _SNS_CHECKS)


def uninstall_sns_checks() -> None:
    _set_feature("sns_checks", None)
