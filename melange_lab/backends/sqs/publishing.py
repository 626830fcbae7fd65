"""Sending to a queue and publishing to a topic: one boto3 call each, after every value was
checked. A FIFO duplicate is sent like any message; the broker drops it and the backend,
recognising the broker's answer, reports it as ``deduplicated``."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

from melange_lab.backends.sqs import backend_events
from melange_lab.backends.sqs.checks import check_message, check_message_dtos, check_queue
from melange_lab.backends.sqs.deduplication import deduplication_id
from melange_lab.backends.sqs.lookups import Lookups
from melange_lab.backends.sqs.requests import (
    SQS_BATCH_SIZE,
    check_send_options,
    send_request,
    topic_request,
)
from melange_lab.errors import BrokerRequestFailed
from melange_lab.models import Message, MessageDto, QueueWrapper, TopicWrapper


class Publishing(Lookups):
    """``publish_to_queue``, ``publish_to_queue_batch`` and ``publish_to_topic``."""

    def publish_to_queue(self, message: Message, queue: QueueWrapper, **kwargs: Any) -> str:
        check_message(message)
        check_queue(queue)
        check_send_options(kwargs)
        request = self._send_request(message, queue, **kwargs)
        with self._call("SendMessage", queue=queue.name):
            message_id = str(self._sqs.send_message(QueueUrl=queue.url, **request)["MessageId"])
        self._report_sent(queue, message_id, message, request)
        return message_id

    def publish_to_queue_batch(
        self, message_dtos: Sequence[MessageDto], queue: QueueWrapper
    ) -> list[str]:
        check_queue(queue)
        check_message_dtos(message_dtos)
        requests = [
            self._send_request(
                dto.message, queue, dto.message_group_id, dto.message_deduplication_id
            )
            for dto in message_dtos
        ]
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
                self._report_sent(queue, message_id, message_dtos[start + i].message, request)
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

    def _send_request(
        self,
        message: Message,
        queue: QueueWrapper,
        message_group_id: str | None = None,
        message_deduplication_id: str | None = None,
        delay_seconds: int | None = None,
    ) -> dict[str, Any]:
        return send_request(
            message,
            queue,
            queue.name in self._cache.content_deduplication_asked,
            message_group_id,
            message_deduplication_id,
            delay_seconds,
        )

    def _report_sent(
        self, queue: QueueWrapper, message_id: str, message: Message, request: dict[str, Any]
    ) -> None:
        """``published``, or ``deduplicated`` when the broker answered with the id an earlier
        send of the same deduplication id got (SQS drops such a copy)."""
        window = self._cache.deduplication
        if window.answered_as_duplicate(
            f"queue:{queue.name}",
            deduplication_id(queue.is_fifo, request),
            message_id,
            self.events.now(),
        ):
            backend_events.deduplicated(self.events, message_id, message, request, queue.name)
        else:
            backend_events.published_to_queue(self.events, queue, message_id, message, request)

    def publish_to_topic(
        self, message: Message, topic: TopicWrapper, extra_attributes: dict[str, Any] | None = None
    ) -> str:
        request, attributes = topic_request(message, topic, extra_attributes)
        if topic.is_fifo and "MessageDeduplicationId" not in request:
            # what SNS derives itself, given explicitly so every subscriber dedups
            request["MessageDeduplicationId"] = (
                hashlib.sha256(str(message.content).encode()).hexdigest()
                if self._deduplicates_by_content(topic)
                else str(uuid.uuid4())  # as for FIFO queues
            )
        message_id, undeliverable = self._publish(topic, request)
        original = self._cache.deduplication.topic_duplicate_of(
            topic.name, deduplication_id(topic.is_fifo, request), message_id, self.events.now()
        )
        if original is not None:
            backend_events.deduplicated(self.events, original, message, request, topic=topic.name)
            return original
        backend_events.published_to_topic(self.events, topic.name, message_id, message)
        backend_events.fan_out(
            self.events,
            topic.name,
            self.subscriptions_of(topic),
            message_id,
            attributes,
            str(message.content),
            undeliverable,
        )
        return message_id

    def _publish(self, topic: TopicWrapper, request: dict[str, Any]) -> tuple[str, set[str]]:
        """Publishes; returns the message id and the subscribed queues that could not be
        delivered to (SNS itself delivers to every subscription it can and keeps the others;
        the simulated broker's backend works around moto, which does not)."""
        with self._call("Publish", topic=topic.name):
            return str(self._sns.publish(**request)["MessageId"]), set()
