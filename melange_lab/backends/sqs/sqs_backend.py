"""The SNS/SQS backend: one implementation for the simulated broker, LocalSQS and AWS.

Unlike melange, it creates its boto3 clients once and caches queue URLs and topic ARNs, so a
publish is one boto3 call. Everything it does is reported on its event log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from melange_lab import wire
from melange_lab.backends.base import MessagingBackend
from melange_lab.errors import (
    BrokerRequestFailed,
    InvalidFilterPolicy,
    MelangeLabError,
    MessageTooLarge,
    MissingMessageGroupId,
    QueueNotFound,
    TopicNotFound,
)
from melange_lab.events import EventKind, EventLog
from melange_lab.filter_policies import FilterPolicy, FilterPolicyScope
from melange_lab.models import Message, MessageDto, QueueWrapper, TopicWrapper
from melange_lab.names import check_queue_name, check_topic_name
from melange_lab.serializers import SerializerRegistry

SNS_MESSAGE_LIMIT = 262_144
SQS_BATCH_SIZE = 10
_QUEUE_MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


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


def _name_from_arn(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def _name_from_url(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class SQSBackend(MessagingBackend):
    """melange's SQS/SNS backend over reusable boto3 clients.

    ``visibility_timeout=None`` (the default) uses each queue's own setting;
    ``max_receive_count`` is how many receives a message gets before its DLQ takes it.
    """

    drains = True

    def __init__(
        self,
        sqs_client: Any,
        sns_client: Any,
        *,
        events: EventLog | None = None,
        max_number_of_messages: int = 10,
        visibility_timeout: int | None = None,
        wait_time_seconds: int = 10,
        max_receive_count: int = 4,
        guard: Callable[[], None] | None = None,
    ) -> None:
        self._sqs = sqs_client
        self._sns = sns_client
        self.events = events if events is not None else EventLog(time.time)
        self.max_number_of_messages = max_number_of_messages
        self.visibility_timeout = visibility_timeout
        self.wait_time_seconds = wait_time_seconds
        self.max_receive_count = max_receive_count
        self._guard = guard
        self.serializer_registry: SerializerRegistry | None = None
        self._queues: dict[str, QueueWrapper] = {}
        self._topics: dict[str, TopicWrapper] = {}
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._content_deduplication: dict[str, bool] = {}
        self._content_deduplication_asked: set[str] = set()  # FIFO queues publishing without ids

    def remember_registry(self, registry: SerializerRegistry) -> None:
        """Publishers and dispatchers share their registry, so views can decode payloads."""
        self.serializer_registry = registry

    # -- errors -------------------------------------------------------------------------------

    @contextmanager
    def _call(
        self, operation: str, queue: str | None = None, topic: str | None = None
    ) -> Iterator[None]:
        """Runs boto3 calls, turning provider errors into the lab's named errors."""
        if self._guard is not None:
            self._guard()
        try:
            yield
        except ClientError as error:
            if self._guard is not None:
                self._guard()  # the simulated broker stopped during the call: say that instead
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            detail = str(error.response.get("Error", {}).get("Message", ""))
            raise self._translate(operation, code, detail, queue, topic) from None
        except BotoCoreError as error:  # no answer at all: endpoint down, no credentials, ...
            if self._guard is not None:
                self._guard()  # the simulated broker stopped during the call: say that instead
            raise BrokerRequestFailed(operation, type(error).__name__, str(error)) from None

    def _translate(
        self, operation: str, code: str, detail: str, queue: str | None, topic: str | None
    ) -> MelangeLabError:
        if queue is not None and code in _QUEUE_MISSING:
            self._queues.pop(queue, None)
            return QueueNotFound(queue, self.queue_names())
        if topic is not None and code == "NotFound":
            self._topics.pop(topic, None)
            return TopicNotFound(topic, [t.name for t in self.list_topics()])
        if code == "MissingParameter" and "MessageGroupId" in detail:
            return MissingMessageGroupId(queue or topic or "?")
        return BrokerRequestFailed(operation, code, detail)

    def queue_names(self) -> list[str]:
        """Names of every queue on the broker, fresh from it."""
        try:
            urls = self._sqs.list_queues().get("QueueUrls", [])
        except (ClientError, BotoCoreError):  # only for an error message: never fail it
            return []
        return [_name_from_url(url) for url in urls]

    # -- topics -------------------------------------------------------------------------------

    def declare_topic(
        self, topic_name: str, content_based_deduplication: bool = False
    ) -> TopicWrapper:
        if topic_name in self._topics:
            return self._topics[topic_name]
        check_topic_name(topic_name)
        attributes: dict[str, str] = {}
        if topic_name.endswith(".fifo"):
            attributes["FifoTopic"] = "true"
            if content_based_deduplication:
                attributes["ContentBasedDeduplication"] = "true"
        with self._call("CreateTopic", topic=topic_name):
            arn = self._sns.create_topic(Name=topic_name, Attributes=attributes)["TopicArn"]
        topic = TopicWrapper(topic_name, arn)
        self._topics[topic_name] = topic
        self.events.emit(EventKind.TOPIC_DECLARED, topic=topic_name, detail={"arn": arn})
        return topic

    def _deduplicates_by_content(self, topic: TopicWrapper) -> bool:
        if topic.arn not in self._content_deduplication:
            with self._call("GetTopicAttributes", topic=topic.name):
                attributes = self._sns.get_topic_attributes(TopicArn=topic.arn)["Attributes"]
            enabled = attributes.get("ContentBasedDeduplication") == "true"
            self._content_deduplication[topic.arn] = enabled
        return self._content_deduplication[topic.arn]

    def get_topic(self, topic_name: str) -> TopicWrapper:
        """Finds an existing topic; never creates one (raises TopicNotFound)."""
        if topic_name in self._topics:
            return self._topics[topic_name]
        for topic in self.list_topics():
            if topic.name == topic_name:
                self._topics[topic_name] = topic
                return topic
        raise TopicNotFound(topic_name, [t.name for t in self.list_topics()])

    def list_topics(self) -> list[TopicWrapper]:
        topics: list[TopicWrapper] = []
        with self._call("ListTopics"):
            for page in self._sns.get_paginator("list_topics").paginate():
                topics += [
                    TopicWrapper(_name_from_arn(t["TopicArn"]), t["TopicArn"])
                    for t in page.get("Topics", [])
                ]
        return topics

    def delete_topic(self, topic: TopicWrapper) -> None:
        for subscription in self.subscriptions_of(topic):
            with self._call("Unsubscribe", topic=topic.name):
                self._sns.unsubscribe(SubscriptionArn=subscription.arn)
        with self._call("DeleteTopic", topic=topic.name):
            self._sns.delete_topic(TopicArn=topic.arn)
        self._topics.pop(topic.name, None)
        self._subscriptions.pop(topic.arn, None)
        self.events.emit(EventKind.TOPIC_DELETED, topic=topic.name)

    # -- queues -------------------------------------------------------------------------------

    def get_queue(self, queue_name: str) -> QueueWrapper:
        cached = self._queues.get(queue_name)
        if cached is not None:
            if self._guard is not None:
                self._guard()
            return cached
        check_queue_name(queue_name)
        with self._call("GetQueueUrl", queue=queue_name):
            url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        return self._remember_queue(queue_name, url)

    def _remember_queue(self, name: str, url: str) -> QueueWrapper:
        queue = QueueWrapper(name, url)
        queue.attributes.update(self.queue_attributes(queue))
        self._queues[name] = queue
        return queue

    def queue_attributes(self, queue: QueueWrapper) -> dict[str, str]:
        """The queue's attributes now (counts included), fresh from the broker."""
        with self._call("GetQueueAttributes", queue=queue.name):
            response = self._sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])
        return dict(response.get("Attributes", {}))

    def list_queues(self) -> list[QueueWrapper]:
        return [self.get_queue(name) for name in sorted(self.queue_names())]

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
        **kwargs: Any,
    ) -> tuple[QueueWrapper, QueueWrapper | None]:
        """Gets or creates the queue (and its DLQ), then subscribes it to each topic.

        Everything is checked before anything is created, so a bad argument leaves no
        half-declared queue behind.
        """
        if kwargs:
            raise TypeError(
                f"declare_queue() got unknown options {sorted(kwargs)}; known options: "
                "dead_letter_queue_name, filter_events, filter_policy, filter_policy_scope, "
                "raw_message_delivery, max_receive_count, content_based_deduplication, "
                "visibility_timeout, delay_seconds, message_retention_period."
            )
        check_queue_name(queue_name)
        policy = self._policy_from(filter_events, filter_policy, filter_policy_scope)
        receive_limit = self.max_receive_count if max_receive_count is None else max_receive_count
        if dead_letter_queue_name is not None:
            check_queue_name(dead_letter_queue_name)
            if dead_letter_queue_name.endswith(".fifo") != queue_name.endswith(".fifo"):
                raise MelangeLabError(
                    f"Queue '{queue_name}' and its dead-letter queue '{dead_letter_queue_name}' "
                    "must both be FIFO or both be standard: rename one of them."
                )
            if receive_limit < 1:
                raise MelangeLabError(
                    f"max_receive_count must be at least 1 (got {receive_limit}): it is how many "
                    "times a message is received before it moves to the dead-letter queue."
                )
        if content_based_deduplication:
            self._content_deduplication_asked.add(queue_name)
        attributes = self._queue_attributes(
            queue_name,
            content_based_deduplication,
            visibility_timeout,
            delay_seconds,
            message_retention_period,
        )
        dead_letter_queue = None
        if dead_letter_queue_name is not None:
            dead_letter_queue = self._create_queue(
                dead_letter_queue_name,
                self._queue_attributes(
                    dead_letter_queue_name,
                    content_based_deduplication,
                    None,
                    None,
                    message_retention_period,
                ),
            )
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": dead_letter_queue.attributes["QueueArn"],
                    "maxReceiveCount": receive_limit,
                }
            )
        queue = self._create_queue(queue_name, attributes)
        self.events.emit(
            EventKind.QUEUE_DECLARED,
            queue=queue_name,
            detail={
                "dead_letter_queue": dead_letter_queue_name,
                "max_receive_count": receive_limit if dead_letter_queue_name else None,
                "fifo": queue.is_fifo,
            },
        )
        for topic in topics_to_bind:
            self.subscribe(topic, queue, policy, raw_message_delivery)
        return queue, dead_letter_queue

    @staticmethod
    def _policy_from(
        filter_events: Sequence[str] | None,
        filter_policy: dict[str, Any] | str | None,
        scope: FilterPolicyScope | str | None,
    ) -> FilterPolicy | None:
        if filter_events is not None and filter_policy is not None:
            raise InvalidFilterPolicy(
                filter_policy,
                "give either filter_events (melange's manifest filter) or filter_policy, not both",
            )
        if filter_events is not None:
            if isinstance(filter_events, str):
                raise InvalidFilterPolicy(
                    filter_events, f"filter_events must be a list, e.g. ['{filter_events}']"
                )
            return FilterPolicy.for_manifests(list(filter_events))
        if filter_policy is not None:
            return FilterPolicy.parse(filter_policy, scope)
        return None

    @staticmethod
    def _queue_attributes(
        name: str,
        content_based_deduplication: bool | None,
        visibility_timeout: int | None,
        delay_seconds: int | None,
        retention: int | None,
    ) -> dict[str, str]:
        """A FIFO queue (and its DLQ) gets ``ContentBasedDeduplication=true`` unless asked
        otherwise, as melange declares them; melange's publish still sends a fresh
        deduplication id, and so does the lab's unless the queue was declared with
        ``content_based_deduplication=True`` (see ``_send_request``)."""
        attributes: dict[str, str] = {}
        if name.endswith(".fifo"):
            attributes["FifoQueue"] = "true"
            if content_based_deduplication is not False:
                attributes["ContentBasedDeduplication"] = "true"
        for key, value in (
            ("VisibilityTimeout", visibility_timeout),
            ("DelaySeconds", delay_seconds),
            ("MessageRetentionPeriod", retention),
        ):
            if value is not None:
                attributes[key] = str(value)
        return attributes

    def _create_queue(self, name: str, attributes: dict[str, str]) -> QueueWrapper:
        existing = self._queues.get(name)
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

    def subscribe(
        self,
        topic: TopicWrapper,
        queue: QueueWrapper,
        filter_policy: FilterPolicy | None = None,
        raw_message_delivery: bool = False,
    ) -> Subscription:
        """Subscribes ``queue`` to ``topic``: every message published there is copied to it."""
        attributes = {"RawMessageDelivery": "true" if raw_message_delivery else "false"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = filter_policy.to_json()
            attributes["FilterPolicyScope"] = filter_policy.scope.value
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
        self._subscriptions[topic.arn] = [*known, subscription]
        self.events.emit(
            EventKind.SUBSCRIBED,
            topic=topic.name,
            queue=queue.name,
            detail={
                "filter_policy": None if filter_policy is None else filter_policy.rules,
                "raw_message_delivery": raw_message_delivery,
            },
        )
        return subscription

    def _allow_topic_to_send(self, topic: TopicWrapper, queue: QueueWrapper) -> None:
        """On real SQS a topic may only send to a queue whose policy allows it."""
        sid = f"melange-lab-{_name_from_arn(topic.arn)}"
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
        policy = {"Version": "2012-10-17", "Statement": [*others, statement]}
        with self._call("SetQueueAttributes", queue=queue.name):
            self._sqs.set_queue_attributes(
                QueueUrl=queue.url, Attributes={"Policy": json.dumps(policy)}
            )
        queue.attributes["Policy"] = json.dumps(policy)

    def subscriptions_of(self, topic: TopicWrapper) -> list[Subscription]:
        cached = self._subscriptions.get(topic.arn)
        if cached is None:
            cached = self._load_subscriptions(topic)
            self._subscriptions[topic.arn] = cached
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
                    policy = attributes.get("FilterPolicy")
                    found.append(
                        Subscription(
                            topic.name,
                            _name_from_arn(entry["Endpoint"]),
                            entry["SubscriptionArn"],
                            FilterPolicy.parse(policy, attributes.get("FilterPolicyScope"))
                            if policy
                            else None,
                            attributes.get("RawMessageDelivery") == "true",
                        )
                    )
        return found

    def delete_queue(self, queue: QueueWrapper) -> None:
        """Deletes the queue and unsubscribes it, so no topic keeps sending to nowhere."""
        for topic in self.list_topics():
            for subscription in self.subscriptions_of(topic):
                if subscription.queue == queue.name:
                    with self._call("Unsubscribe", topic=topic.name):
                        self._sns.unsubscribe(SubscriptionArn=subscription.arn)
                    self._subscriptions[topic.arn].remove(subscription)
        with self._call("DeleteQueue", queue=queue.name):
            self._sqs.delete_queue(QueueUrl=queue.url)
        self._queues.pop(queue.name, None)
        self.events.emit(EventKind.QUEUE_DELETED, queue=queue.name)

    def forget_cache(self) -> None:
        """Drops cached URLs, ARNs and subscriptions (after the broker was reset)."""
        self._queues.clear()
        self._topics.clear()
        self._subscriptions.clear()
        self._content_deduplication.clear()

    # -- publishing ---------------------------------------------------------------------------

    def publish_to_queue(self, message: Message, queue: QueueWrapper, **kwargs: Any) -> str:
        request = self._send_request(message, queue, **kwargs)
        with self._call("SendMessage", queue=queue.name):
            message_id = str(self._sqs.send_message(QueueUrl=queue.url, **request)["MessageId"])
        self._emit_published(queue, message_id, message, request)
        return message_id

    def _send_request(
        self,
        message: Message,
        queue: QueueWrapper,
        message_group_id: str | None = None,
        message_deduplication_id: str | None = None,
        delay_seconds: int | None = None,
    ) -> dict[str, Any]:
        """The SendMessage arguments for one message, checked before anything is sent."""
        request: dict[str, Any] = {"MessageBody": wire.queue_body(message)}
        attributes = wire.queue_attributes(message)
        if attributes:
            request["MessageAttributes"] = attributes
        limit = int(queue.attributes.get("MaximumMessageSize", SNS_MESSAGE_LIMIT))
        size = wire.encoded_size(request["MessageBody"], attributes)
        if size > limit:
            raise MessageTooLarge(queue.name, size, limit)
        if queue.is_fifo:
            if not message_group_id:
                raise MissingMessageGroupId(queue.name)
            request["MessageGroupId"] = message_group_id
            if message_deduplication_id:
                request["MessageDeduplicationId"] = message_deduplication_id
            elif queue.name not in self._content_deduplication_asked:
                request["MessageDeduplicationId"] = str(uuid.uuid4())
        elif message_group_id or message_deduplication_id:
            raise MelangeLabError(
                f"Queue '{queue.name}' is a standard queue: message_group_id and "
                "message_deduplication_id only apply to FIFO queues (names ending in '.fifo')."
            )
        if delay_seconds is not None:
            request["DelaySeconds"] = delay_seconds
        return request

    def _emit_published(
        self, queue: QueueWrapper, message_id: str, message: Message, request: dict[str, Any]
    ) -> None:
        self.events.emit(
            EventKind.PUBLISHED,
            queue=queue.name,
            message_id=message_id,
            detail={
                "manifest": message.manifest,
                "message_group_id": request.get("MessageGroupId"),
                "body": request["MessageBody"],
            },
        )

    def publish_to_queue_batch(
        self, message_dtos: Sequence[MessageDto], queue: QueueWrapper
    ) -> list[str]:
        requests = [
            self._send_request(
                dto.message, queue, dto.message_group_id, dto.message_deduplication_id
            )
            for dto in message_dtos
        ]
        message_ids: list[str] = []
        for start in range(0, len(requests), SQS_BATCH_SIZE):
            chunk = requests[start : start + SQS_BATCH_SIZE]
            entries = [{"Id": str(i), **request} for i, request in enumerate(chunk)]
            with self._call("SendMessageBatch", queue=queue.name):
                response = self._sqs.send_message_batch(QueueUrl=queue.url, Entries=entries)
            sent = {entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])}
            for i, request in enumerate(chunk):
                if str(i) in sent:
                    message_ids.append(sent[str(i)])
                    self._emit_published(
                        queue, sent[str(i)], message_dtos[start + i].message, request
                    )
            if response.get("Failed"):
                failure = response["Failed"][0]
                raise BrokerRequestFailed(
                    "SendMessageBatch",
                    str(failure.get("Code")),
                    f"{len(response['Failed'])} message(s) were refused "
                    f"({failure.get('Message')}); the {len(message_ids)} before them were sent "
                    f"with ids {message_ids}",
                )
        return message_ids

    def publish_to_topic(
        self, message: Message, topic: TopicWrapper, extra_attributes: dict[str, Any] | None = None
    ) -> str:
        extra = dict(extra_attributes or {})
        attributes = wire.topic_attributes(message)
        attributes.update(wire.as_attribute_map(extra.pop("message_attributes", None) or {}))
        request: dict[str, Any] = {"TopicArn": topic.arn, "Message": message.content}
        if attributes:
            request["MessageAttributes"] = attributes
        for option, parameter in (
            ("subject", "Subject"),
            ("message_structure", "MessageStructure"),
            ("message_group_id", "MessageGroupId"),
            ("message_deduplication_id", "MessageDeduplicationId"),
        ):
            if extra.get(option) is not None:
                request[parameter] = extra.pop(option)
        if extra:
            raise TypeError(
                f"publish_to_topic() got unknown extra attributes {sorted(extra)}; known: "
                "subject, message_attributes, message_structure, message_group_id, "
                "message_deduplication_id."
            )
        size = wire.encoded_size(str(message.content), attributes)
        if size > SNS_MESSAGE_LIMIT:
            raise MessageTooLarge(topic.name, size, SNS_MESSAGE_LIMIT)
        if topic.is_fifo and "MessageGroupId" not in request:
            raise MissingMessageGroupId(topic.name)
        needs_id = topic.is_fifo and "MessageDeduplicationId" not in request
        if needs_id and not self._deduplicates_by_content(topic):
            request["MessageDeduplicationId"] = str(uuid.uuid4())  # as for FIFO queues
        with self._call("Publish", topic=topic.name):
            message_id = str(self._sns.publish(**request)["MessageId"])
        self.events.emit(
            EventKind.PUBLISHED,
            topic=topic.name,
            message_id=message_id,
            detail={"manifest": message.manifest, "body": str(message.content)},
        )
        self._emit_fan_out(topic, message_id, attributes, str(message.content))
        return message_id

    def _emit_fan_out(
        self, topic: TopicWrapper, message_id: str, attributes: wire.AttributeMap, body: str
    ) -> None:
        for subscription in self.subscriptions_of(topic):
            policy = subscription.filter_policy
            if policy is None or policy.matches(attributes, body):
                self.events.emit(
                    EventKind.DELIVERED,
                    topic=topic.name,
                    queue=subscription.queue,
                    message_id=message_id,
                    detail={"raw_message_delivery": subscription.raw_message_delivery},
                )
            else:
                self.events.emit(
                    EventKind.FILTERED,
                    topic=topic.name,
                    queue=subscription.queue,
                    message_id=message_id,
                    reason=policy.why_filtered(attributes, body),
                    detail={"filter_policy": policy.rules},
                )

    # -- consuming ----------------------------------------------------------------------------

    def retrieve_messages(
        self,
        queue: QueueWrapper,
        max_messages: int | None = None,
        wait_time_seconds: float | None = None,
        visibility_timeout: int | None = None,
        **kwargs: Any,
    ) -> list[Message]:
        request: dict[str, Any] = {
            "QueueUrl": queue.url,
            "MaxNumberOfMessages": max(1, min(10, max_messages or self.max_number_of_messages)),
            "WaitTimeSeconds": int(
                self.wait_time_seconds if wait_time_seconds is None else wait_time_seconds
            ),
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["All"],
        }
        timeout = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        if timeout is not None:
            request["VisibilityTimeout"] = timeout
        with self._call("ReceiveMessage", queue=queue.name):
            received = self._sqs.receive_message(**request).get("Messages", [])
        messages = [wire.decode(entry, queue.url) for entry in received]
        for message, entry in zip(messages, received, strict=True):
            self.events.emit(
                EventKind.RECEIVED,
                queue=queue.name,
                message_id=message.message_id,
                detail={
                    "receive_count": int(
                        entry.get("Attributes", {}).get("ApproximateReceiveCount", 0)
                    )
                },
            )
        if self.faults is not None:
            messages = self.faults.on_receive(queue, messages)
        return messages

    def yield_messages(
        self,
        queue: QueueWrapper,
        max_messages: int | None = None,
        time_limit: float | None = None,
        **kwargs: Any,
    ) -> Iterator[Message]:
        """Yields received messages until the queue has none left or a limit is reached.

        melange's version polls forever; this one ends, so it cannot hang a notebook.
        """
        deadline = None if time_limit is None else time.monotonic() + time_limit
        yielded = 0
        while max_messages is None or yielded < max_messages:
            # The backend's own wait even without a deadline: on AWS a short poll (0) asks only
            # some servers, so an empty answer would not mean the queue is drained.
            wait = float(self.wait_time_seconds)
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            batch_size = None if max_messages is None else max_messages - yielded
            batch = self.retrieve_messages(
                queue, max_messages=batch_size, wait_time_seconds=wait, **kwargs
            )
            if not batch:
                return
            for message in batch:
                yielded += 1
                yield message
            if deadline is not None and time.monotonic() >= deadline:
                return

    def acknowledge(self, message: Message) -> None:
        metadata = self._metadata_of(message)
        queue = _name_from_url(metadata["queue_url"])
        with self._call("DeleteMessage", queue=queue):
            self._sqs.delete_message(
                QueueUrl=metadata["queue_url"], ReceiptHandle=metadata["ReceiptHandle"]
            )
        self.events.emit(EventKind.ACKNOWLEDGED, queue=queue, message_id=message.message_id)

    def release(self, message: Message, reason: str | None = None) -> None:
        """Hands a received message back unacknowledged: it is visible again at once."""
        metadata = self._metadata_of(message)
        queue = _name_from_url(metadata["queue_url"])
        with self._call("ChangeMessageVisibility", queue=queue):
            self._sqs.change_message_visibility(
                QueueUrl=metadata["queue_url"],
                ReceiptHandle=metadata["ReceiptHandle"],
                VisibilityTimeout=0,
            )
        self.events.emit(
            EventKind.RELEASED, queue=queue, message_id=message.message_id, reason=reason
        )

    # -- dead letters ---------------------------------------------------------------------------

    def redrive(
        self, dead_letter_queue: QueueWrapper, to_queue: QueueWrapper | None = None
    ) -> list[str]:
        """Moves every message of a dead-letter queue back to its source queue; returns new ids.

        Body and message attributes are kept; a FIFO message keeps its group and gets a fresh
        deduplication id (its old one may still be inside the 5-minute window). Each message is
        sent before it is deleted from the DLQ, so a failure never loses one. The source is the
        queue whose redrive policy names this DLQ; pass ``to_queue`` when several queues do.
        """
        target = to_queue if to_queue is not None else self._redrive_source(dead_letter_queue)
        moved: list[str] = []
        while True:
            with self._call("ReceiveMessage", queue=dead_letter_queue.name):
                received = self._sqs.receive_message(
                    QueueUrl=dead_letter_queue.url,
                    MaxNumberOfMessages=SQS_BATCH_SIZE,
                    WaitTimeSeconds=0,
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                ).get("Messages", [])
            if not received:
                return moved
            for entry in received:
                moved.append(self._redrive_one(entry, dead_letter_queue, target))

    def _redrive_one(
        self, entry: dict[str, Any], dead_letter_queue: QueueWrapper, target: QueueWrapper
    ) -> str:
        request: dict[str, Any] = {"QueueUrl": target.url, "MessageBody": entry["Body"]}
        kept = ("DataType", "StringValue", "BinaryValue")
        attributes = {
            name: {k: v for k, v in value.items() if k in kept}
            for name, value in entry.get("MessageAttributes", {}).items()
        }
        if attributes:
            request["MessageAttributes"] = attributes
        if target.is_fifo:
            group = entry.get("Attributes", {}).get("MessageGroupId", "redriven")
            request["MessageGroupId"] = group
            request["MessageDeduplicationId"] = str(uuid.uuid4())
        with self._call("SendMessage", queue=target.name):
            message_id = str(self._sqs.send_message(**request)["MessageId"])
        with self._call("DeleteMessage", queue=dead_letter_queue.name):
            self._sqs.delete_message(
                QueueUrl=dead_letter_queue.url, ReceiptHandle=entry["ReceiptHandle"]
            )
        self.events.emit(
            EventKind.REDRIVEN,
            queue=target.name,
            message_id=message_id,
            reason=f"moved back from dead-letter queue '{dead_letter_queue.name}'",
            detail={
                "dead_letter_queue": dead_letter_queue.name,
                "original_message_id": entry["MessageId"],
            },
        )
        return message_id

    def _redrive_source(self, dead_letter_queue: QueueWrapper) -> QueueWrapper:
        arn = self.queue_attributes(dead_letter_queue).get("QueueArn")
        sources = []
        for name in sorted(self.queue_names()):
            policy = self.queue_attributes(self.get_queue(name)).get("RedrivePolicy")
            if policy and json.loads(policy).get("deadLetterTargetArn") == arn:
                sources.append(name)
        if len(sources) != 1:
            found = ", ".join(f"'{n}'" for n in sources) or "none"
            raise MelangeLabError(
                f"Cannot tell where to redrive '{dead_letter_queue.name}': the queues using it as "
                f"their dead-letter queue are {found}. Name the target: redrive(..., to_queue=...)."
            )
        return self.get_queue(sources[0])

    @staticmethod
    def _metadata_of(message: Message) -> dict[str, Any]:
        metadata = message.metadata
        if not isinstance(metadata, dict) or "ReceiptHandle" not in metadata:
            raise MelangeLabError(
                f"Message {message.message_id} was not received from a queue, so it cannot be "
                "acknowledged or released: only messages from retrieve_messages() can."
            )
        return metadata


# melange's names in this module: its base class, and AWSBackend (which lives in endpoints).
BaseSQSBackend = SQSBackend


def __getattr__(name: str) -> Any:
    if name == "AWSBackend":
        from melange_lab.backends.endpoints import AWSBackend

        return AWSBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
