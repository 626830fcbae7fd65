"""The SNS/SQS backend: one implementation for the simulated broker, LocalSQS and AWS.

Unlike melange, it creates its boto3 clients once and caches queue URLs and topic ARNs, so a
publish is one boto3 call. Everything it does is reported on its event log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from melange_lab import limits, wire
from melange_lab.arguments import checked, flag, number, optional, whole_number
from melange_lab.backends.base import MessagingBackend
from melange_lab.backends.sqs.deduplication import DeduplicationWindow
from melange_lab.errors import (
    BrokerRequestFailed,
    InvalidFilterPolicy,
    InvalidParameter,
    MelangeLabError,
    MessageTooLarge,
    MissingMessageGroupId,
    QueueNotFound,
    TopicNotFound,
    UnknownOption,
)
from melange_lab.events import EventKind, EventLog
from melange_lab.filter_policies import FilterPolicy, FilterPolicyScope
from melange_lab.models import Message, MessageDto, QueueWrapper, TopicWrapper
from melange_lab.names import check_queue_name, check_topic_name
from melange_lab.serializers import SerializerRegistry

SNS_MESSAGE_LIMIT = limits.MESSAGE_SIZE
SQS_BATCH_SIZE = 10
_QUEUE_MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
_SEND_OPTIONS = ("message_group_id", "message_deduplication_id", "delay_seconds")
_TOPIC_OPTIONS = (
    "subject",
    "message_attributes",
    "message_structure",
    "message_group_id",
    "message_deduplication_id",
)


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


_QUEUE_OPTIONS = (
    "dead_letter_queue_name",
    "filter_events",
    "filter_policy",
    "filter_policy_scope",
    "raw_message_delivery",
    "max_receive_count",
    "content_based_deduplication",
    "visibility_timeout",
    "delay_seconds",
    "message_retention_period",
)


_POLL_PAUSE = 0.05  # real seconds between the short polls that stand in for a long poll
DECODE_ERROR = "decode_error"  # in a received message's metadata: why it could not be read


def _decode_received(entry: dict[str, Any], queue_url: str) -> Message:
    """The message, or, when its body or attributes cannot be read (a poison message), the
    raw body marked with why, so only this message fails and its batch goes on."""
    try:
        return wire.decode(entry, queue_url)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as error:
        reason = f"{type(error).__name__}: {str(error)[:200]}"
        return Message(
            message_id=entry.get("MessageId"),
            content=entry.get("Body", ""),
            metadata={"queue_url": queue_url, **entry, DECODE_ERROR: reason},
        )


def _check_kind(parameter: str, value: object, kind: type, allowed: str, fix: str = "") -> None:
    if not isinstance(value, kind):
        raise InvalidParameter(parameter, value, allowed, fix)


def _check_topic(topic: object) -> None:
    _check_kind(
        "topic",
        topic,
        TopicWrapper,
        "a topic from backend.declare_topic(name)",
        "e.g. backend.declare_topic('orders').",
    )


def _check_message(message: object) -> None:
    _check_kind(
        "message",
        message,
        Message,
        "a Message (publishers make them: QueuePublisher(registry, backend).publish(...))",
    )


def _check_queue(queue: object) -> None:
    _check_kind(
        "queue",
        queue,
        QueueWrapper,
        "a queue from backend.get_queue(name)",
        "e.g. backend.get_queue('orders').",
    )


def _no_answer(error: BotoCoreError) -> str:
    """What a transport failure means for a learner, and what to try."""
    return (
        f"{error} The server did not answer in time or could not be reached: check that it is "
        "running at that address, or give the backend longer timeouts (connect_timeout=..., "
        "read_timeout=...)."
    )


class _OneWriteAtATime:
    """A boto3 client whose calls that change a queue's messages run one at a time.

    The lab's moto layer now deletes under the queue's ``_messages_lock`` (as sends add), but
    moto 5.2's receive still checks and marks a message visible-then-received without any
    lock, so two receives at the same moment can hand out the same message (seen: 2 of 400
    with four plain-boto3 consumers), and its dead-letter move edits the list in place. The
    simulated broker's backend therefore still serializes its own such calls; a long poll is
    left out (it would block every publisher while it waits).
    """

    _CHANGES = frozenset(
        {
            "send_message",
            "send_message_batch",
            "delete_message",
            "delete_message_batch",
            "receive_message",
            "publish",
            "publish_batch",
        }
    )

    def __init__(self, client: Any, lock: threading.RLock) -> None:
        self._client = client
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in self._CHANGES:
            return attribute

        def one_at_a_time(**request: Any) -> Any:
            if request.get("WaitTimeSeconds"):
                return attribute(**request)
            with self._lock:
                return attribute(**request)

        return one_at_a_time


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

    @checked(
        max_number_of_messages=limits.RECEIVE_BATCH.check,
        visibility_timeout=optional(limits.VISIBILITY_TIMEOUT.check),
        wait_time_seconds=limits.WAIT_TIME_SECONDS.check,
        max_receive_count=limits.MAX_RECEIVE_COUNT.check,
    )
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
        clock_stands_still: Callable[[], bool] | None = None,
        queue_exists: Callable[[str], bool] | None = None,
        one_write_at_a_time: bool = False,
    ) -> None:
        if one_write_at_a_time:
            lock = threading.RLock()
            sqs_client, sns_client = (
                _OneWriteAtATime(sqs_client, lock),
                _OneWriteAtATime(sns_client, lock),
            )
        self._sqs = sqs_client
        self._sns = sns_client
        self.events = events if events is not None else EventLog(time.time)
        self.max_number_of_messages = max_number_of_messages
        self.visibility_timeout = visibility_timeout
        self.wait_time_seconds = wait_time_seconds
        self.max_receive_count = max_receive_count
        self._guard = guard
        self._clock_stands_still = clock_stands_still
        self._queue_exists = queue_exists
        self.serializer_registry: SerializerRegistry | None = None
        self._queues: dict[str, QueueWrapper] = {}
        self._topics: dict[str, TopicWrapper] = {}
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._content_deduplication: dict[str, bool] = {}
        self._content_deduplication_asked: set[str] = set()  # FIFO queues publishing without ids
        # kept twice the window: a broker whose timers run late still answers with the old id
        self._deduplication = DeduplicationWindow(keep_for=2 * limits.DEDUPLICATION_INTERVAL)
        self._fan_out_lock = threading.Lock()
        for client in (sqs_client, sns_client):
            # first in line, before moto's own handler: a stopped broker's backend must fail
            # here, not reach a newer broker's state or the real AWS endpoint
            client.meta.events.register_first("before-send", self._refuse_if_stopped)
            # and last in line: a call that passed the first check while another thread began
            # broker.stop() may find moto's handler already off; refusing here (stop marks the
            # broker stopping before it removes the mock) keeps the request in the process
            client.meta.events.register_last("before-send", self._refuse_if_stopped)

    def _refuse_if_stopped(self, **_: Any) -> None:
        if self._guard is not None:
            self._guard()

    def _receive_client(self, wait_time_seconds: int) -> Any:
        """The SQS client for a receive that may wait ``wait_time_seconds`` (endpoints give one
        with a read timeout that long plus their own)."""
        return self._sqs

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
            endpoint = getattr(error, "kwargs", {}).get("endpoint_url")
            detail = str(error) if endpoint is None else _no_answer(error)
            raise BrokerRequestFailed(operation, type(error).__name__, detail, endpoint) from None

    def _translate(
        self, operation: str, code: str, detail: str, queue: str | None, topic: str | None
    ) -> MelangeLabError:
        if queue is not None and code in _QUEUE_MISSING:
            self._queues.pop(queue, None)
            return QueueNotFound(queue, self._known_queue_names())
        if topic is not None and code == "NotFound":
            self._topics.pop(topic, None)
            return TopicNotFound(topic, [t.name for t in self.list_topics()])
        if code == "MissingParameter" and "MessageGroupId" in detail:
            return MissingMessageGroupId(queue or topic or "?")
        return BrokerRequestFailed(operation, code, detail)

    def _known_queue_names(self) -> list[str]:
        """For an error message: the queue names, or none if even listing them fails."""
        try:
            return self.queue_names()
        except MelangeLabError:
            return []

    def queue_names(self) -> list[str]:
        """Names of every queue on the broker, fresh from it."""
        urls: list[str] = []
        with self._call("ListQueues"):
            for page in self._sqs.get_paginator("list_queues").paginate():
                urls += page.get("QueueUrls", [])
        return [_name_from_url(url) for url in urls]

    # -- topics -------------------------------------------------------------------------------

    def declare_topic(
        self, topic_name: str, content_based_deduplication: bool = False
    ) -> TopicWrapper:
        self._refuse_if_stopped()
        if not isinstance(topic_name, str):
            check_topic_name(topic_name)  # refuses it, naming the rule
        if topic_name in self._topics:
            return self._topics[topic_name]
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
        self._refuse_if_stopped()
        check_topic_name(topic_name)
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
        _check_topic(topic)
        for subscription in self.subscriptions_of(topic):
            with self._call("Unsubscribe", topic=topic.name):
                self._sns.unsubscribe(SubscriptionArn=subscription.arn)
        with self._call("DeleteTopic", topic=topic.name):
            self._sns.delete_topic(TopicArn=topic.arn)
        self._topics.pop(topic.name, None)
        self._subscriptions.pop(topic.arn, None)
        self._deduplication.forget(f"topic:{topic.name}")
        self.events.emit(EventKind.TOPIC_DELETED, topic=topic.name)

    # -- queues -------------------------------------------------------------------------------

    def get_queue(self, queue_name: str) -> QueueWrapper:
        if not isinstance(queue_name, str):
            check_queue_name(queue_name)  # refuses it, naming the rule
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
        _check_queue(queue)
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
            **kwargs,
        )
        receive_limit = self.max_receive_count if max_receive_count is None else max_receive_count
        attributes = self._queue_attributes(
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
        new_queue = queue_name not in self._queues and queue_name not in self.queue_names()
        try:
            queue = self._create_queue(queue_name, attributes)
        except MelangeLabError:
            if dead_letter_queue is not None and new_dead_letter_queue:
                self._undo_create(dead_letter_queue)  # no half-declared queue left behind
            raise
        try:
            subscriptions = self._subscribe_all(queue, topics_to_bind, policy, raw_message_delivery)
        except MelangeLabError:
            # a topic deleted meanwhile: undo what this call made, so nothing is half-declared
            for made in ([queue] if new_queue else []) + (
                [dead_letter_queue]
                if dead_letter_queue is not None and new_dead_letter_queue
                else []
            ):
                self._undo_create(made)
            raise
        if content_based_deduplication:
            self._content_deduplication_asked.add(queue_name)
        self.events.emit(
            EventKind.QUEUE_DECLARED,
            queue=queue_name,
            detail={
                "dead_letter_queue": dead_letter_queue_name,
                "max_receive_count": receive_limit if dead_letter_queue_name else None,
                "fifo": queue.is_fifo,
            },
        )
        for subscription in subscriptions:
            self._emit_subscribed(subscription)
        return queue, dead_letter_queue

    def check_queue_declaration(
        self,
        queue_name: str,
        *topics_to_bind: object,
        dead_letter_queue_name: str | None = None,
        filter_events: Sequence[str] | None = None,
        filter_policy: dict[str, Any] | str | None = None,
        filter_policy_scope: FilterPolicyScope | str | None = None,
        **options: Any,
    ) -> FilterPolicy | None:
        """Refuses every value ``declare_queue`` would refuse, creating nothing; returns the
        filter policy it would subscribe with (callers that create topics first check here)."""
        unknown = sorted(set(options) - set(_QUEUE_OPTIONS))
        if unknown:
            raise UnknownOption("declare_queue", f"unknown option(s) {unknown}", _QUEUE_OPTIONS)
        check_queue_name(queue_name)
        values: dict[str, object] = {
            "raw_message_delivery": False,
            "max_receive_count": None,
            "content_based_deduplication": None,
            "visibility_timeout": None,
            "delay_seconds": None,
            "message_retention_period": None,
            **options,
        }
        self._check_queue_options(queue_name, topics_to_bind, dead_letter_queue_name, **values)
        policy = self._policy_from(filter_events, filter_policy, filter_policy_scope)
        if dead_letter_queue_name is not None:
            check_queue_name(dead_letter_queue_name)
            if dead_letter_queue_name.endswith(".fifo") != queue_name.endswith(".fifo"):
                raise MelangeLabError(
                    f"Queue '{queue_name}' and its dead-letter queue '{dead_letter_queue_name}' "
                    "must both be FIFO or both be standard: rename one of them."
                )
        return policy

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
                known = self._topics.get(subscription.topic)
                if known is not None and known.arn in self._subscriptions:
                    self._subscriptions[known.arn] = [
                        s for s in self._subscriptions[known.arn] if s.arn != subscription.arn
                    ]
            raise
        return made

    def _undo_create(self, queue: QueueWrapper) -> None:
        """Deletes a queue this call created before failing; nothing was reported about it."""
        with self._call("DeleteQueue", queue=queue.name):
            self._sqs.delete_queue(QueueUrl=queue.url)
        self._queues.pop(queue.name, None)

    @staticmethod
    def _check_queue_options(
        queue_name: str,
        topics_to_bind: Sequence[object],
        dead_letter_queue_name: object,
        **options: object,
    ) -> None:
        """Refuses every value SQS would refuse, before anything is created."""
        for topic in topics_to_bind:
            if not isinstance(topic, TopicWrapper):
                raise InvalidParameter(
                    "topics_to_bind",
                    topic,
                    "topics returned by backend.declare_topic(...)",
                    f"e.g. declare_queue('{queue_name}', backend.declare_topic('orders')), or "
                    "MessagingBackendFactory(backend).init_queue(name, ['orders']) with names.",
                )
        if dead_letter_queue_name is not None and dead_letter_queue_name == queue_name:
            raise InvalidParameter(
                "dead_letter_queue_name",
                dead_letter_queue_name,
                "a queue other than the queue itself (a queue cannot be its own dead-letter "
                "queue: a failing message would never leave it)",
                f"e.g. dead_letter_queue_name='{queue_name.removesuffix('.fifo')}-dlq"
                f"{'.fifo' if queue_name.endswith('.fifo') else ''}'.",
            )
        flag("raw_message_delivery", options["raw_message_delivery"])
        limits.check_content_deduplication(
            "queue", queue_name, options["content_based_deduplication"]
        )
        for name, limit in (
            ("max_receive_count", limits.MAX_RECEIVE_COUNT),
            ("visibility_timeout", limits.VISIBILITY_TIMEOUT),
            ("delay_seconds", limits.DELAY_SECONDS),
            ("message_retention_period", limits.RETENTION_PERIOD),
        ):
            if options[name] is not None:
                limit.check(name, options[name])

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
            if not isinstance(filter_events, (list, tuple, set, frozenset)) or not all(
                isinstance(manifest, str) for manifest in filter_events
            ):
                raise InvalidFilterPolicy(
                    filter_events, "filter_events must be a list of manifests (strings)"
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
        subscription = self._subscribe(topic, queue, filter_policy, raw_message_delivery)
        self._emit_subscribed(subscription)
        return subscription

    def _subscribe(
        self,
        topic: TopicWrapper,
        queue: QueueWrapper,
        filter_policy: FilterPolicy | None,
        raw_message_delivery: bool,
    ) -> Subscription:
        _check_topic(topic)
        _check_queue(queue)
        flag("raw_message_delivery", raw_message_delivery)
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
        return subscription

    def _emit_subscribed(self, subscription: Subscription) -> None:
        policy = subscription.filter_policy
        self.events.emit(
            EventKind.SUBSCRIBED,
            topic=subscription.topic,
            queue=subscription.queue,
            detail={
                "filter_policy": None if policy is None else policy.rules,
                "raw_message_delivery": subscription.raw_message_delivery,
            },
        )

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
        _check_topic(topic)
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
        _check_queue(queue)
        for topic in self.list_topics():
            for subscription in self.subscriptions_of(topic):
                if subscription.queue == queue.name:
                    with self._call("Unsubscribe", topic=topic.name):
                        self._sns.unsubscribe(SubscriptionArn=subscription.arn)
                    self._subscriptions[topic.arn].remove(subscription)
        with self._call("DeleteQueue", queue=queue.name):
            self._sqs.delete_queue(QueueUrl=queue.url)
        self._queues.pop(queue.name, None)
        self._deduplication.forget(f"queue:{queue.name}")
        self.events.emit(EventKind.QUEUE_DELETED, queue=queue.name)

    def forget_cache(self) -> None:
        """Drops cached URLs, ARNs and subscriptions (after the broker was reset)."""
        self._queues.clear()
        self._topics.clear()
        self._subscriptions.clear()
        self._content_deduplication.clear()
        self._deduplication.forget()

    # -- publishing ---------------------------------------------------------------------------

    def publish_to_queue(self, message: Message, queue: QueueWrapper, **kwargs: Any) -> str:
        _check_message(message)
        _check_queue(queue)
        unknown = sorted(set(kwargs) - set(_SEND_OPTIONS))
        if unknown:
            raise UnknownOption(
                "QueuePublisher.publish",
                f"unknown option(s) {unknown}",
                ("queue_name", "data", *_SEND_OPTIONS),
            )
        request = self._send_request(message, queue, **kwargs)
        deduplication_id = self._deduplication_id(queue.is_fifo, queue.attributes, request)
        with self._call("SendMessage", queue=queue.name):
            message_id = str(self._sqs.send_message(QueueUrl=queue.url, **request)["MessageId"])
        if self._answered_as_duplicate(f"queue:{queue.name}", deduplication_id, message_id):
            self._emit_deduplicated(message_id, message, request, queue=queue.name)
            return message_id
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
        try:
            request: dict[str, Any] = {"MessageBody": wire.queue_body(message)}
        except (TypeError, ValueError, RecursionError) as error:
            raise InvalidParameter(
                "message.content",
                message.content,
                "content a serializer produced (text, or JSON-encodable data)",
                f"json.dumps refused it: {error}. Publish through QueuePublisher.",
            ) from None
        attributes = wire.queue_attributes(message)
        if attributes:
            request["MessageAttributes"] = attributes
        limit = int(queue.attributes.get("MaximumMessageSize", SNS_MESSAGE_LIMIT))
        size = wire.encoded_size(request["MessageBody"], attributes)
        if size > limit:
            raise MessageTooLarge(queue.name, size, limit)
        if queue.is_fifo:
            if message_group_id is None or message_group_id == "":
                raise MissingMessageGroupId(queue.name)
            request["MessageGroupId"] = limits.fifo_id("message_group_id", message_group_id)
            if message_deduplication_id is not None:
                request["MessageDeduplicationId"] = limits.fifo_id(
                    "message_deduplication_id", message_deduplication_id
                )
            elif queue.name not in self._content_deduplication_asked:
                request["MessageDeduplicationId"] = str(uuid.uuid4())
            if delay_seconds is not None:
                raise InvalidParameter(
                    "delay_seconds",
                    delay_seconds,
                    f"no per-message delay on FIFO queue '{queue.name}' (SQS allows a delay "
                    "only on the whole FIFO queue)",
                    "Declare the queue with delay_seconds=..., or leave the option out.",
                )
        elif message_group_id is not None or message_deduplication_id is not None:
            raise MelangeLabError(
                f"Queue '{queue.name}' is a standard queue: message_group_id and "
                "message_deduplication_id only apply to FIFO queues (names ending in '.fifo')."
            )
        if delay_seconds is not None:
            request["DelaySeconds"] = limits.DELAY_SECONDS.check("delay_seconds", delay_seconds)
        return request

    # -- FIFO deduplication: a duplicate is accepted and dropped, and the lab says so ----------
    #
    # The broker decides (SQS, SNS, LocalStack and the lab's moto keep the 5-minute window and
    # answer a duplicate with the first message's id); the backend always sends, and only
    # remembers which id each deduplication id got, to recognise that answer.

    @staticmethod
    def _deduplication_id(
        fifo: bool, attributes: dict[str, str] | None, request: dict[str, Any]
    ) -> str | None:
        """The id SQS/SNS deduplicate this send by: given, else the body's SHA-256."""
        if not fifo:
            return None
        given = request.get("MessageDeduplicationId")
        if given is not None:
            return str(given)
        body = request.get("MessageBody", request.get("Message", ""))
        return hashlib.sha256(str(body).encode()).hexdigest()

    def _answered_as_duplicate(
        self, destination: str, deduplication_id: str | None, message_id: str
    ) -> bool:
        """Whether the broker answered this send with the id it gave an earlier send of the
        same deduplication id (so it dropped this copy); else remembers the new id."""
        if deduplication_id is None:
            return False
        now = self.events.now()
        if self._deduplication.original(destination, deduplication_id, now) == message_id:
            return True
        self._deduplication.remember(destination, deduplication_id, now, message_id)
        return False

    def _topic_duplicate_of(
        self, topic: TopicWrapper, deduplication_id: str | None, message_id: str
    ) -> str | None:
        """The id of the earlier publish this one repeats, if SNS dropped it as a duplicate.

        SNS (and the lab's moto, and LocalStack) answer a dropped FIFO topic publish with a new
        message id, so the answer cannot tell; the window does: the same deduplication id
        published to the topic within the last 5 minutes of broker time. The broker still
        decides what is delivered; this only names the copy that never arrives.
        """
        if deduplication_id is None:
            return None
        destination, now = f"topic:{topic.name}", self.events.now()
        original = self._deduplication.original(
            destination, deduplication_id, now, within=limits.DEDUPLICATION_INTERVAL
        )
        if original is None:
            self._deduplication.remember(destination, deduplication_id, now, message_id)
        return original

    def _emit_deduplicated(
        self,
        original: str,
        message: Message,
        request: dict[str, Any],
        queue: str | None = None,
        topic: str | None = None,
    ) -> None:
        given = request.get("MessageDeduplicationId")
        why = f"deduplication id '{given}'" if given else "content (content-based deduplication)"
        self.events.emit(
            EventKind.DEDUPLICATED,
            queue=queue,
            topic=topic,
            message_id=original,
            reason=(
                f"same {why} as message {original[:8]} sent less than 5 minutes ago: "
                f"accepted and dropped, as FIFO {'queues' if queue else 'topics'} do"
            ),
            detail={
                "manifest": message.manifest,
                "message_group_id": request.get("MessageGroupId"),
                "message_deduplication_id": given,
                "original_message_id": original,
            },
        )

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
        _check_queue(queue)
        for dto in message_dtos:
            if not isinstance(dto, MessageDto):
                raise InvalidParameter(
                    "message_dtos", dto, "a list of MessageDto(message, group_id, dedup_id)"
                )
        requests = [
            self._send_request(
                dto.message, queue, dto.message_group_id, dto.message_deduplication_id
            )
            for dto in message_dtos
        ]
        destination = f"queue:{queue.name}"
        ids: list[str] = []
        for start in range(0, len(requests), SQS_BATCH_SIZE):
            chunk = requests[start : start + SQS_BATCH_SIZE]
            entries = [{"Id": str(i), **request} for i, request in enumerate(chunk)]
            with self._call("SendMessageBatch", queue=queue.name):
                response = self._sqs.send_message_batch(QueueUrl=queue.url, Entries=entries)
            sent = {entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])}
            for i, request in enumerate(chunk):
                if str(i) not in sent:
                    continue
                message_id = str(sent[str(i)])
                ids.append(message_id)
                message = message_dtos[start + i].message
                deduplication_id = self._deduplication_id(queue.is_fifo, queue.attributes, request)
                if self._answered_as_duplicate(destination, deduplication_id, message_id):
                    self._emit_deduplicated(message_id, message, request, queue.name)
                else:
                    self._emit_published(queue, message_id, message, request)
            if response.get("Failed"):
                failure = response["Failed"][0]
                raise BrokerRequestFailed(
                    "SendMessageBatch",
                    str(failure.get("Code")),
                    f"{len(response['Failed'])} message(s) were refused "
                    f"({failure.get('Message')}); the {len(ids)} before them were sent "
                    f"with ids {ids}",
                )
        return ids

    def publish_to_topic(
        self, message: Message, topic: TopicWrapper, extra_attributes: dict[str, Any] | None = None
    ) -> str:
        _check_message(message)
        _check_topic(topic)
        if not isinstance(message.content, str) or not message.content:
            raise InvalidParameter(
                "message.content",
                message.content,
                "non-empty text (SNS publishes strings; serializers produce them)",
                "Publish through TopicPublisher, which serializes the data first.",
            )
        if extra_attributes is not None and not isinstance(extra_attributes, dict):
            raise InvalidParameter(
                "extra_attributes",
                extra_attributes,
                f"a dict with keys {', '.join(_TOPIC_OPTIONS)}",
            )
        extra = dict(extra_attributes or {})
        unknown = sorted(set(extra) - set(_TOPIC_OPTIONS))
        if unknown:
            raise UnknownOption(
                "TopicPublisher.publish",
                f"unknown option(s) {unknown}",
                ("topic_name", "data", *_TOPIC_OPTIONS),
            )
        attributes = wire.topic_attributes(message)
        attributes.update(limits.message_attributes(extra.pop("message_attributes", None)))
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
        limits.check_topic_publish(topic, request)
        size = wire.encoded_size(str(message.content), attributes)
        if size > SNS_MESSAGE_LIMIT:
            raise MessageTooLarge(topic.name, size, SNS_MESSAGE_LIMIT)
        if topic.is_fifo and "MessageGroupId" not in request:
            raise MissingMessageGroupId(topic.name)
        needs_id = topic.is_fifo and "MessageDeduplicationId" not in request
        if needs_id:  # what SNS derives itself, given explicitly so every subscriber dedups
            request["MessageDeduplicationId"] = (
                hashlib.sha256(str(message.content).encode()).hexdigest()
                if self._deduplicates_by_content(topic)
                else str(uuid.uuid4())  # as for FIFO queues
            )
        deduplication_id = self._deduplication_id(topic.is_fifo, None, request)
        message_id, undeliverable = self._publish_around_missing_queues(topic, request)
        original = self._topic_duplicate_of(topic, deduplication_id, message_id)
        if original is not None:
            self._emit_deduplicated(original, message, request, topic=topic.name)
            return original
        self.events.emit(
            EventKind.PUBLISHED,
            topic=topic.name,
            message_id=message_id,
            detail={"manifest": message.manifest, "body": str(message.content)},
        )
        self._emit_fan_out(topic, message_id, attributes, str(message.content), undeliverable)
        return message_id

    def _publish_around_missing_queues(
        self, topic: TopicWrapper, request: dict[str, Any]
    ) -> tuple[str, set[str]]:
        """Publishes; returns the message id and the subscribed queues that no longer exist.

        SNS delivers to every subscription it can and keeps the others. moto instead fails the
        whole publish at the first missing queue, after delivering to some subscriptions and
        not others; so the simulated broker (which can tell cheaply, in process, whether a queue
        exists) steps around them: it unsubscribes them for this one publish and subscribes
        them again right after (same filter policy and raw delivery).
        """
        exists = self._queue_exists  # only where asking is cheap: real SNS does this itself
        missing = (
            []
            if exists is None
            else [s for s in self.subscriptions_of(topic) if not exists(s.queue)]
        )
        if not missing:
            with self._call("Publish", topic=topic.name):
                return str(self._sns.publish(**request)["MessageId"]), set()
        with self._fan_out_lock:
            for subscription in missing:
                self._queues.pop(subscription.queue, None)
                with self._call("Unsubscribe", topic=topic.name):
                    self._sns.unsubscribe(SubscriptionArn=subscription.arn)
            try:
                with self._call("Publish", topic=topic.name):
                    message_id = str(self._sns.publish(**request)["MessageId"])
            finally:
                self._subscribe_again(topic, missing)
        return message_id, {s.queue for s in missing}

    def _subscribe_again(self, topic: TopicWrapper, subscriptions: list[Subscription]) -> None:
        queue_arn_prefix = topic.arn.replace(":sns:", ":sqs:", 1).rsplit(":", 1)[0]
        renewed = {s.arn: s for s in self.subscriptions_of(topic)}
        for subscription in subscriptions:
            attributes = {
                "RawMessageDelivery": "true" if subscription.raw_message_delivery else "false"
            }
            if subscription.filter_policy is not None:
                attributes["FilterPolicy"] = subscription.filter_policy.to_json()
                attributes["FilterPolicyScope"] = subscription.filter_policy.scope.value
            with self._call("Subscribe", topic=topic.name):
                arn = self._sns.subscribe(
                    TopicArn=topic.arn,
                    Protocol="sqs",
                    Endpoint=f"{queue_arn_prefix}:{subscription.queue}",
                    Attributes=attributes,
                    ReturnSubscriptionArn=True,
                )["SubscriptionArn"]
            renewed.pop(subscription.arn, None)
            renewed[arn] = dataclasses.replace(subscription, arn=arn)
        self._subscriptions[topic.arn] = list(renewed.values())

    def _emit_fan_out(
        self,
        topic: TopicWrapper,
        message_id: str,
        attributes: wire.AttributeMap,
        body: str,
        undeliverable: set[str] | None = None,
    ) -> None:
        for subscription in self.subscriptions_of(topic):
            policy = subscription.filter_policy
            if policy is not None and not policy.matches(attributes, body):
                self.events.emit(
                    EventKind.FILTERED,
                    topic=topic.name,
                    queue=subscription.queue,
                    message_id=message_id,
                    reason=policy.why_filtered(attributes, body),
                    detail={"filter_policy": policy.rules},
                )
            elif undeliverable and subscription.queue in undeliverable:
                self.events.emit(
                    EventKind.DELIVERY_FAILED,
                    topic=topic.name,
                    queue=subscription.queue,
                    message_id=message_id,
                    reason=(
                        f"queue '{subscription.queue}' no longer exists; the other subscribers "
                        "got the message. SNS keeps the subscription: declare the queue again "
                        "to receive later messages, or unsubscribe it"
                    ),
                )
            else:
                self.events.emit(
                    EventKind.DELIVERED,
                    topic=topic.name,
                    queue=subscription.queue,
                    message_id=message_id,
                    detail={"raw_message_delivery": subscription.raw_message_delivery},
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
        """Receives up to ``max_messages`` (1 to 10) messages; each is checked one by one, so
        one that cannot be read is handed out marked as such and never fails the others."""
        request = self._receive_request(
            queue, max_messages, wait_time_seconds, visibility_timeout, kwargs
        )
        received = self._receive(queue, request)
        messages = [_decode_received(entry, queue.url) for entry in received]
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

    def _receive(self, queue: QueueWrapper, request: dict[str, Any]) -> list[dict[str, Any]]:
        """One ReceiveMessage; on a broker clock that stands still (manual mode) a long poll
        waits its seconds in real time instead, since broker time would never reach its end."""
        wait = int(request["WaitTimeSeconds"])
        if wait and self._clock_stands_still is not None and self._clock_stands_still():
            deadline = time.monotonic() + wait
            short = {**request, "WaitTimeSeconds": 0}
            while True:
                received = self._receive(queue, short)
                if received or time.monotonic() >= deadline:
                    return received
                time.sleep(min(_POLL_PAUSE, max(0.0, deadline - time.monotonic())))
        with self._call("ReceiveMessage", queue=queue.name):
            client = self._receive_client(wait)
            return list(client.receive_message(**request).get("Messages", []))

    def _receive_request(
        self,
        queue: QueueWrapper,
        max_messages: object,
        wait_time_seconds: object,
        visibility_timeout: object,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        """The ReceiveMessage arguments, every value checked against SQS's ranges first."""
        _check_queue(queue)
        unknown = sorted(set(options) - {"attempt_id"})
        if unknown:
            raise UnknownOption(
                "retrieve_messages",
                f"unknown option(s) {unknown}",
                ("queue", "max_messages", "wait_time_seconds", "visibility_timeout"),
            )
        wait = self.wait_time_seconds if wait_time_seconds is None else wait_time_seconds
        request: dict[str, Any] = {
            "QueueUrl": queue.url,
            "MaxNumberOfMessages": self.max_number_of_messages
            if max_messages is None
            else limits.RECEIVE_BATCH.check("max_messages", max_messages),
            "WaitTimeSeconds": int(
                number("wait_time_seconds", wait, 0, 20, unit="seconds (0 to 20)")
            ),
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["All"],
        }
        timeout = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        if timeout is not None:
            request["VisibilityTimeout"] = limits.VISIBILITY_TIMEOUT.check(
                "visibility_timeout", timeout
            )
        if options.get("attempt_id") is not None and queue.is_fifo:
            request["ReceiveRequestAttemptId"] = limits.fifo_id("attempt_id", options["attempt_id"])
        return request

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
        _check_queue(queue)
        if max_messages is not None:
            whole_number("max_messages", max_messages, 1, 10**9)
        if time_limit is not None:
            number("time_limit", time_limit, 0, 10**6, unit="seconds")
        self._receive_request(queue, None, None, None, kwargs)
        return self._yield_messages(queue, max_messages, time_limit, **kwargs)

    def _yield_messages(
        self,
        queue: QueueWrapper,
        max_messages: int | None,
        time_limit: float | None,
        **kwargs: Any,
    ) -> Iterator[Message]:
        deadline = None if time_limit is None else time.monotonic() + time_limit
        yielded = 0
        while max_messages is None or yielded < max_messages:
            # The backend's own wait even without a deadline: on AWS a short poll (0) asks only
            # some servers, so an empty answer would not mean the queue is drained.
            wait = float(self.wait_time_seconds)
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            batch_size = (
                None if max_messages is None else min(SQS_BATCH_SIZE, max_messages - yielded)
            )
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

    def change_message_visibility(self, message: Message, visibility_timeout: int) -> None:
        """Hides a received message for ``visibility_timeout`` more seconds (0 to 12 hours),
        counted from now: more time to finish, or 0 to hand it back at once."""
        seconds = limits.VISIBILITY_TIMEOUT.check("visibility_timeout", visibility_timeout)
        metadata = self._metadata_of(message)
        queue = _name_from_url(metadata["queue_url"])
        with self._call("ChangeMessageVisibility", queue=queue):
            self._sqs.change_message_visibility(
                QueueUrl=metadata["queue_url"],
                ReceiptHandle=metadata["ReceiptHandle"],
                VisibilityTimeout=seconds,
            )

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
        for parameter, value in (("dead_letter_queue", dead_letter_queue), ("to_queue", to_queue)):
            if value is not None and not isinstance(value, QueueWrapper):
                raise InvalidParameter(
                    parameter,
                    value,
                    "a queue from backend.get_queue(name)",
                    "Or use broker.redrive(name).",
                )
        if to_queue is not None and to_queue.name == dead_letter_queue.name:
            raise InvalidParameter(
                "to_queue",
                to_queue.name,
                "a queue other than the dead-letter queue being redriven (moving its messages "
                "into itself would never end)",
            )
        target = to_queue if to_queue is not None else self._redrive_source(dead_letter_queue)
        # only the messages there now: any that arrive while it runs wait for the next redrive
        present = int(
            self.queue_attributes(dead_letter_queue).get("ApproximateNumberOfMessages", 0)
        )
        moved: list[str] = []
        while len(moved) < present:
            with self._call("ReceiveMessage", queue=dead_letter_queue.name):
                received = self._sqs.receive_message(
                    QueueUrl=dead_letter_queue.url,
                    MaxNumberOfMessages=min(SQS_BATCH_SIZE, present - len(moved)),
                    WaitTimeSeconds=0,
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                ).get("Messages", [])
            if not received:
                return moved
            for index, entry in enumerate(received):
                try:
                    moved.append(self._redrive_one(entry, dead_letter_queue, target))
                except MelangeLabError:
                    self._put_back(dead_letter_queue, received[index:])
                    raise
        return moved

    def _put_back(self, queue: QueueWrapper, entries: list[dict[str, Any]]) -> None:
        """Makes received-but-not-moved dead letters visible again at once (they stay put)."""
        for entry in entries:
            with self._call("ChangeMessageVisibility", queue=queue.name):
                self._sqs.change_message_visibility(
                    QueueUrl=queue.url, ReceiptHandle=entry["ReceiptHandle"], VisibilityTimeout=0
                )

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
        _check_message(message)
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
