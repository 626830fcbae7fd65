"""Faults on purpose, for teaching at-least-once delivery.

A ``FaultInjector`` sits on the backend's receive path and in the dispatcher, never inside
moto: it can hand a received message out twice (a duplicate delivery), shuffle a received
batch (out-of-order delivery), and make a dispatcher "crash" after its consumers processed a
message but before it acknowledged it. Duplicates and reordering happen on standard queues
only: FIFO queues guarantee neither happens, on AWS and here. It draws every decision from
its own seeded random generator, so the same seed and the same calls give the same run.
Each fault it injects is reported as a ``fault_injected`` event saying what it did.

Get one from ``broker.faults(...)``; turn it off with ``broker.clear_faults()`` or use it as
a context manager.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable
from types import TracebackType

from melange_lab.arguments import number
from melange_lab.errors import InvalidParameter
from melange_lab.events import EventKind, EventLog
from melange_lab.models import Message, QueueWrapper


def _rate(name: str, value: float) -> float:
    return number(
        name, value, 0, 1, unit="(a probability between 0 and 1)", fix=f"e.g. {name}=0.2."
    )


MAX_SEED = 2**63 - 1  # 64 bits: plenty of different runs, and printable in any report


def seed_value(name: str, value: object) -> int:
    """A seed is a whole number, so the same seed gives the same run everywhere."""
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SEED:
        raise InvalidParameter(
            name, value, f"a whole number from {-MAX_SEED:,} to {MAX_SEED:,}, e.g. seed=7"
        )
    return value


class FaultInjector:
    """Seeded fault injection; every rate is the probability per message (or per batch)."""

    def __init__(
        self,
        events: EventLog,
        *,
        duplicate_rate: float = 0.0,
        reorder_rate: float = 0.0,
        crash_before_ack_rate: float = 0.0,
        seed: int = 0,
        on_turn_off: Callable[[FaultInjector], None] | None = None,
    ) -> None:
        self.duplicate_rate = _rate("duplicate_rate", duplicate_rate)
        self.reorder_rate = _rate("reorder_rate", reorder_rate)
        self.crash_before_ack_rate = _rate("crash_before_ack_rate", crash_before_ack_rate)
        self.seed = seed_value("seed", seed)
        self.enabled = True
        self._events = events
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._on_turn_off = on_turn_off

    def _draw(self, rate: float) -> bool:
        with self._lock:
            return self._random.random() < rate

    def on_receive(self, queue: QueueWrapper, messages: list[Message]) -> list[Message]:
        """What the consumer gets instead of ``messages``: maybe duplicated, maybe reordered."""
        if not self.enabled or queue.is_fifo:
            return messages
        delivered: list[Message] = []
        for message in messages:
            delivered.append(message)
            if self._draw(self.duplicate_rate):
                delivered.append(dataclasses.replace(message, metadata=dict(message.metadata)))
                self._emit(
                    queue.name,
                    message.message_id,
                    "duplicate",
                    "delivered this message twice in one receive (at-least-once delivery)",
                )
        if len(delivered) > 1 and self._draw(self.reorder_rate):
            before = [m.message_id for m in delivered]
            with self._lock:
                self._random.shuffle(delivered)
            after = [m.message_id for m in delivered]
            if after != before:
                self._emit(
                    queue.name,
                    None,
                    "reorder",
                    "handed out the received batch in another order than it was sent",
                    {"sent_order": before, "delivered_order": after},
                )
        return delivered

    def crash_before_ack(self, queue: str, message: Message) -> bool:
        """Whether the dispatcher "crashes" now, after processing and before acknowledging."""
        if not self.enabled or not self._draw(self.crash_before_ack_rate):
            return False
        self._emit(
            queue,
            message.message_id,
            "crash_before_ack",
            "the consumer crashed after processing the message and before acknowledging it; "
            "it comes back after its visibility timeout",
        )
        return True

    def _emit(
        self,
        queue: str,
        message_id: str | None,
        fault: str,
        what: str,
        detail: dict[str, object] | None = None,
    ) -> None:
        self._events.emit(
            EventKind.FAULT_INJECTED,
            queue=queue,
            message_id=message_id,
            reason=f"{fault}: {what}",
            detail={"fault": fault, "seed": self.seed, **(detail or {})},
        )

    def turn_off(self) -> None:
        """Stops injecting faults from now on."""
        self.enabled = False
        if self._on_turn_off is not None:
            self._on_turn_off(self)

    def __enter__(self) -> FaultInjector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.turn_off()

    def __repr__(self) -> str:
        state = "on" if self.enabled else "off"
        return (
            f"<FaultInjector {state} duplicate_rate={self.duplicate_rate} "
            f"reorder_rate={self.reorder_rate} crash_before_ack_rate="
            f"{self.crash_before_ack_rate} seed={self.seed}>"
        )
