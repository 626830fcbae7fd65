"""Runs one notebook inside the sandbox and reports each code cell's outcome to the grader.

Started by the grader as ``python -I -c "...; main(work=...)"`` (see ``sandbox``): it reads
the job (the cells, the time limit, a nonce) from stdin, runs the cells in an IPython shell in
this process, and writes one JSON line per cell to the pipe that was its stdout. Everything a
student's code can reach is put back before each teacher's cell: IPython's input transformers
and hooks, the ``melange_lab`` and ``builtins`` functions and classes, tracing. A check cell
then runs outside IPython, in a namespace of its own, against a ``checks`` module made afresh
from the package's file (read before any student code ran). The grader trusts none of this
beyond the strict format it validates.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import shutil
import signal
import sys
import threading
import time
import types
from typing import Any, BinaryIO

from melange_lab.errors import TimeLimitReached

GRACE_SECONDS = 1.0  # time kept back for each later cell when one cell runs long
MIN_SLICE = 0.2
TRUSTED_PREFIXES = ("melange_lab", "IPython.core", "json", "importlib", "signal", "threading")
CHECK_SWITCH_INTERVAL = 30.0  # while a check runs, a student's thread waits for the GIL

# Taken before any student code runs: a cell may replace sys's own functions with no-ops.
_settrace, _setprofile = sys.settrace, sys.setprofile
_switch_interval, _setswitchinterval = sys.getswitchinterval(), sys.setswitchinterval


class CappedText(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: Any) -> int:
        text = str(text) if not isinstance(text, str) else text
        room = self.limit - self.kept
        self.parts.append(text[:room])
        self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - room)
        return len(text)

    def text(self) -> str:
        tail = f"\n[... {self.dropped:,} more characters not kept]" if self.dropped else ""
        return "".join(self.parts) + tail


class Pristine:
    """The functions and classes of trusted modules as they were before any student code ran."""

    def __init__(self) -> None:
        self.modules = {
            name: module
            for name, module in sys.modules.items()
            if name.startswith(TRUSTED_PREFIXES) and isinstance(module, types.ModuleType)
        }
        self.modules["builtins"] = builtins
        self.module_callables = {
            name: {k: v for k, v in vars(module).items() if _code_like(v)}
            for name, module in self.modules.items()
        }
        self.classes: list[tuple[type, dict[str, Any]]] = []
        for name, module in self.modules.items():
            for value in list(vars(module).values()):
                if isinstance(value, type) and getattr(value, "__module__", None) == name:
                    self.classes.append((value, dict(vars(value))))

    def restore(self) -> None:
        for name, module in self.modules.items():
            sys.modules[name] = module
            for key, value in self.module_callables[name].items():
                if vars(module).get(key) is not value:
                    setattr(module, key, value)
        for cls, attributes in self.classes:
            for key in set(vars(cls)) - set(attributes):
                if _code_like(vars(cls)[key]):
                    _try(delattr, cls, key)
            for key, value in attributes.items():
                if vars(cls).get(key) is not value and _code_like(value):
                    _try(setattr, cls, key, value)


def _code_like(value: Any) -> bool:
    return callable(value) or isinstance(value, (staticmethod, classmethod, property))


def _try(action: Any, *args: Any) -> None:
    # a built-in type: its attributes cannot be changed by anyone, student included
    with contextlib.suppress(AttributeError, TypeError):
        action(*args)


class Runner:
    """Runs the cells of one job in order, within the notebook's time limit."""

    def __init__(self, job: dict[str, Any], results: BinaryIO) -> None:
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        import melange_lab.checks

        self.job = job
        self.results = results
        self.nonce = str(job["nonce"])
        self.output_limit = int(job["output_limit"])
        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "NoColor"
        self.shell = InteractiveShell.instance(config=config)
        self.checks_file = str(melange_lab.checks.__file__)
        with open(self.checks_file, encoding="utf-8") as source:  # read now: no I/O during a check
            self.checks_code = compile(source.read(), self.checks_file, "exec")
        self.hooks = self._hooks()
        self.shell_attributes = set(vars(self.shell))
        self.pristine = Pristine()
        self.timed_out = False

    def _hooks(self) -> dict[str, Any]:
        shell = self.shell
        return {
            "input_transformers_cleanup": list(shell.input_transformers_cleanup),
            "input_transformers_post": list(shell.input_transformers_post),
            "ast_transformers": list(shell.ast_transformers),
            "callbacks": {name: list(hooks) for name, hooks in shell.events.callbacks.items()},
            "custom_exceptions": shell.custom_exceptions,
        }

    def _restore(self) -> None:
        """Puts back everything a student's cell may have changed to fool the teacher's cells."""
        _settrace(None)  # a trace function could jump over a check's `raise`
        _setprofile(None)
        monitoring: Any = getattr(sys, "monitoring", None)  # Python 3.12+
        for tool in range(6) if monitoring is not None else ():
            with contextlib.suppress(ValueError):
                monitoring.set_events(tool, 0)
        threading.settrace(None)  # type: ignore[arg-type,unused-ignore]
        threading.setprofile(None)  # type: ignore[arg-type,unused-ignore]
        self.pristine.restore()
        shell = self.shell
        for name in set(vars(shell)) - self.shell_attributes:
            if hasattr(type(shell), name):
                delattr(shell, name)
        shell.input_transformers_cleanup[:] = self.hooks["input_transformers_cleanup"]
        shell.input_transformers_post[:] = self.hooks["input_transformers_post"]
        shell.ast_transformers[:] = self.hooks["ast_transformers"]
        for name, hooks in self.hooks["callbacks"].items():
            shell.events.callbacks[name] = list(hooks)
        shell.custom_exceptions = self.hooks["custom_exceptions"]
        signal.signal(signal.SIGALRM, self._time_up)

    def _time_up(self, signum: int, frame: Any) -> None:
        self.timed_out = True
        raise TimeLimitReached()

    def send(self, **fields: Any) -> None:
        line = json.dumps({"nonce": self.nonce, **fields}, ensure_ascii=True) + "\n"
        self.results.write(line.encode("ascii"))

    def run(self) -> None:
        """Runs every cell. Until the notebook's time is used up a cell may take what is left
        but a second for each later cell; after that (or once a cell was interrupted) each
        cell gets an equal share of the margin before the grader kills the sandbox."""
        cells = self.job["cells"]
        started = time.monotonic()
        deadline = started + float(self.job["timeout"])
        last_call = deadline + float(self.job["margin"])
        over = False
        self.send(kind="ready")
        for position, cell in enumerate(cells):
            now = time.monotonic()
            later = len(cells) - position - 1
            over = over or now >= deadline
            if over:
                budget = max(MIN_SLICE, (last_call - now) / (later + 1))
            else:
                left = deadline - now
                budget = max(MIN_SLICE, left - min(left / 2, GRACE_SECONDS * later))
            if cell["check"]:  # no student thread runs between the restore and the report
                _setswitchinterval(CHECK_SWITCH_INTERVAL)
            outcome = self._run_cell(cell, budget)
            over = over or outcome["status"] == "timeout"
            if cell["check"]:
                self.pristine.restore()  # the report is written by the grader's own json
            self.send(kind="cell", index=cell["index"], **outcome)
            _setswitchinterval(_switch_interval)
        self.send(kind="done")

    def _run_cell(self, cell: dict[str, Any], budget: float) -> dict[str, Any]:
        stream = CappedText(self.output_limit)
        self.timed_out = False
        outcome: dict[str, Any]
        if cell["fixed"]:
            self._restore()
        signal.signal(signal.SIGALRM, self._time_up)
        sys.stdout = sys.stderr = stream
        try:
            signal.setitimer(signal.ITIMER_REAL, budget)
            if cell["check"]:
                outcome = self._run_check(cell["source"], cell.get("grade_id") or "check")
            else:
                outcome = self._run_in_shell(cell["source"])
            signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as error:  # the time ran out in IPython's own code, or worse
            signal.setitimer(signal.ITIMER_REAL, 0)
            outcome = self._failed(error)
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        if self.timed_out:
            outcome = {"status": "timeout", "error": None, "failure": None}
        return {**outcome, "output": stream.text()}

    def _run_in_shell(self, source: str) -> dict[str, Any]:
        result = self.shell.run_cell(source, store_history=True)  # type: ignore[no-untyped-call]
        error = result.error_before_exec or result.error_in_exec
        if error is None:
            return {"status": "ok", "error": None, "failure": None}
        return self._failed(error)

    def _run_check(self, source: str, grade_id: str) -> dict[str, Any]:
        checks = types.ModuleType("melange_lab_graded_checks")
        checks.__file__ = self.checks_file
        exec(self.checks_code, vars(checks))
        namespace = {
            name: value
            for name, value in self.shell.user_ns.items()
            if not hasattr(builtins, name) and not name.startswith("__")
        }
        namespace.update(checks=checks, __builtins__=builtins, __name__="__main__")
        try:
            exec(compile(source, f"<check {grade_id}>", "exec"), namespace)
        except checks.CheckFailed as failure:
            template, values = failure.template, failure.values
            return {
                "status": "error",
                "error": None,
                "failure": {"template": template, "values": values},
            }
        except BaseException as error:
            return self._failed(error)
        return {"status": "ok", "error": None, "failure": None}

    def _failed(self, error: BaseException) -> dict[str, Any]:
        if isinstance(error, TimeLimitReached) or self.timed_out:
            return {"status": "timeout", "error": None, "failure": None}
        name = type(error).__name__
        try:
            value = str(error)[:2000]
        except BaseException:
            value = ""
        return {
            "status": "error",
            "error": {"name": str(name)[:200], "value": value},
            "failure": None,
        }


def main(work: str, copy_from: str | None = None) -> None:
    """Reads the job, hides the result pipe from the cells' own output, sets up the shell,
    and only then moves into the notebook's folder (a copy of ``copy_from``) and puts it on
    ``sys.path``, as Jupyter does; runs; and exits hard."""
    job = json.loads(sys.stdin.buffer.read())
    results = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    try:
        runner = Runner(job, results)
        if copy_from is not None:
            shutil.copytree(copy_from, work, symlinks=True, dirs_exist_ok=True)
        os.chdir(work)
        sys.path.insert(0, "")
        runner.run()
    finally:
        results.flush()
        os._exit(0)  # threads or processes the notebook left behind end with it
