"""Where the lab runs, and running work in the background there.

In a browser tab (JupyterLite, on Pyodide) Python has no threads: ``Thread.start()`` raises.
A background job is therefore written as a *step* (do a little work, say how long to rest
before the next step) and run as a daemon thread normally, or as an asyncio task on the
browser's event loop in Pyodide. The task makes progress only while the notebook is idle or
awaiting (``await asyncio.sleep(1)``), never during a blocking ``time.sleep``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)

#: One step of a background job: returns the seconds to rest before the next step, or None
#: when the job is done.
Step = Callable[[], "float | None"]


def in_pyodide() -> bool:
    """True in a browser tab (Pyodide, as in JupyterLite), where threads cannot start."""
    return sys.platform == "emscripten"


class BackgroundJob(Protocol):
    """A job started by ``run_in_background``; ``stop`` (the event given) asks it to end."""

    @property
    def alive(self) -> bool:
        """True until the job has ended."""

    def join(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for a stopped job to end; True when it has."""


def run_in_background(step: Step, *, stop: threading.Event, name: str) -> BackgroundJob:
    """Runs ``step`` again and again until it returns None or ``stop`` is set: in a daemon
    thread, or in Pyodide as an asyncio task."""
    if in_pyodide():
        return _TaskJob(step, stop, name)
    return _ThreadJob(step, stop, name)


class Cancellable(Protocol):
    """A callback scheduled by ``call_later``."""

    def cancel(self) -> None: ...


def call_later(delay: float, callback: Callable[[], object]) -> Cancellable:
    """Calls ``callback`` once after ``delay`` seconds: from a daemon timer thread normally, on
    the browser's event loop in Pyodide (where the notebook must be idle or awaiting)."""
    if in_pyodide():
        return _event_loop().call_later(delay, callback)
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer


def _run_step(step: Step, name: str) -> float | None:
    """One step; a step that raises ends its job, logged (it has no caller to raise to)."""
    try:
        return step()
    except Exception:
        logger.exception("background job %s stopped", name)
        return None


class _ThreadJob:
    def __init__(self, step: Step, stop: threading.Event, name: str) -> None:
        self._step, self._stop, self._name = step, stop, name
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            rest = _run_step(self._step, self._name)
            if rest is None:
                return
            if rest > 0:
                self._stop.wait(rest)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def _event_loop() -> asyncio.AbstractEventLoop:
    """The running loop (a notebook cell runs inside one), else Pyodide's browser loop."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()


class _TaskJob:
    """On a single-threaded event loop a step never runs while the caller of ``join`` does:
    a stopped task is always resting between steps, so cancelling it ends it cleanly."""

    def __init__(self, step: Step, stop: threading.Event, name: str) -> None:
        self._step, self._stop, self._name = step, stop, name
        self._ended = False
        self._task = _event_loop().create_task(self._loop(), name=name)

    async def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                rest = _run_step(self._step, self._name)
                if rest is None:
                    return
                await asyncio.sleep(rest)
        finally:
            self._ended = True

    @property
    def alive(self) -> bool:
        return not (self._ended or self._task.done())

    def join(self, timeout: float) -> bool:
        if self._stop.is_set() and self.alive:
            self._task.cancel()
            self._ended = True
        return not self.alive
