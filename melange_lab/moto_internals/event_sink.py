"""Where the broker's events go: one sink, set while a broker reports (``event_hooks``).

Every reporting module emits through ``emit``; with no broker reporting, nothing is emitted.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from melange_lab.events import EventKind, EventLog


@dataclass
class _Sink:
    events: EventLog
    last_failure: Callable[[str], str | None]


_sink: _Sink | None = None


def set_sink(events: EventLog | None, last_failure: Callable[[str], str | None]) -> None:
    """Emit on ``events`` from now on (None: emit nothing)."""
    global _sink
    _sink = None if events is None else _Sink(events, last_failure)


def emit(kind: EventKind, **fields: Any) -> None:
    """Emits in a fresh context: an observer that sends, receives or publishes is a new client
    of the broker, not part of the change being reported (whose context says what it is)."""
    sink = _sink
    if sink is not None:
        contextvars.Context().run(sink.events.emit, kind, **fields)


def last_failure(message_id: str) -> str | None:
    """Why the message last failed in a dispatcher, as the reporting broker knows it."""
    sink = _sink
    return sink.last_failure(message_id) if sink is not None else None
