"""The strict result format between the runner (untrusted) and the grader.

The grader reads only what this module accepts: a JSON line carrying the run's nonce, a code
cell of the job, a status from a fixed set, and short cleaned strings. A check's failure is
accepted as one of the message templates written in ``melange_lab/checks.py`` (read by the
grader from its own copy of the file) filled with short printable values, so the feedback
only ever contains the grader's own sentences.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import melange_lab.checks
from melange_lab.errors import readable

STATUSES = ("ok", "error", "timeout")
MAX_VALUE_CHARS = 80
MAX_ERROR_CHARS = 300
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,99}")
UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class CellOutcome:
    """How one code cell ended, as far as the grader believes it."""

    index: int
    status: str
    error_name: str | None = None
    error_value: str = ""
    message: str | None = None  # a check's failure, in the grader's own words
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "ok"


@cache
def known_templates() -> frozenset[str]:
    """Every message template ``checks.py`` raises ``CheckFailed`` with."""
    tree = ast.parse(Path(melange_lab.checks.__file__).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "CheckFailed"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return frozenset(found)


def clean(text: str, limit: int) -> str:
    """``text`` as printable ASCII, at most ``limit`` characters."""
    text = UNPRINTABLE.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_failure(failure: Any) -> str:
    """A check's failure message from a known template, or a plain sentence if it is not one."""
    generic = "the check failed (its message was not in the expected form)"
    if not isinstance(failure, dict):
        return generic
    template, values = failure.get("template"), failure.get("values")
    if template not in known_templates() or not isinstance(values, dict):
        return generic
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if set(values) != fields or not all(isinstance(v, str) for v in values.values()):
        return generic
    return str(template).format(**{k: clean(v, MAX_VALUE_CHARS) for k, v in values.items()})


def _error(data: Any) -> tuple[str | None, str]:
    if not isinstance(data, dict):
        return None, ""
    name, value = data.get("name"), data.get("value")
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        name = "Error"
    value = clean(value, MAX_ERROR_CHARS) if isinstance(value, str) else ""
    return name, value


def parse_outcome(
    line: bytes, nonce: str, indices: set[int], output_limit: int = 64 * 1024
) -> tuple[str | None, CellOutcome | None]:
    """(kind, outcome) of one result line; (None, None) for anything not in the format."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(data, dict) or not isinstance(data.get("nonce"), str):
        return None, None
    if not secrets.compare_digest(data["nonce"], nonce):
        return None, None
    kind = data.get("kind")
    if kind in ("ready", "done"):
        return kind, None
    index, status = data.get("index"), data.get("status")
    if kind != "cell" or type(index) is not int or index not in indices or status not in STATUSES:
        return None, None
    name, value = _error(data.get("error"))
    message = render_failure(data["failure"]) if data.get("failure") is not None else None
    output = data.get("output")
    output = readable(output[:output_limit]) if isinstance(output, str) else ""
    return kind, CellOutcome(index, status, name, value, message, output)
