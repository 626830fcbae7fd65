"""SNS's topics and subscriptions, reported: CreateTopic (``topic_declared``, once, when new),
DeleteTopic (``unsubscribed`` for each of its subscriptions, then ``topic_deleted``), Subscribe
with its attributes (``subscribed``, once they are set), SetSubscriptionAttributes
(``subscribed`` again, naming what ``changed``) and Unsubscribe (``unsubscribed``).
Also what the fan-out reads of a subscription (its queue, its dead-letter queue).
Checked against moto 5.2.1 to 5.2.6 (``versions.py``).
"""

from __future__ import annotations

import contextvars
import functools
import json
from collections.abc import Callable
from typing import Any

from moto.sns.models import SNSBackend, Subscription, Topic
from moto.sns.responses import SNSResponse
from moto.sns.utils import make_arn_for_topic

from melange_lab.events import EventKind
from melange_lab.moto_internals.event_sink import emit
from melange_lab.moto_internals.patching import _Layer

# --- what a subscription says ---------------------------------------------------------------


def queue_of(subscription: Subscription) -> str | None:
    """The name of the SQS queue a subscription delivers to (None for other protocols)."""
    if subscription.protocol != "sqs":
        return None
    return str(subscription.endpoint).split(":")[-1]


def is_true(value: Any) -> bool:
    """An SNS boolean attribute, given as a bool or as text."""
    return value is True or str(value).lower() == "true"


def dead_letter_arn(subscription: Subscription) -> str | None:
    """The subscription's RedrivePolicy deadLetterTargetArn (an SQS queue's ARN), if any."""
    text = subscription.attributes.get("RedrivePolicy")
    try:
        target = json.loads(text).get("deadLetterTargetArn") if text else None
    except (ValueError, AttributeError, RecursionError):
        return None
    return target if isinstance(target, str) and target.count(":") >= 5 else None


def _subscription_detail(subscription: Subscription) -> dict[str, Any]:
    attributes = subscription.attributes
    arn = dead_letter_arn(subscription)
    return {
        "protocol": subscription.protocol,
        "endpoint": subscription.endpoint,
        "filter_policy": subscription._filter_policy,
        "filter_policy_scope": attributes.get("FilterPolicyScope"),
        "raw_message_delivery": is_true(attributes.get("RawMessageDelivery")),
        "dead_letter_queue": None if arn is None else arn.split(":")[-1],
    }


# --- topics -----------------------------------------------------------------------------------


def _create_topic_reporting(stock: Callable[..., Topic]) -> Callable[..., Topic]:
    @functools.wraps(stock)
    def create_topic(self: SNSBackend, name: str, *args: Any, **kwargs: Any) -> Topic:
        new = make_arn_for_topic(self.account_id, name, self.region_name) not in self.topics
        topic = stock(self, name, *args, **kwargs)
        if new:
            detail = {"arn": topic.arn, "fifo": is_true(topic.fifo_topic)}
            emit(EventKind.TOPIC_DECLARED, topic=topic.name, detail=detail)
        return topic

    return create_topic


def _delete_topic_reporting(stock: Callable[[SNSBackend, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def delete_topic(self: SNSBackend, arn: str) -> None:
        topic = self.topics.get(arn)
        subscriptions = [s for s in list(self.subscriptions.values()) if s.topic is topic]
        stock(self, arn)
        if topic is None or arn in self.topics:
            return
        for subscription in subscriptions:
            _report_unsubscribed(subscription, "its topic was deleted")
        emit(EventKind.TOPIC_DELETED, topic=topic.name, detail={"arn": arn})

    return delete_topic


# --- subscriptions ----------------------------------------------------------------------------


def _report_unsubscribed(subscription: Subscription, reason: str | None = None) -> None:
    emit(
        EventKind.UNSUBSCRIBED,
        topic=subscription.topic.name,
        queue=queue_of(subscription),
        reason=reason,
        detail={"arn": subscription.arn, "protocol": subscription.protocol},
    )


_subscribing: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "melange_lab_subscribing", default=False
)


def _subscribe_reporting(stock: Callable[[SNSResponse], Any]) -> Callable[[SNSResponse], Any]:
    """Subscribe with its attributes is one step on SNS: reported once they are set, and an
    attribute SNS refuses (a bad FilterPolicy) leaves no subscription behind, as on SNS
    (moto would keep the subscription it created before the refusal)."""

    @functools.wraps(stock)
    def subscribe(self: SNSResponse) -> Any:
        key = (
            self._get_param("TopicArn"),
            self._get_param("Endpoint"),
            self._get_param("Protocol"),
        )
        existing = self.backend._find_subscription(*key)
        token = _subscribing.set(True)
        try:
            answer = stock(self)
        except Exception:
            made = None if existing is not None else self.backend._find_subscription(*key)
            if made is not None:
                self.backend.subscriptions.pop(made.arn, None)
            raise
        finally:
            _subscribing.reset(token)
        made = self.backend._find_subscription(*key)
        if existing is None and made is not None:
            emit(
                EventKind.SUBSCRIBED,
                topic=made.topic.name,
                queue=queue_of(made),
                detail=_subscription_detail(made),
            )
        return answer

    return subscribe


def _subscription_change_reporting(stock: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def set_subscription_attributes(self: SNSBackend, arn: str, name: str, value: Any) -> None:
        stock(self, arn, name, value)
        subscription = self.subscriptions.get(arn)
        if subscription is not None and not _subscribing.get():
            emit(
                EventKind.SUBSCRIBED,
                topic=subscription.topic.name,
                queue=queue_of(subscription),
                reason=f"its {name} changed",
                detail={**_subscription_detail(subscription), "changed": name},
            )

    return set_subscription_attributes


def _unsubscribe_reporting(stock: Callable[[SNSBackend, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def unsubscribe(self: SNSBackend, subscription_arn: str) -> None:
        subscription = self.subscriptions.get(subscription_arn)
        stock(self, subscription_arn)
        if subscription is not None:
            _report_unsubscribed(subscription)

    return unsubscribe


LAYERS: list[_Layer] = [
    (SNSBackend, "create_topic", _create_topic_reporting),
    (SNSBackend, "delete_topic", _delete_topic_reporting),
    (SNSBackend, "unsubscribe", _unsubscribe_reporting),
    (SNSBackend, "set_subscription_attributes", _subscription_change_reporting),
    (SNSResponse, "subscribe", _subscribe_reporting),
]
