"""Sending to a queue and publishing to a topic: one boto3 call each, after every value was
checked. A FIFO duplicate is sent like any message; the broker drops it. Where the backend
reports its own calls (a real endpoint), it recognises the broker's answer and reports the
copy as ``deduplicated``; the simulated broker reports it itself."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

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
        if not self._reports.enabled:
            return
        window = self._cache.deduplication
        if window.answered_as_duplicate(
            f"queue:{queue.name}",
            deduplication_id(queue.is_fifo, request),
            message_id,
            self.events.now(),
        ):
            self._reports.deduplicated(message_id, message, request, queue.name)
        else:
            self._reports.published_to_queue(queue, message_id, message, request)

    def publish_to_topic(
        self, message: Message, topic: TopicWrapper, extra_attributes: dict[str, Any] | None = None
    ) -> str:
        request = topic_request(message, topic, extra_attributes)
        if topic.is_fifo and "MessageDeduplicationId" not in request:
            # what SNS derives itself, given explicitly so every subscriber dedups
            request["MessageDeduplicationId"] = (
                hashlib.sha256(str(message.content).encode()).hexdigest()
                if self._deduplicates_by_content(topic)
                else str(uuid.uuid4())  # as for FIFO queues
            )
        with self._call("Publish", topic=topic.name):
            message_id = str(self._sns.publish(**request)["MessageId"])
        # SNS answers a dropped FIFO duplicate with a new id; the publisher returns the first's
        original = self._cache.deduplication.topic_duplicate_of(
            topic.name, deduplication_id(topic.is_fifo, request), message_id, self.events.now()
        )
        if original is not None:
            self._reports.deduplicated(original, message, request, topic=topic.name)
            return original
        self._reports.published_to_topic(topic.name, message_id, message)
        return message_id
