"""What the backend's own calls did, reported by the backend: only where no broker reports it.

The simulated broker reports every change where its state changes (``moto_internals``), for
every client alike, so its backend reports nothing itself. A real endpoint (LocalStack, AWS)
tells a client only what its own calls returned: there the backend reports what this process
did (declares, deletes, subscriptions, publishes, receives, acknowledgements, releases,
redrives, FIFO duplicates it recognised). SNS's fan-out is not reported there, since the
endpoint does not tell and the lab does not guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from melange_lab import wire
from melange_lab.backends.sqs.subscriptions import Subscription
from melange_lab.events import EventKind, EventLog
from melange_lab.models import Message, QueueWrapper


class CallReports:
    """Reports the backend's calls on ``events``, or nothing when ``events`` is None (the
    simulated broker, which reports them itself)."""

    def __init__(self, events: EventLog | None) -> None:
        self._events = events

    @property
    def enabled(self) -> bool:
        return self._events is not None

    def _emit(self, kind: EventKind, **fields: Any) -> None:
        if self._events is not None:
            self._events.emit(kind, **fields)

    def topic_declared(self, topic: str, arn: str) -> None:
        self._emit(EventKind.TOPIC_DECLARED, topic=topic, detail={"arn": arn})

    def topic_deleted(self, topic: str) -> None:
        self._emit(EventKind.TOPIC_DELETED, topic=topic)

    def queue_declared(
        self, queue: QueueWrapper, dead_letter_queue_name: str | None, max_receive_count: int
    ) -> None:
        self._emit(
            EventKind.QUEUE_DECLARED,
            queue=queue.name,
            detail={
                "dead_letter_queue": dead_letter_queue_name,
                "max_receive_count": max_receive_count if dead_letter_queue_name else None,
                "fifo": queue.is_fifo,
            },
        )

    def queue_deleted(self, queue: str) -> None:
        self._emit(EventKind.QUEUE_DELETED, queue=queue)

    def subscribed(self, subscription: Subscription) -> None:
        policy = subscription.filter_policy
        self._emit(
            EventKind.SUBSCRIBED,
            topic=subscription.topic,
            queue=subscription.queue,
            detail={
                "filter_policy": None if policy is None else policy.rules,
                "raw_message_delivery": subscription.raw_message_delivery,
            },
        )

    def unsubscribed(self, subscription: Subscription) -> None:
        self._emit(EventKind.UNSUBSCRIBED, topic=subscription.topic, queue=subscription.queue)

    def published_to_queue(
        self, queue: QueueWrapper, message_id: str, message: Message, request: dict[str, Any]
    ) -> None:
        self._emit(
            EventKind.PUBLISHED,
            queue=queue.name,
            message_id=message_id,
            published_id=message_id,
            detail={
                "manifest": message.manifest,
                "message_group_id": request.get("MessageGroupId"),
            },
        )

    def published_to_topic(self, topic: str, message_id: str, message: Message) -> None:
        self._emit(
            EventKind.PUBLISHED,
            topic=topic,
            message_id=message_id,
            published_id=message_id,
            detail={"manifest": message.manifest},
        )

    def deduplicated(
        self,
        original: str,
        message: Message,
        request: dict[str, Any],
        queue: str | None = None,
        topic: str | None = None,
    ) -> None:
        given = request.get("MessageDeduplicationId")
        why = f"deduplication id '{given}'" if given else "content (content-based deduplication)"
        self._emit(
            EventKind.DEDUPLICATED,
            queue=queue,
            topic=topic,
            message_id=original,
            published_id=original,
            reason=(
                f"same {why} as message {original[:8]} sent less than 5 minutes ago: "
                f"accepted and dropped, as FIFO {'queues' if queue else 'topics'} do"
            ),
            detail={
                "manifest": message.manifest,
                "message_group_id": request.get("MessageGroupId"),
                "deduplication_id": given,
            },
        )

    def received(
        self, queue: str, messages: Sequence[Message], entries: Sequence[dict[str, Any]]
    ) -> None:
        for message, entry in zip(messages, entries, strict=True):
            count = entry.get("Attributes", {}).get("ApproximateReceiveCount", 0)
            self._emit(
                EventKind.RECEIVED,
                queue=queue,
                message_id=message.message_id,
                published_id=wire.published_id_of(message),
                detail={"receive_count": int(count)},
            )

    def acknowledged(self, queue: str, message: Message) -> None:
        self._emit(
            EventKind.ACKNOWLEDGED,
            queue=queue,
            message_id=message.message_id,
            published_id=wire.published_id_of(message),
        )

    def released(self, queue: str, message: Message, reason: str | None) -> None:
        self._emit(
            EventKind.RELEASED,
            queue=queue,
            message_id=message.message_id,
            published_id=wire.published_id_of(message),
            reason=reason,
        )

    def redriven(
        self, dead_letter_queue: str, target: str, message_id: str, entry: dict[str, Any]
    ) -> None:
        self._emit(
            EventKind.REDRIVEN,
            queue=dead_letter_queue,
            message_id=message_id,
            published_id=entry["MessageId"],
            reason=f"moved back from dead-letter queue '{dead_letter_queue}' to '{target}'",
            detail={"to_queue": target, "from_message_id": entry["MessageId"]},
        )
