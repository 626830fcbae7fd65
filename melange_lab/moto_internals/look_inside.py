"""Looking inside moto's queues without receiving: what the lab's peek and counts show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import moto.sqs.models as sqs_models
from moto.sqs.models import Message, Queue, sqs_backends

from melange_lab.errors import QueueNotFound

# --- looking without touching ---------------------------------------------------------------


@dataclass(frozen=True)
class StoredMessage:
    """A message as moto holds it, read without receiving it."""

    message_id: str
    body: str
    message_attributes: dict[str, dict[str, str]]
    receive_count: int
    state: str  # "visible" | "in_flight" | "delayed"
    sent_at: float
    visible_at: float | None
    delayed_until: float | None
    message_group_id: str | None
    deduplication_id: str | None
    sequence_number: str | None


def _queue(account_id: str, region: str, queue_name: str) -> Queue:
    queues: dict[str, Queue] = sqs_backends[account_id][region].queues
    try:
        return queues[queue_name]
    except KeyError:
        raise QueueNotFound(queue_name, queues) from None


def _now_ms() -> float:
    # Through moto's own module global, so an installed clock is honoured.
    clock: Callable[[], float] = vars(sqs_models)["unix_time_millis"]
    return clock()


def _state(message: Message, now_ms: float) -> str:
    # moto's own tests: Message.delayed is now < delayed_until, Message.visible now > visible_at.
    if now_ms < message.delayed_until:
        return "delayed"
    return "visible" if now_ms > message.visible_at else "in_flight"


def _stored(message: Message, now_ms: float) -> StoredMessage:
    state = _state(message, now_ms)
    return StoredMessage(
        message_id=message.id,
        body=message.body,
        message_attributes={
            name: {key: str(value) for key, value in attribute.items()}
            for name, attribute in message.message_attributes.items()
        },
        receive_count=message.approximate_receive_count,
        state=state,
        sent_at=(message.sent_timestamp or 0) / 1000,
        visible_at=message.visible_at / 1000 if state == "in_flight" else None,
        delayed_until=message.delayed_until / 1000 if state == "delayed" else None,
        message_group_id=message.group_id,
        deduplication_id=message.deduplication_id,
        sequence_number=message.sequence_number,
    )


def _retained(queue: Queue) -> Callable[[Message, float], bool]:
    """Whether a message is still within its queue's retention period.

    moto skips an expired message on receive but never deletes it; SQS deletes it. So what the
    lab shows leaves expired messages out, as a learner would see them on SQS.
    """
    retention_ms = int(getattr(queue, "message_retention_period", 345_600)) * 1000
    return lambda message, now_ms: int(message.sent_timestamp or 0) + retention_ms > now_ms


def _live_messages(account_id: str, region: str, queue_name: str, now_ms: float) -> list[Message]:
    queue = _queue(account_id, region, queue_name)
    retained = _retained(queue)
    return [m for m in list(queue._messages) if retained(m, now_ms)]


def peek_messages(account_id: str, region: str, queue_name: str) -> list[StoredMessage]:
    """Every message in the queue, in queue order, without changing anything moto holds."""
    now_ms = _now_ms()
    return [_stored(m, now_ms) for m in _live_messages(account_id, region, queue_name, now_ms)]


def peek_page(
    account_id: str, region: str, queue_name: str, offset: int, limit: int
) -> tuple[list[StoredMessage], int]:
    """Messages ``offset`` to ``offset + limit`` in queue order, and how many the queue holds:
    only the page is copied out, so a page of a deep queue costs little more than a count."""
    now_ms = _now_ms()
    live = _live_messages(account_id, region, queue_name, now_ms)
    return [_stored(m, now_ms) for m in live[offset : offset + limit]], len(live)


def queue_counts(account_id: str, region: str, queue_name: str) -> tuple[int, int, int]:
    """(visible, in_flight, delayed), as GetQueueAttributes counts them, in one pass."""
    now_ms = _now_ms()
    queue = _queue(account_id, region, queue_name)
    # _retained's test, inlined: this loop is what a view update costs on a deep queue
    expired_before = now_ms - int(getattr(queue, "message_retention_period", 345_600)) * 1000
    visible = in_flight = delayed = 0
    for message in list(queue._messages):
        if (message.sent_timestamp or 0) <= expired_before:
            continue
        if now_ms < message.delayed_until:  # the order of _state's tests
            delayed += 1
        elif now_ms > message.visible_at:
            visible += 1
        else:
            in_flight += 1
    return visible, in_flight, delayed


def dead_letter_target(account_id: str, region: str, queue_name: str) -> tuple[str, int] | None:
    """(dead-letter queue name, maxReceiveCount) from the queue's redrive policy, if any."""
    queue = _queue(account_id, region, queue_name)
    if queue.dead_letter_queue is None or not queue.redrive_policy:
        return None
    return queue.dead_letter_queue.name, int(queue.redrive_policy["maxReceiveCount"])
