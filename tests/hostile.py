"""What the hostile tests share: values no call should choke on, and the ledger every one of
them checks after a refusal (each copy that entered a queue is acknowledged or still there)."""

from __future__ import annotations

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


def ledger(broker: SimulatedBroker, sent_around_the_lab: int = 0) -> tuple[int, int]:
    """(copies that entered a queue, acknowledged + copies still in a queue): equal whenever
    nothing was lost. ``sent_around_the_lab``: copies sent with plain boto3, which the event
    log reports only once the broker's moto-side hooks do."""
    events = list(broker.events)
    entered = sum(
        1
        for e in events
        if e.kind is EventKind.DELIVERED or (e.kind is EventKind.PUBLISHED and e.queue)
    )
    acknowledged = sum(1 for e in events if e.kind is EventKind.ACKNOWLEDGED)
    in_queues = sum(q.total for q in broker.queues())
    return entered + sent_around_the_lab, acknowledged + in_queues


def adds_up(broker: SimulatedBroker, sent_around_the_lab: int = 0) -> bool:
    entered, accounted = ledger(broker, sent_around_the_lab)
    return entered == accounted
