"""nbgrader's notebook conventions: which cells are answers, checks and locked, and the markers.

A cell's role lives in its ``metadata.nbgrader`` (schema 3): ``solution`` marks an answer cell,
``grade`` with ``points`` a graded cell, ``locked`` a cell the student must not change. Like
nbgrader, any line *containing* ``BEGIN SOLUTION`` / ``END SOLUTION`` (or ``BEGIN HIDDEN TESTS``
/ ``END HIDDEN TESTS``) is a marker, whatever comment signs surround it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from melange_lab.errors import (
    NotebookRefused,
    NotebookUnreadable,
    SolutionMarkersUnbalanced,
    readable,
    shortened,
)

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "### END HIDDEN TESTS"
CODE_PLACEHOLDER = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_PLACEHOLDER = ("YOUR ANSWER HERE",)
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_POINTS = 1_000_000  # more points than this for one cell is a mistake (or a trick)
MAX_GRADE_ID_CHARS = 200
WIDGET_STATE = "widgets"


@dataclass(frozen=True)
class CellRole:
    """What nbgrader's metadata says about one cell (all false for a plain cell)."""

    grade_id: str | None
    solution: bool
    grade: bool
    locked: bool
    points: float

    @property
    def is_check(self) -> bool:
        """An automatically graded cell: graded, and not an answer the teacher marks by hand."""
        return self.grade and not self.solution

    @property
    def is_manual(self) -> bool:
        return self.grade and self.solution

    @property
    def is_fixed(self) -> bool:
        """nbgrader's rule: locked cells and check cells are the teacher's, never the student's."""
        return self.locked or self.is_check


PLAIN = CellRole(None, False, False, False, 0.0)


def role(cell: Any) -> CellRole:
    """The cell's nbgrader role; metadata of the wrong shape counts as no metadata."""
    data = cell.get("metadata", {}).get("nbgrader")
    if not isinstance(data, dict):
        return PLAIN
    grade_id = data.get("grade_id")
    points = data.get("points", 0)
    if not isinstance(grade_id, str) or not 0 < len(grade_id) <= MAX_GRADE_ID_CHARS:
        return PLAIN
    if (
        isinstance(points, bool)
        or not isinstance(points, (int, float))
        or not 0 <= points <= MAX_POINTS
    ):
        points = 0  # also NaN, infinity and integers too large for a float
    return CellRole(
        readable(grade_id),
        data.get("solution") is True,
        data.get("grade") is True,
        data.get("locked") is True,
        float(points),
    )


