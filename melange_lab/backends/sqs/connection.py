"""The SQS backend's two boto3 clients, and the one way it calls them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from melange_lab.backends.base import MessagingBackend
from melange_lab.backends.sqs.backend_events import CallReports
from melange_lab.backends.sqs.caches import BackendCache
from melange_lab.backends.sqs.error_translation import refused, unanswered
from melange_lab.errors import MelangeLabError, QueueNotFound, TopicNotFound
from melange_lab.events import EventLog
from melange_lab.models import TopicWrapper
from melange_lab.names import name_from_arn, name_from_url


class Connection(MessagingBackend):
    """Holds the clients and the cache; every boto3 call runs inside ``_call``, which turns
    provider errors into the lab's named errors (forgetting a queue or topic found missing)."""

    _sqs: Any
    _sns: Any
    _cache: BackendCache
    _reports: CallReports
    events: EventLog

    def _connect(self, sqs_client: Any, sns_client: Any) -> None:
        self._sqs = sqs_client
        self._sns = sns_client
        self._cache = BackendCache()
        for client in (sqs_client, sns_client):
            # first in line, before moto's own handler: a stopped broker's backend must fail
            # here, not reach a newer broker's state or the real AWS endpoint
            client.meta.events.register_first("before-send", self._refuse_if_stopped)
            # and last in line: a call that passed the first check while another thread began
            # broker.stop() may find moto's handler already off; refusing here (stop marks the
            # broker stopping before it removes the mock) keeps the request in the process
            client.meta.events.register_last("before-send", self._refuse_if_stopped)

    def _refuse_if_stopped(self, **_: Any) -> None:
        """Raises if this backend's broker is gone; an endpoint backend has nothing to refuse
        (the simulated broker's backend refuses once its broker stopped)."""

    def _receive_client(self, wait_time_seconds: int) -> Any:
        """The SQS client for a receive that may wait ``wait_time_seconds`` (endpoints give one
        with a read timeout that long plus their own)."""
        return self._sqs

    @contextmanager
    def _call(
        self, operation: str, queue: str | None = None, topic: str | None = None
    ) -> Iterator[None]:
        """Runs boto3 calls, turning provider errors into the lab's named errors."""
        self._refuse_if_stopped()
        try:
            yield
        except ClientError as error:
            self._refuse_if_stopped()  # the simulated broker stopped during the call: say that
            translated = refused(
                operation, error, queue, topic, self._known_queue_names, self._topic_names
            )
            if isinstance(translated, QueueNotFound):
                self._cache.queues.pop(translated.name, None)
            if isinstance(translated, TopicNotFound):
                self._cache.topics.pop(translated.name, None)
            raise translated from None
        except BotoCoreError as error:
            self._refuse_if_stopped()  # the simulated broker stopped during the call: say that
            raise unanswered(operation, error) from None

    def queue_names(self) -> list[str]:
        """Names of every queue on the broker, fresh from it."""
        urls: list[str] = []
        with self._call("ListQueues"):
            for page in self._sqs.get_paginator("list_queues").paginate():
                urls += page.get("QueueUrls", [])
        return [name_from_url(url) for url in urls]

    def list_topics(self) -> list[TopicWrapper]:
        topics: list[TopicWrapper] = []
        with self._call("ListTopics"):
            for page in self._sns.get_paginator("list_topics").paginate():
                topics += [
                    TopicWrapper(name_from_arn(t["TopicArn"]), t["TopicArn"])
                    for t in page.get("Topics", [])
                ]
        return topics

    def _known_queue_names(self) -> list[str]:
        """For an error message: the queue names, or none if even listing them fails."""
        try:
            return self.queue_names()
        except MelangeLabError:
            return []

    def _topic_names(self) -> list[str]:
        return [topic.name for topic in self.list_topics()]
