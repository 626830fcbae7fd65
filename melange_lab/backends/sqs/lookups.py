"""Finding queues, topics and subscriptions: asked of the broker once, then cached."""

from __future__ import annotations

from melange_lab.backends.sqs.checks import check_queue, check_topic
from melange_lab.backends.sqs.connection import Connection
from melange_lab.backends.sqs.subscriptions import Subscription, read_subscription
from melange_lab.errors import TopicNotFound
from melange_lab.models import QueueWrapper, TopicWrapper
from melange_lab.names import check_queue_name, check_topic_name


class Lookups(Connection):
    """Queue URLs, topic ARNs and subscriptions, looked up once and remembered."""

    def get_topic(self, topic_name: str) -> TopicWrapper:
        """Finds an existing topic; never creates one (raises TopicNotFound)."""
        self._refuse_if_stopped()
        check_topic_name(topic_name)
        if topic_name in self._cache.topics:
            return self._cache.topics[topic_name]
        for topic in self.list_topics():
            if topic.name == topic_name:
                self._cache.topics[topic_name] = topic
                return topic
        raise TopicNotFound(topic_name, self._topic_names())

    def get_queue(self, queue_name: str) -> QueueWrapper:
        if not isinstance(queue_name, str):
            check_queue_name(queue_name)  # refuses it, naming the rule
        cached = self._cache.queues.get(queue_name)
        if cached is not None:
            self._refuse_if_stopped()
            return cached
        check_queue_name(queue_name)
        with self._call("GetQueueUrl", queue=queue_name):
            url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        return self._remember_queue(queue_name, url)

    def _remember_queue(self, name: str, url: str) -> QueueWrapper:
        queue = QueueWrapper(name, url)
        queue.attributes.update(self.queue_attributes(queue))
        self._cache.queues[name] = queue
        return queue

    def queue_attributes(self, queue: QueueWrapper) -> dict[str, str]:
        """The queue's attributes now (counts included), fresh from the broker."""
        check_queue(queue)
        with self._call("GetQueueAttributes", queue=queue.name):
            response = self._sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])
        return dict(response.get("Attributes", {}))

    def list_queues(self) -> list[QueueWrapper]:
        return [self.get_queue(name) for name in sorted(self.queue_names())]

    def subscriptions_of(self, topic: TopicWrapper) -> list[Subscription]:
        check_topic(topic)
        cached = self._cache.subscriptions.get(topic.arn)
        if cached is None:
            cached = self._load_subscriptions(topic)
            self._cache.subscriptions[topic.arn] = cached
        return list(cached)

    def _load_subscriptions(self, topic: TopicWrapper) -> list[Subscription]:
        found: list[Subscription] = []
        with self._call("ListSubscriptionsByTopic", topic=topic.name):
            pages = self._sns.get_paginator("list_subscriptions_by_topic").paginate(
                TopicArn=topic.arn
            )
            for page in pages:
                for entry in page.get("Subscriptions", []):
                    if entry.get("Protocol") != "sqs":
                        continue
                    attributes = self._sns.get_subscription_attributes(
                        SubscriptionArn=entry["SubscriptionArn"]
                    )["Attributes"]
                    found.append(read_subscription(topic, entry, attributes))
        return found

    def _deduplicates_by_content(self, topic: TopicWrapper) -> bool:
        """Whether a FIFO topic derives deduplication ids from the body (asked once)."""
        known = self._cache.content_deduplication
        if topic.arn not in known:
            with self._call("GetTopicAttributes", topic=topic.name):
                attributes = self._sns.get_topic_attributes(TopicArn=topic.arn)["Attributes"]
            known[topic.arn] = attributes.get("ContentBasedDeduplication") == "true"
        return known[topic.arn]

    def forget_cache(self) -> None:
        """Drops cached URLs, ARNs and subscriptions (after the broker was reset)."""
        self._cache.forget()
