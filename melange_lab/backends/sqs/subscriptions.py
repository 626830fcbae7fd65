"""A queue's subscription to a topic, and how it is written to SNS and read back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from melange_lab.filter_policies import FilterPolicy
from melange_lab.models import QueueWrapper, TopicWrapper
from melange_lab.names import name_from_arn


@dataclass(frozen=True)
class Subscription:
    """A queue's subscription to a topic, with what decides which messages it gets."""

    topic: str
    queue: str
    arn: str
    filter_policy: FilterPolicy | None
    raw_message_delivery: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "queue": self.queue,
            "arn": self.arn,
            "filter_policy": None if self.filter_policy is None else self.filter_policy.rules,
            "filter_policy_scope": None
            if self.filter_policy is None
            else str(self.filter_policy.scope),
            "raw_message_delivery": self.raw_message_delivery,
        }


def subscription_attributes(
    filter_policy: FilterPolicy | None, raw_message_delivery: bool
) -> dict[str, str]:
    """The SNS Subscribe attributes that say which messages the queue gets, and how."""
    attributes = {"RawMessageDelivery": "true" if raw_message_delivery else "false"}
    if filter_policy is not None:
        attributes["FilterPolicy"] = filter_policy.to_json()
        attributes["FilterPolicyScope"] = filter_policy.scope.value
    return attributes


def read_subscription(
    topic: TopicWrapper, entry: dict[str, Any], attributes: dict[str, str]
) -> Subscription:
    """A subscription as SNS lists it (``entry``) with its attributes."""
    policy = attributes.get("FilterPolicy")
    return Subscription(
        topic.name,
        name_from_arn(entry["Endpoint"]),
        entry["SubscriptionArn"],
        FilterPolicy.parse(policy, attributes.get("FilterPolicyScope")) if policy else None,
        attributes.get("RawMessageDelivery") == "true",
    )


def topic_may_send(topic: TopicWrapper, queue: QueueWrapper) -> str:
    """The queue's access policy with a statement letting ``topic`` send to it (on real SQS a
    topic may only send to a queue whose policy allows it); other statements are kept."""
    sid = f"melange-lab-{name_from_arn(topic.arn)}"
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue.attributes["QueueArn"],
        "Condition": {"ArnEquals": {"aws:SourceArn": topic.arn}},
    }
    current = json.loads(queue.attributes.get("Policy", "") or '{"Statement": []}')
    others = [s for s in current.get("Statement", []) if s.get("Sid") != sid]
    return json.dumps({"Version": "2012-10-17", "Statement": [*others, statement]})
