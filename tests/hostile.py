"""What the hostile tests share: values no call should choke on, and the ledger every one of
them checks after a refusal (each copy that entered a queue is acknowledged, still there, or
expired at the end of its queue's retention period, or deleted with its queue or a purge,
which the broker reports too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from melange_lab import SimulatedBroker
from melange_lab.events import EventKind

HUGE_TEXT = "x" * 100_000


def deep_list(depth: int = 5_000) -> list[Any]:
    """``[[[...]]]`` nested ``depth`` times: deeper than ``repr`` or ``json`` recurse."""
    outer: list[Any] = []
    inner = outer
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return outer


def ledger(broker: SimulatedBroker, around_the_lab: Mapping[str, int] = {}) -> tuple[int, int]:
    """(copies that entered a queue, acknowledged + expired + deleted with a queue or purged +
    copies still in a queue): equal when
    nothing was lost. ``around_the_lab``: message id -> copies, for what plain boto3 sent,
    counted unless the event log already reports that message."""
    events = list(broker.events)
    entered = sum(
        1
        for e in events
        if e.kind is EventKind.DELIVERED or (e.kind is EventKind.PUBLISHED and e.queue)
    )
    reported = {e.message_id for e in events} | {getattr(e, "published_id", None) for e in events}
    entered += sum(copies for sent, copies in around_the_lab.items() if sent not in reported)
    gone = sum(1 for e in events if e.kind in (EventKind.ACKNOWLEDGED, EventKind.EXPIRED))
    gone += sum(  # deleted with their queue, or purged: the broker reports how many
        int(e.detail.get("messages", 0))
        for e in events
        if e.kind in (EventKind.QUEUE_DELETED, EventKind.PURGED)
    )
    in_queues = sum(q.total for q in broker.queues())
    return entered, gone + in_queues


def adds_up(broker: SimulatedBroker, around_the_lab: Mapping[str, int] = {}) -> bool:
    entered, accounted = ledger(broker, around_the_lab)
    return entered == accounted
