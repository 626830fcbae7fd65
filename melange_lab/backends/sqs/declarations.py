"""Declaring and deleting topics, queues and subscriptions, all or nothing: a declare that
fails half-way undoes what it created, so no half-declared queue is left behind."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from melange_lab import limits
from melange_lab.arguments import flag
from melange_lab.backends.sqs.checks import check_queue, check_queue_declaration, check_topic
from melange_lab.backends.sqs.lookups import Lookups
from melange_lab.backends.sqs.requests import queue_creation_attributes
from melange_lab.backends.sqs.subscriptions import (
    Subscription,
    subscription_attributes,
    topic_may_send,
)
from melange_lab.errors import BrokerRequestFailed, MelangeLabError
from melange_lab.filter_policies import FilterPolicy, FilterPolicyScope
from melange_lab.models import QueueWrapper, TopicWrapper
from melange_lab.names import check_topic_name


class Declaring(Lookups):
    """``declare_topic``, ``declare_queue``, ``subscribe`` and the deletes."""

    max_receive_count: int

    # -- topics -------------------------------------------------------------------------------

    def declare_topic(
        self, topic_name: str, content_based_deduplication: bool = False
    ) -> TopicWrapper:
        self._refuse_if_stopped()
        if not isinstance(topic_name, str):
            check_topic_name(topic_name)  # refuses it, naming the rule
        if topic_name in self._cache.topics:
            return self._cache.topics[topic_name]
        check_topic_name(topic_name)
        limits.check_content_deduplication("topic", topic_name, content_based_deduplication)
        attributes: dict[str, str] = {}
        if topic_name.endswith(".fifo"):
            attributes["FifoTopic"] = "true"
            if content_based_deduplication:
                attributes["ContentBasedDeduplication"] = "true"
        with self._call("CreateTopic", topic=topic_name):
            arn = self._sns.create_topic(Name=topic_name, Attributes=attributes)["TopicArn"]
        topic = TopicWrapper(topic_name, arn)
        self._cache.topics[topic_name] = topic
        self._reports.topic_declared(topic_name, arn)
        return topic

    def delete_topic(self, topic: TopicWrapper) -> None:
        check_topic(topic)
        for subscription in self.subscriptions_of(topic):
            with self._call("Unsubscribe", topic=topic.name):
                self._sns.unsubscribe(SubscriptionArn=subscription.arn)
            self._reports.unsubscribed(subscription)
        with self._call("DeleteTopic", topic=topic.name):
            self._sns.delete_topic(TopicArn=topic.arn)
        self._cache.forget_topic(topic)
        self._reports.topic_deleted(topic.name)

    # -- queues -------------------------------------------------------------------------------

    check_queue_declaration = staticmethod(check_queue_declaration)  # public: see checks.py

    def declare_queue(
        self,
        queue_name: str,
        *topics_to_bind: TopicWrapper,
        dead_letter_queue_name: str | None = None,
        filter_events: Sequence[str] | None = None,
        filter_policy: dict[str, Any] | str | None = None,
        filter_policy_scope: FilterPolicyScope | str | None = None,
        raw_message_delivery: bool = False,
        max_receive_count: int | None = None,
        content_based_deduplication: bool | None = None,
        visibility_timeout: int | None = None,
        delay_seconds: int | None = None,
        message_retention_period: int | None = None,
        dead_letter_retention_period: int | None = None,
        **kwargs: Any,
    ) -> tuple[QueueWrapper, QueueWrapper | None]:
        """Gets or creates the queue (and its DLQ), then subscribes it to each topic.

        A dead-letter queue this call creates keeps messages ``dead_letter_retention_period``
        seconds, by default the longest SQS allows (14 days): on a standard queue a message's
        age counts from its first sending, so AWS advises a DLQ longer retention than its
        source's. A DLQ that exists already keeps its settings unless that is given.
        Everything is checked before anything is created, so a bad argument leaves no
        half-declared queue behind.
        """
        policy = self.check_queue_declaration(
            queue_name,
            *topics_to_bind,
            dead_letter_queue_name=dead_letter_queue_name,
            filter_events=filter_events,
            filter_policy=filter_policy,
            filter_policy_scope=filter_policy_scope,
            raw_message_delivery=raw_message_delivery,
            max_receive_count=max_receive_count,
            content_based_deduplication=content_based_deduplication,
            visibility_timeout=visibility_timeout,
            delay_seconds=delay_seconds,
            message_retention_period=message_retention_period,
            dead_letter_retention_period=dead_letter_retention_period,
            **kwargs,
        )
        receive_limit = self.max_receive_count if max_receive_count is None else max_receive_count
        attributes = queue_creation_attributes(
            queue_name,
            content_based_deduplication,
            visibility_timeout,
            delay_seconds,
            message_retention_period,
        )
        dead_letter_queue = None
        new_dead_letter_queue = False
        if dead_letter_queue_name is not None:
            new_dead_letter_queue = dead_letter_queue_name not in self.queue_names()
            if dead_letter_retention_period is None and new_dead_letter_queue:
                dead_letter_retention_period = limits.RETENTION_PERIOD.maximum
            dead_letter_queue = self._create_queue(
                dead_letter_queue_name,
                queue_creation_attributes(
                    dead_letter_queue_name,
                    content_based_deduplication,
                    None,
                    None,
                    dead_letter_retention_period,
                ),
            )
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": dead_letter_queue.attributes["QueueArn"],
                    "maxReceiveCount": receive_limit,
                }
            )
        new_queue = queue_name not in self._cache.queues and queue_name not in self.queue_names()
        made_dead_letter_queue = (
            [dead_letter_queue] if dead_letter_queue is not None and new_dead_letter_queue else []
        )
        try:
            queue = self._create_queue(queue_name, attributes)
        except MelangeLabError:
            self._undo_create(made_dead_letter_queue)  # no half-declared queue left behind
            raise
        try:
            subscriptions = self._subscribe_all(queue, topics_to_bind, policy, raw_message_delivery)
        except MelangeLabError:
            # a topic deleted meanwhile: undo what this call made, so nothing is half-declared
            self._undo_create(([queue] if new_queue else []) + made_dead_letter_queue)
            raise
        if content_based_deduplication:
            self._cache.content_deduplication_asked.add(queue_name)
        self._reports.queue_declared(queue, dead_letter_queue_name, receive_limit)
        for subscription in subscriptions:
            self._reports.subscribed(subscription)
        return queue, dead_letter_queue

    def _create_queue(self, name: str, attributes: dict[str, str]) -> QueueWrapper:
        existing = self._cache.queues.get(name)
        if existing is not None and all(
            existing.attributes.get(k) == v for k, v in attributes.items()
        ):
            return existing
        try:
            with self._call("CreateQueue", queue=name):
                url = self._sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        except BrokerRequestFailed as error:
            if error.aws_code in ("QueueAlreadyExists", "QueueNameExists"):
                raise MelangeLabError(
                    f"Queue '{name}' already exists with other settings than {attributes}. "
                    f"Declare it with the same settings, or delete it first "
                    f"(backend.delete_queue(backend.get_queue('{name}')))."
                ) from None
            raise
        return self._remember_queue(name, url)

    def _undo_create(self, queues: list[QueueWrapper]) -> None:
        """Deletes queues this call created before failing; nothing was reported about them."""
        for queue in queues:
            with self._call("DeleteQueue", queue=queue.name):
                self._sqs.delete_queue(QueueUrl=queue.url)
            self._cache.queues.pop(queue.name, None)

    def delete_queue(self, queue: QueueWrapper) -> None:
        """Deletes the queue and unsubscribes it, so no topic keeps sending to nowhere."""
        check_queue(queue)
        for topic in self.list_topics():
            for subscription in self.subscriptions_of(topic):
                if subscription.queue == queue.name:
                    with self._call("Unsubscribe", topic=topic.name):
                        self._sns.unsubscribe(SubscriptionArn=subscription.arn)
                    self._cache.drop_subscription(topic.arn, subscription.arn)
                    self._reports.unsubscribed(subscription)
        with self._call("DeleteQueue", queue=queue.name):
            self._sqs.delete_queue(QueueUrl=queue.url)
        self._cache.forget_queue(queue.name)
        self._reports.queue_deleted(queue.name)

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(
        self,
        topic: TopicWrapper,
        queue: QueueWrapper,
        filter_policy: FilterPolicy | None = None,
        raw_message_delivery: bool = False,
    ) -> Subscription:
        """Subscribes ``queue`` to ``topic``: every message published there is copied to it."""
        subscription = self._subscribe(topic, queue, filter_policy, raw_message_delivery)
        self._reports.subscribed(subscription)
        return subscription

    def _subscribe_all(
        self,
        queue: QueueWrapper,
        topics: Sequence[TopicWrapper],
        policy: FilterPolicy | None,
        raw_message_delivery: bool,
    ) -> list[Subscription]:
        """Subscribes the queue to every topic, or (on a failure) to none it was not on."""
        made: list[Subscription] = []
        new: list[Subscription] = []  # a subscription that existed before is kept on a failure
        try:
            for topic in topics:
                before = {s.arn for s in self.subscriptions_of(topic)}
                subscription = self._subscribe(topic, queue, policy, raw_message_delivery)
                made.append(subscription)
                if subscription.arn not in before:
                    new.append(subscription)
        except MelangeLabError:
            for subscription in new:
                with self._call("Unsubscribe", topic=subscription.topic):
                    self._sns.unsubscribe(SubscriptionArn=subscription.arn)
                known = self._cache.topics.get(subscription.topic)
                if known is not None:
                    self._cache.drop_subscription(known.arn, subscription.arn)
            raise
        return made

    def _subscribe(
        self,
        topic: TopicWrapper,
        queue: QueueWrapper,
        filter_policy: FilterPolicy | None,
        raw_message_delivery: bool,
    ) -> Subscription:
        check_topic(topic)
        check_queue(queue)
        flag("raw_message_delivery", raw_message_delivery)
        attributes = subscription_attributes(filter_policy, raw_message_delivery)
        self._allow_topic_to_send(topic, queue)
        with self._call("Subscribe", queue=queue.name, topic=topic.name):
            arn = self._sns.subscribe(
                TopicArn=topic.arn,
                Protocol="sqs",
                Endpoint=queue.attributes["QueueArn"],
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        subscription = Subscription(
            topic.name, queue.name, arn, filter_policy, raw_message_delivery
        )
        known = [s for s in self.subscriptions_of(topic) if s.arn != arn]
        self._cache.subscriptions[topic.arn] = [*known, subscription]
        return subscription

    def _allow_topic_to_send(self, topic: TopicWrapper, queue: QueueWrapper) -> None:
        """On real SQS a topic may only send to a queue whose policy allows it."""
        policy = topic_may_send(topic, queue)
        with self._call("SetQueueAttributes", queue=queue.name):
            self._sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"Policy": policy})
        queue.attributes["Policy"] = policy
