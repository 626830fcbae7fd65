"""Subscribe and SetSubscriptionAttributes as SNS answers them.

moto 5.2 creates a subscription and then sets its attributes one by one, so a Subscribe whose
FilterPolicy is refused leaves a subscription behind with no policy: one that delivers
everything. It accepts any protocol string, any RawMessageDelivery text and any
FilterPolicyScope, answers a repeated Subscribe with different attributes with the old
subscription, and names an unknown attribute without SNS's "Invalid parameter: ". SNS
checks every attribute first and creates nothing on a refusal; it refuses a protocol it does
not know, RawMessageDelivery other than true or false (any case; stored as lowercase), a
FilterPolicyScope other than MessageAttributes or MessageBody, a RedrivePolicy that is not
JSON or whose deadLetterTargetArn is not an ARN (a FIFO topic's subscription needs a FIFO
dead-letter queue), and a repeated Subscribe whose attributes differ from the existing
subscription's; GetSubscriptionAttributes names the SubscriptionPrincipal. A Subscribe's
reasons follow "Attributes Reason: ". Wording from AWS's
recordings (LocalStack's ``test_sns.snapshot.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.sns.exceptions import SNSInvalidParameter, SNSNotFoundError
from moto.sns.models import SNSBackend, Subscription, Topic
from moto.sns.responses import SNSResponse

from melange_lab.moto_internals.filter_policies import parse_policy, sns_error
from melange_lab.moto_internals.filter_policy_checks import PolicyProblem, check_policy
from melange_lab.moto_internals.patching import _Layer, _set_feature

PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda",
             "firehose")  # fmt: skip
ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
              "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy")  # fmt: skip
_DEFAULTS = {"RawMessageDelivery": "false", "FilterPolicyScope": "MessageAttributes"}


def checked_attributes(
    topic: Topic | None,
    attributes: dict[str, Any],
    *,
    subscribing: bool,
    endpoint: str | None = None,
) -> dict[str, Any]:
    """The attributes as SNS stores them, or SNS's InvalidParameter for the first it refuses.
    A FilterPolicy of ``{}`` (no policy) is left out."""
    reason = "Attributes Reason: " if subscribing else ""
    checked: dict[str, Any] = {}
    for name, value in attributes.items():
        if name not in ATTRIBUTES:
            raise SNSInvalidParameter("Invalid parameter: AttributeName")
        if name == "RawMessageDelivery":
            if str(value).lower() not in ("true", "false"):
                raise SNSInvalidParameter(
                    f"Invalid parameter: {reason}RawMessageDelivery: Invalid value [{value}]. "
                    "Must be true or false."
                )
            value = str(value).lower() == "true"  # moto's deliveries read a boolean
        elif name == "FilterPolicyScope" and value not in ("MessageAttributes", "MessageBody"):
            raise SNSInvalidParameter(
                f"Invalid parameter: {reason}FilterPolicyScope: Invalid value [{value}]. Please "
                "use either MessageBody or MessageAttributes"
            )
        elif name == "RedrivePolicy":
            _check_redrive_policy(topic, endpoint, value, reason)
        checked[name] = value
    if checked.get("FilterPolicy"):
        policy = parse_policy(checked["FilterPolicy"], subscribing=subscribing)
        if policy == {}:
            del checked["FilterPolicy"]
        else:
            try:
                check_policy(policy, checked.get("FilterPolicyScope", "MessageAttributes"))
            except PolicyProblem as problem:
                raise sns_error(problem, subscribing=subscribing) from None
    return checked


def _check_redrive_policy(
    topic: Topic | None, endpoint: str | None, value: Any, reason: str
) -> None:
    if not value:
        return
    try:
        policy = json.loads(value)
    except (TypeError, ValueError, RecursionError) as error:
        raise SNSInvalidParameter(
            f"Invalid parameter: {reason}RedrivePolicy: failed to parse JSON. {error}"
        ) from None
    target = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
    if not isinstance(target, str) or len(target.split(":")) < 6 or not target.startswith("arn:"):
        raise SNSInvalidParameter(
            f"Invalid parameter: {reason}RedrivePolicy: deadLetterTargetArn is an invalid arn"
        )
    fifo_to_fifo = topic is not None and topic.fifo_topic and str(endpoint).endswith(".fifo")
    if fifo_to_fifo and not target.endswith(".fifo"):
        raise SNSInvalidParameter(
            f"Invalid parameter: {reason}RedrivePolicy: must use a FIFO queue as DLQ for a FIFO "
            "Subscription to a FIFO Topic."
        )


def _differs(subscription: Subscription, wanted: dict[str, Any]) -> bool:
    current = {**_DEFAULTS, **{k: v for k, v in subscription.attributes.items() if v != ""}}
    for name, value in wanted.items():
        have = current.get(name)
        if name == "FilterPolicy":
            if json.loads(value) != (json.loads(have) if have else None):
                return True
        elif str(have).lower() != str(value).lower():
            return True
    return False


def check_arn(parameter: str, arn: Any) -> None:
    """SNS's answer to an ARN that has fewer than its six parts."""
    parts = len(str(arn or "").split(":"))
    if not arn:
        raise SNSInvalidParameter(
            f"Invalid parameter: {parameter} Reason: no value for required parameter"
        )
    if parts < 6:
        raise SNSInvalidParameter(
            f"Invalid parameter: {parameter} Reason: An ARN must have at least 6 elements, not "
            f"{parts}"
        )


