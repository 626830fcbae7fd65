"""Runs one notebook in its sandbox and reads back, strictly, what happened to each cell.

The grader starts the runner in its own process group, gives it the job on stdin, and reads
at most ``Limits.result_bytes`` of JSON lines from its stdout. A line counts only with this
run's nonce, for a code cell of the job, once, and in the expected shape; check failures are
kept as a template the grader knows and short values (see ``protocol``). When the notebook's
time is up the whole process group is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from melange_lab.grading.notebooks import role
from melange_lab.grading.protocol import CellOutcome, parse_outcome
from melange_lab.grading.sandbox import (
    Limits,
    limit_resources,
    minimal_environment,
    sandbox_command,
    unsandboxed_command,
)

STARTUP_SECONDS = 60.0  # the interpreter and the lab's imports, before the notebook's clock
FLUSH_SECONDS = 2.0
HARD_MARGIN_SECONDS = 5.0
SETUP_SECONDS = 60.0  # copying the student's files in and the executed notebook out
MAX_COPIED_BYTES = 20 * 1024 * 1024
MAX_COPIED_FILES = 1_000


@dataclass
class Execution:
    """What one run of a notebook produced, cell by cell, and why it ended."""

    outcomes: dict[int, CellOutcome] = field(default_factory=dict)
    ended: str | None = None  # why cells after the last outcome did not run
    seconds: float = 0.0


def job_cells(notebook: Any) -> list[dict[str, Any]]:
    """The code cells to run, each marked as the teacher's (fixed) or a check."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        cell_role = role(cell)
        cells.append(
            {
                "index": index,
                "source": cell.source,
                "fixed": cell_role.is_fixed,
                "check": cell_role.is_check,
                "grade_id": cell_role.grade_id,
            }
        )
    return cells


def copy_submission_folder(folder: Path, into: Path, notebook_name: str) -> list[str]:
    """Copies the regular files of one student's folder (no symlinks, no subfolders) into
    ``into``, up to a size limit; returns what was left out, for the report."""
    skipped = []
    total = copied = 0
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        if entry.name == notebook_name or not entry.is_file(follow_symlinks=False):
            continue
        size = entry.stat(follow_symlinks=False).st_size
        if total + size > MAX_COPIED_BYTES or copied >= MAX_COPIED_FILES:
            skipped.append(entry.name)
            continue
        try:
            shutil.copyfile(entry.path, into / entry.name, follow_symlinks=False)
        except OSError:  # unreadable, or gone: the notebook runs without it
            skipped.append(entry.name)
            continue
        total += size
        copied += 1
    return skipped


async def run_notebook(
    notebook: Any,
    folder: Path | None,
    notebook_name: str,
    timeout: float,
    bwrap: str | None,
    limits: Limits,
) -> Execution:
    """Runs ``notebook`` sandboxed (or not, when ``bwrap`` is None) and returns its outcomes."""
    cells = job_cells(notebook)
    nonce = secrets.token_hex(16)
    job = {
        "nonce": nonce,
        "timeout": timeout,
        "margin": hard_margin(timeout) - FLUSH_SECONDS,
        "cells": cells,
        "output_limit": limits.output_chars,
    }
    with tempfile.TemporaryDirectory(prefix="melange-lab-grade-") as temp:
        submitted = Path(temp) / "submitted"
        submitted.mkdir()
        os.chmod(temp, 0o700)
        if folder is not None:
            copy_submission_folder(folder, submitted, notebook_name)
        if bwrap is not None:
            command = sandbox_command(bwrap, submitted, limits)
            env = minimal_environment()
        else:
            command = unsandboxed_command(submitted)
            env = minimal_environment(home=str(submitted))
        return await _supervise(command, env, job, nonce, {c["index"] for c in cells}, limits)


async def _supervise(
    command: list[str],
    env: dict[str, str],
    job: dict[str, Any],
    nonce: str,
    indices: set[int],
    limits: Limits,
) -> Execution:
    import json

    started = time.monotonic()
    process = await _started(
        asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=limit_resources(limits),
            limit=limits.result_bytes,
        )
    )
    execution = Execution()
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(json.dumps(job).encode())
        await process.stdin.drain()
        process.stdin.close()
        execution.ended = await _read_results(
            process.stdout, nonce, indices, float(job["timeout"]), limits, execution
        )
    except (BrokenPipeError, ConnectionResetError):
        execution.ended = "the sandbox could not be started"
    finally:
        if execution.ended is None:  # the runner said it is done: let it exit on its own
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), timeout=FLUSH_SECONDS)
        _kill_group(process.pid)
        await process.wait()
        _close_pipes(process)
    execution.seconds = time.monotonic() - started
    return execution


async def _read_results(
    stream: asyncio.StreamReader,
    nonce: str,
    indices: set[int],
    timeout: float,
    limits: Limits,
    execution: Execution,
) -> str | None:
    """Reads result lines until the runner is done, ends, or runs out of time."""
    deadline = time.monotonic() + STARTUP_SECONDS
    received = 0
    ready = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return (
                f"the notebook's time limit of {timeout:g} s was reached"
                if ready
                else "the notebook did not start in time"
            )
        try:
            line = await asyncio.wait_for(stream.readline(), timeout=left)
        except asyncio.TimeoutError:
            continue
        except (ValueError, asyncio.LimitOverrunError):
            return "the notebook produced more output than the grader reads"
        if not line:
            return (
                "the notebook ended Python before this cell (os._exit, a crash or the memory limit)"
            )
        received += len(line)
        if received > limits.result_bytes:
            return "the notebook produced more output than the grader reads"
        kind, outcome = parse_outcome(line, nonce, indices)
        if kind == "ready" and not ready:
            ready = True
            deadline = time.monotonic() + timeout + hard_margin(timeout)
        elif kind == "done":
            return None
        elif outcome is not None and outcome.index not in execution.outcomes:
            execution.outcomes[outcome.index] = outcome


async def _started(
    starting: Coroutine[Any, Any, asyncio.subprocess.Process],
) -> asyncio.subprocess.Process:
    """The started process. Cancelled while it starts (the notebook's bound, or the class's
    run ending), it is let finish starting, then killed: Python 3.11 never reaps a process
    whose start was cancelled, and waiting for it would hang the grader."""
    task = asyncio.ensure_future(starting)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        process = await task
        _kill_group(process.pid)
        await process.wait()
        raise


def _close_pipes(process: asyncio.subprocess.Process) -> None:
    """Closes the runner's pipes now. A process the notebook forked into a session of its own
    (possible without the sandbox) may still hold them open; left to the garbage collector,
    their closing would run after the event loop ended and print a traceback. asyncio's
    Process has no public close, so its transport is closed (Python 3.11 to 3.13)."""
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


def notebook_bound(timeout: float) -> float:
    """The longest grading one notebook may take, whatever it holds: starting, its time limit
    and the margin after it, and copying files in and out."""
    return STARTUP_SECONDS + timeout + hard_margin(timeout) + FLUSH_SECONDS + SETUP_SECONDS


def hard_margin(timeout: float) -> float:
    """How long after its time limit a notebook that ignores interruption is killed: enough
    for the checks after an interrupted cell to run on a busy machine, and bounded."""
    return max(HARD_MARGIN_SECONDS, timeout / 2)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pid, signal.SIGKILL)
