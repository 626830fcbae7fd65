"""Records what widgets would send to the front end, with no kernel or browser.

The same trick as ipywidgets' own tests (a dummy comm): tests assert on it, and the
benchmark counts the bytes one view update sends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ipywidgets import comm as widget_comm


@dataclass
class CommRecorder:
    """Every message widgets sent since the last ``clear()``: opens and state updates."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    buffer_bytes: int = 0

    def record(self, data: Any, buffers: Any) -> None:
        self.messages.append(data if isinstance(data, dict) else {"data": data})
        self.buffer_bytes += sum(len(bytes(buffer)) for buffer in buffers or ())

    @property
    def bytes_sent(self) -> int:
        """JSON size of the messages plus their binary buffers."""
        return sum(len(json.dumps(m, default=str)) for m in self.messages) + self.buffer_bytes

    def updates(self) -> list[dict[str, Any]]:
        """The state-update messages (not the opens)."""
        return [m for m in self.messages if m.get("method") == "update"]

    def clear(self) -> None:
        self.messages.clear()
        self.buffer_bytes = 0


class RecordingComm:
    """Stands in for a kernel comm: ``send`` records instead of sending."""

    kernel = "recording"  # widgets send only when their comm has a kernel

    def __init__(self, recorder: CommRecorder, **kwargs: Any) -> None:
        self.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
        self._recorder = recorder
        recorder.record({"method": "open", **(kwargs.get("data") or {})}, kwargs.get("buffers"))

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to open."""

    def on_msg(self, *args: Any, **kwargs: Any) -> None:
        """Nothing ever arrives."""

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self._recorder.record(data, buffers)

    def close(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to close."""


@contextmanager
def recording_comms() -> Iterator[CommRecorder]:
    """Widgets created inside get a ``RecordingComm``; the original is restored on exit."""
    recorder = CommRecorder()
    original = widget_comm.create_comm

    def create_comm(**kwargs: Any) -> RecordingComm:
        return RecordingComm(recorder, **kwargs)

    widget_comm.create_comm = create_comm
    try:
        yield recorder
    finally:
        widget_comm.create_comm = original
