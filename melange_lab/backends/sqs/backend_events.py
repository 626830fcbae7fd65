"""Every event the SQS backend emits itself, and its prediction of a topic publish's fan-out.

Until the broker's moto layer reports its own changes, the backend tells the event log what
its calls did: declares, deletes, subscriptions, publishes, receives, acknowledgements,
releases, redrives and FIFO duplicates. For a topic publish it predicts, per subscription,
``delivered``, ``filtered`` (evaluating the filter policy again) or ``delivery_failed``.
These are kept in this one module because they go once the broker emits them where its
state changes (issue #20); the backend's calls to them are one line each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from melange_lab import wire
from melange_lab.backends.sqs.subscriptions import Subscription
from melange_lab.events import EventKind, EventLog
from melange_lab.models import Message, QueueWrapper


def topic_declared(events: EventLog, topic: str, arn: str) -> None:
    events.emit(EventKind.TOPIC_DECLARED, topic=topic, detail={"arn": arn})


def topic_deleted(events: EventLog, topic: str) -> None:
    events.emit(EventKind.TOPIC_DELETED, topic=topic)


def queue_declared(
    events: EventLog,
    queue: QueueWrapper,
    dead_letter_queue_name: str | None,
    max_receive_count: int,
) -> None:
    events.emit(
        EventKind.QUEUE_DECLARED,
        queue=queue.name,
        detail={
            "dead_letter_queue": dead_letter_queue_name,
            "max_receive_count": max_receive_count if dead_letter_queue_name else None,
            "fifo": queue.is_fifo,
        },
    )


def queue_deleted(events: EventLog, queue: str) -> None:
    events.emit(EventKind.QUEUE_DELETED, queue=queue)


def subscribed(events: EventLog, subscription: Subscription) -> None:
    policy = subscription.filter_policy
    events.emit(
        EventKind.SUBSCRIBED,
        topic=subscription.topic,
        queue=subscription.queue,
        detail={
            "filter_policy": None if policy is None else policy.rules,
            "raw_message_delivery": subscription.raw_message_delivery,
        },
    )


def published_to_queue(
    events: EventLog,
    queue: QueueWrapper,
    message_id: str,
    message: Message,
    request: dict[str, Any],
) -> None:
    events.emit(
        EventKind.PUBLISHED,
        queue=queue.name,
        message_id=message_id,
        detail={
            "manifest": message.manifest,
            "message_group_id": request.get("MessageGroupId"),
            "body": request["MessageBody"],
        },
    )


def published_to_topic(events: EventLog, topic: str, message_id: str, message: Message) -> None:
    events.emit(
        EventKind.PUBLISHED,
        topic=topic,
        message_id=message_id,
        detail={"manifest": message.manifest, "body": str(message.content)},
    )


def fan_out(
    events: EventLog,
    topic: str,
    subscriptions: Iterable[Subscription],
    message_id: str,
    attributes: wire.AttributeMap,
    body: str,
    undeliverable: set[str] | None = None,
) -> None:
    """What each subscription of ``topic`` got from one publish, as the broker decides it:
    ``filtered`` (with why), ``delivery_failed`` (its queue is gone) or ``delivered``."""
    for subscription in subscriptions:
        policy = subscription.filter_policy
        if policy is not None and not policy.matches(attributes, body):
            events.emit(
                EventKind.FILTERED,
                topic=topic,
                queue=subscription.queue,
                message_id=message_id,
                reason=policy.why_filtered(attributes, body),
                detail={"filter_policy": policy.rules},
            )
        elif undeliverable and subscription.queue in undeliverable:
            events.emit(
                EventKind.DELIVERY_FAILED,
                topic=topic,
                queue=subscription.queue,
                message_id=message_id,
                reason=(
                    f"queue '{subscription.queue}' no longer exists; the other subscribers "
                    "got the message. SNS keeps the subscription: declare the queue again "
                    "to receive later messages, or unsubscribe it"
                ),
            )
        else:
            events.emit(
                EventKind.DELIVERED,
                topic=topic,
                queue=subscription.queue,
                message_id=message_id,
                detail={"raw_message_delivery": subscription.raw_message_delivery},
            )


def deduplicated(
    events: EventLog,
    original: str,
    message: Message,
    request: dict[str, Any],
    queue: str | None = None,
    topic: str | None = None,
) -> None:
    given = request.get("MessageDeduplicationId")
    why = f"deduplication id '{given}'" if given else "content (content-based deduplication)"
    events.emit(
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


def received(
    events: EventLog, queue: str, messages: Sequence[Message], entries: Sequence[dict[str, Any]]
) -> None:
    for message, entry in zip(messages, entries, strict=True):
        events.emit(
            EventKind.RECEIVED,
            queue=queue,
            message_id=message.message_id,
            detail={
                "receive_count": int(entry.get("Attributes", {}).get("ApproximateReceiveCount", 0))
            },
        )


def acknowledged(events: EventLog, queue: str, message_id: str | None) -> None:
    events.emit(EventKind.ACKNOWLEDGED, queue=queue, message_id=message_id)


def released(events: EventLog, queue: str, message_id: str | None, reason: str | None) -> None:
    events.emit(EventKind.RELEASED, queue=queue, message_id=message_id, reason=reason)


def redriven(
    events: EventLog, dead_letter_queue: str, target: str, message_id: str, original: str
) -> None:
    events.emit(
        EventKind.REDRIVEN,
        queue=target,
        message_id=message_id,
        reason=f"moved back from dead-letter queue '{dead_letter_queue}'",
        detail={"dead_letter_queue": dead_letter_queue, "original_message_id": original},
    )
