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
import re
from collections.abc import Callable
from typing import Any

from moto.sns.exceptions import SNSException, SNSInvalidParameter, SNSNotFoundError
from moto.sns.models import SNSBackend, Topic
from moto.sns.responses import SNSResponse

from melange_lab import limits
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
        topic = _topic(self, arn)
        if topic is None:  # a phone number or a mobile-push endpoint: out of the lab's scope
            return stock(self, message, *args, **kwargs)
        subject = kwargs.get("subject")
        if subject is not None and not _subject_fits(subject):
            raise SNSInvalidParameter("Invalid parameter: Subject")
        if kwargs.get("message_structure") == "json":
            check_structure(message)
        if topic.fifo_topic:
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


def _subject_fits(subject: str) -> bool:
    """SNS: a Subject of 1 to 100 characters without line breaks or control characters
    (a space is the only white space printed as itself)."""
    return 0 < len(subject) <= MAX_SUBJECT and all(
        c == " " or (c.isprintable() and not c.isspace()) for c in subject
    )


_DATA_TYPE = re.compile(r"(String|Number|Binary)(\..+)?")  # "String." and "Strings" refused


def _where(response: SNSResponse, attributes: dict[str, Any]) -> str:
    """Where SNS says an entry's attributes are: "publishBatchRequestEntries.N.member." for
    the N-th entry of a PublishBatch, nothing for a Publish."""
    entries = response._get_param("PublishBatchRequestEntries") or []
    for number, entry in enumerate(entries, start=1):
        if entry.get("MessageAttributes") == attributes:
            return f"publishBatchRequestEntries.{number}.member."
    return ""


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


def _invalid(text: str) -> SNSException:
    return SNSException("ParameterValueInvalid", text)


def attribute_name_problem(name: str) -> SNSException | None:
    """SNS's answer to a message attribute name it refuses (recorded wording), or None."""
    if len(name.encode("utf-8")) > 256:
        return _invalid("Length of message attribute name must be less than 256 bytes.")
    bad = next((c for c in name if not (c.isalnum() or c in "-_.")), None)
    if bad is not None:
        return _invalid(
            f"Invalid non-alphanumeric character '#x{ord(bad):X}' was found in the message "
            "attribute name. Can only include alphanumeric characters, hyphens, underscores, "
            "or dots."
        )
    for where, edge in (("starting", name[:1]), ("ending", name[-1:])):
        if edge == ".":
            return _invalid(f"Invalid message attribute name {where} with character '.' was found.")
    if ".." in name:
        return _invalid("Message attribute name can not have successive '.' character.")
    return None


def attribute_problem(name: str, attribute: dict[str, Any], where: str) -> SNSException | None:
    """SNS's answer to a message attribute it refuses, or None. ``where`` prefixes the field
    path in a validation error ("publishBatchRequestEntries.N.member." in a batch)."""
    kind = str(attribute.get("DataType") or "")
    if not kind:
        return SNSException(
            "ValidationError",
            f"1 validation error detected: Value null at '{where}messageAttributes.{name}."
            "member.dataType' failed to satisfy constraint: Member must not be null",
        )
    problem = attribute_name_problem(name)
    if problem is not None:
        return problem
    if not _DATA_TYPE.fullmatch(kind):
        return _invalid(
            f"The message attribute '{name}' has an invalid message attribute type, the set of "
            "supported type prefixes is Binary, Number, and String."
        )
    base = kind.split(".")[0]
    field = "Binary" if base == "Binary" else "String"
    if (
        f"{field}Value" not in attribute
        and f"{'String' if field == 'Binary' else 'Binary'}Value" in attribute
    ):
        return _invalid(
            f"The message attribute '{name}' with type '{base}' must use field '{field}'."
        )
    value = attribute.get(f"{field}Value")
    if value in (None, "", b""):
        return _invalid(
            f"The message attribute '{name}' must contain non-empty message attribute value for "
            f"message attribute type '{base}'."
        )
    if base == "Number" and not _is_number_text(value):
        return _invalid(f"Could not cast message attribute '{name}' value to number.")
    if base == "Number" and not limits.number_text_fits(str(value)):
        return _invalid(
            f"The message attribute '{name}' holds a number out of range: at most 38 "
            "significant digits, between 10^-128 and 10^126 in size."
        )
    # A String.Array whose value is no JSON array is not refused: SNS accepts it, and a policy
    # compares it as one value ("100" matches [100, 500]; moto's suite records it as SNS's).
    return None


def _attribute_values_as_sns(stock: Callable[..., Any]) -> Callable[..., Any]:
    """Every message attribute checked as SNS checks it, with SNS's codes and words (moto
    answers InvalidParameter, names the type by its first letter, and checks no names)."""

    def _transform_message_attributes(self: SNSResponse, attributes: dict[str, Any]) -> Any:
        for name, attribute in attributes.items():
            problem = attribute_problem(name, attribute, _where(self, attributes))
            if problem is not None:
                raise problem
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