def _subscribe_like_sns(stock: Callable[..., Any]) -> Callable[..., Any]:
    def subscribe(self: SNSResponse) -> ActionResult:
        topic_arn = self._get_param("TopicArn")
        check_arn("TopicArn", topic_arn)
        endpoint = self._get_param("Endpoint")
        protocol = self._get_param("Protocol")
        if protocol not in PROTOCOLS:
            raise SNSInvalidParameter(
                f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}"
            )
        raw = dict(self._get_param("Attributes", {}) or {})
        topic = self.backend.topics.get(topic_arn)
        wanted = checked_attributes(topic, raw, subscribing=True, endpoint=endpoint)
        existing = self.backend._find_subscription(topic_arn, endpoint, protocol)
        if existing is not None and _differs(existing, wanted):
            raise SNSInvalidParameter(
                "Invalid parameter: Attributes Reason: Subscription already exists with "
                "different attributes"
            )
        subscription = self.backend.subscribe(topic_arn, endpoint, protocol)
        if existing is None:
            # the scope first: the policy is checked against it
            for name in sorted(wanted, key=lambda n: n != "FilterPolicyScope"):
                self.backend.set_subscription_attributes(subscription.arn, name, wanted[name])
        return ActionResult({"SubscriptionArn": subscription.arn})

    return subscribe


def _set_attributes_like_sns(stock: Callable[..., Any]) -> Callable[..., Any]:
    """SetSubscriptionAttributes checks the value as sent (moto's response turns any
    RawMessageDelivery text into a boolean before the backend sees it)."""

    def set_subscription_attributes(self: SNSResponse) -> Any:
        name = self._get_param("AttributeName")
        if name not in ATTRIBUTES:
            raise SNSInvalidParameter("Invalid parameter: AttributeName")
        subscription = self.backend.subscriptions.get(self._get_param("SubscriptionArn"))
        if subscription is None:
            raise SNSNotFoundError("Subscription does not exist")
        if name in ("RawMessageDelivery", "RedrivePolicy"):
            value = self._get_param("AttributeValue")
            checked_attributes(
                subscription.topic,
                {name: value},
                subscribing=False,
                endpoint=subscription.endpoint,
            )
        return stock(self)

    return set_subscription_attributes


def _with_principal(stock: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """GetSubscriptionAttributes names the IAM principal that subscribed, as SNS does; in
    the lab that is the one identity every caller has (moto's user in the account)."""

    def get_subscription_attributes(self: SNSBackend, arn: str) -> dict[str, Any]:
        attributes = stock(self, arn)
        attributes.setdefault("SubscriptionPrincipal", f"arn:aws:iam::{self.account_id}:user/moto")
        return attributes

    return get_subscription_attributes


def _unsubscribe_like_sns(stock: Callable[..., Any]) -> Callable[..., Any]:
    """Unsubscribe checks the ARN it is given (moto accepts anything): six parts, and a
    subscription id after the topic."""

    def unsubscribe(self: SNSResponse) -> Any:
        arn = self._get_param("SubscriptionArn")
        check_arn("SubscriptionArn", arn)
        if len(str(arn).split(":")) < 7:
            raise SNSInvalidParameter("Invalid parameter: SubscriptionId")
        return stock(self)

    return unsubscribe


_SUBSCRIPTIONS: list[_Layer] = [
    (SNSResponse, "unsubscribe", _unsubscribe_like_sns),
    (SNSBackend, "get_subscription_attributes", _with_principal),
    (SNSResponse, "subscribe", _subscribe_like_sns),
    (SNSResponse, "set_subscription_attributes", _set_attributes_like_sns),
]


def install_subscription_checks() -> None:
    """Subscribe and SetSubscriptionAttributes check and store attributes as SNS does."""
    _set_feature("subscription_checks", _SUBSCRIPTIONS)


def uninstall_subscription_checks() -> None:
    _set_feature("subscription_checks", None)