def read_notebook(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> Any:
    """Reads a notebook without following a symlink, refusing what is not a usable notebook."""
    if path.is_symlink():
        raise NotebookUnreadable("it is a symbolic link, which is not followed")
    if not path.exists():
        raise NotebookUnreadable("it does not exist: check the path")
    if path.is_dir():
        raise NotebookUnreadable("it is a folder, not a notebook file")
    if not path.is_file():
        raise NotebookUnreadable("it is not a regular file")
    size = path.stat().st_size
    if size > limit:
        raise NotebookUnreadable(f"it is {size:,} bytes, over the limit of {limit:,}")
    try:
        text = path.read_bytes().decode("utf-8")
        return parse_notebook(text)
    except UnicodeDecodeError:
        raise NotebookUnreadable("it is not UTF-8 text") from None


def parse_notebook(text: str) -> Any:
    """A notebook (format 4) from JSON text, or ``NotebookUnreadable`` saying what is wrong."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise NotebookUnreadable(f"it is not valid JSON ({shortened(str(error))})") from None
    except ValueError as error:  # an integer of more digits than Python converts (4,300)
        raise NotebookUnreadable(
            f"it holds a number too long to read ({shortened(str(error))})"
        ) from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise NotebookUnreadable("it is JSON but not a notebook (no list of cells)")
    for number, cell in enumerate(cells, 1):
        source = cell.get("source") if isinstance(cell, dict) else None
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        text_ok = isinstance(source, str) or (
            isinstance(source, list) and all(isinstance(line, str) for line in source)
        )
        if kind not in ("code", "markdown", "raw") or not text_ok:
            raise NotebookUnreadable(f"cell {number} is not a notebook cell")
    try:
        return nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    except Exception as error:  # nbformat raises many kinds; all mean "not usable"
        raise NotebookUnreadable(
            f"it is not a notebook nbformat can read ({shortened(str(error))})"
        ) from None


def write_notebook(notebook: Any, path: Path) -> None:
    """Writes ``notebook``; a lone surrogate a cell holds (JSON can escape one) becomes U+FFFD
    instead of failing the write."""
    text = nbformat.writes(notebook)  # type: ignore[no-untyped-call]
    path.write_text(readable(text), encoding="utf-8")


def _strip_regions(
    source: str, begin: str, end: str, placeholder: Sequence[str], where: str
) -> tuple[str, bool]:
    """``source`` with every region between marker lines replaced by ``placeholder``."""
    kept: list[str] = []
    inside = found = False
    for line in source.splitlines():
        if begin in line:
            if inside:
                raise SolutionMarkersUnbalanced(where, begin, end)
            inside = found = True
            indent = line[: len(line) - len(line.lstrip())]
            kept += [indent + text for text in placeholder]
        elif end in line:
            if not inside:
                raise SolutionMarkersUnbalanced(where, begin, end)
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise SolutionMarkersUnbalanced(where, begin, end)
    return "\n".join(kept), found


def strip_solution(source: str, placeholder: Sequence[str], where: str) -> str:
    """``source`` with every solution region replaced by ``placeholder``, indented like it."""
    return _strip_regions(source, "BEGIN SOLUTION", "END SOLUTION", placeholder, where)[0]


def strip_hidden_tests(source: str, where: str) -> str:
    """``source`` without its hidden test regions (they stay in the teacher's version only)."""
    return _strip_regions(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", (), where)[0]


def _student_cell(cell: Any, where: str) -> None:
    """Turns one cell into its student version in place, as nbgrader's generate_assignment."""
    cell_role = role(cell)
    placeholder = CODE_PLACEHOLDER if cell.cell_type == "code" else TEXT_PLACEHOLDER
    source, had_solution = _strip_regions(
        cell.source, "BEGIN SOLUTION", "END SOLUTION", placeholder, where
    )
    if had_solution and not cell_role.solution:
        raise NotebookRefused(
            where,
            "it has a solution region but is not an answer cell; mark it with nbgrader's "
            "'solution': true (and a grade_id), or remove the markers",
        )
    if cell_role.solution and not had_solution:
        source = "\n".join(placeholder)  # nbgrader replaces an unmarked answer cell whole
        cell.pop("attachments", None)
    source, had_hidden = _strip_regions(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", (), where)
    if had_hidden and not cell_role.is_check:
        raise NotebookRefused(
            where, "it has hidden tests but is not a graded check cell ('grade': true)"
        )
    cell.source = source
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    if cell_role.is_fixed:
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
    cell.metadata.pop("execution", None)


def student_notebook(notebook: Any, name: str) -> Any:
    """A copy of ``notebook`` with solutions, hidden tests, outputs and widget state removed."""
    copy = deepcopy(notebook)
    seen: set[str] = set()
    for index, cell in enumerate(copy.cells):
        where = f"{name}, cell {index + 1}"
        grade_id = role(cell).grade_id
        if grade_id is not None:
            if grade_id in seen:
                raise NotebookRefused(where, f"grade_id '{grade_id}' is used twice; make it unique")
            seen.add(grade_id)
        _student_cell(cell, where)
    copy.metadata.pop(WIDGET_STATE, None)
    return copy


def exercise_paths(folder: Path) -> list[Path]:
    """The notebooks directly in ``folder``, hidden ones left out."""
    return sorted(
        path
        for path in folder.glob("*.ipynb")
        if not path.name.startswith(".") and path.is_file() and not path.is_symlink()
    )


def write_student_version(source: Path, out: Path) -> list[Path]:
    """Writes the student version of every notebook in ``source`` into ``out``; returns them.

    Nothing is written when any notebook is refused, so no half-made handout is left behind.
    """
    notebooks = exercise_paths(source)
    if not notebooks:
        raise FileNotFoundError(f"No notebooks (*.ipynb) in {source}.")
    if os.path.realpath(out) == os.path.realpath(source):  # a link loop: never the same
        raise ValueError("The output folder must differ from the source folder.")
    versions = []
    for path in notebooks:
        try:
            notebook = read_notebook(path)
        except NotebookUnreadable as error:
            raise NotebookRefused(path.name, str(error)) from None
        versions.append((out / path.name, student_notebook(notebook, path.name)))
    out.mkdir(parents=True, exist_ok=True)
    for target, notebook in versions:
        write_notebook(notebook, target)
    return [target for target, _ in versions]
