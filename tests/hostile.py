"""What the hostile tests share: values no call should choke on, and the ledger every one of
them checks after a refusal (each copy that entered a queue is acknowledged or still there)."""

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
    """(copies that entered a queue, acknowledged + copies still in a queue): equal whenever
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
    acknowledged = sum(1 for e in events if e.kind is EventKind.ACKNOWLEDGED)
    in_queues = sum(q.total for q in broker.queues())
    return entered, acknowledged + in_queues


def adds_up(broker: SimulatedBroker, around_the_lab: Mapping[str, int] = {}) -> bool:
    entered, accounted = ledger(broker, around_the_lab)
    return entered == accounted
