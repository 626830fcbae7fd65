"""The notebook that is actually graded: the student's answers inside the teacher's cells.

nbgrader's rule, applied to every cell: a locked cell and a check cell are the teacher's (the
student's copy, edited, moved, duplicated or deleted, does not count), so hidden tests come
from the teacher's version only; an answer cell is the student's; a cell the student added
stays where the student put it, after the teacher's cell it followed.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from melange_lab.grading.notebooks import role


def _answers_and_extras(
    submission: Any, fixed: set[str], answers: set[str]
) -> tuple[dict[str, Any], dict[str | None, list[Any]]]:
    """The student's answer cell per grade_id, and the added cells after each known cell."""
    given: dict[str, Any] = {}
    extras: dict[str | None, list[Any]] = {}
    anchor: str | None = None
    for cell in submission.cells:
        grade_id = role(cell).grade_id
        if grade_id in answers and grade_id not in given:
            given[grade_id] = cell
            anchor = grade_id
        elif grade_id in fixed:
            anchor = grade_id
        elif cell.cell_type == "code" and grade_id not in answers:
            extras.setdefault(anchor, []).append(cell)
    return given, extras


def graded_notebook(source: Any, submission: Any) -> Any:
    """The teacher's notebook with the student's answers and added cells put in."""
    roles = [role(cell) for cell in source.cells]
    fixed = {r.grade_id for r in roles if r.grade_id and r.is_fixed}
    answers = {r.grade_id for r in roles if r.grade_id and not r.is_fixed}
    given, extras = _answers_and_extras(submission, fixed, answers)
    graded = deepcopy(source)
    cells: list[Any] = [_added(cell) for cell in extras.get(None, [])]
    for cell, cell_role in zip(source.cells, roles, strict=True):
        grade_id = cell_role.grade_id
        if (
            grade_id in answers
            and grade_id in given
            and given[grade_id].cell_type == cell.cell_type
        ):
            answer = deepcopy(cell)
            answer.source = given[grade_id].source
            cells.append(answer)
        else:
            cells.append(deepcopy(cell))
            if grade_id in answers:  # deleted, or turned into another kind of cell
                cells[-1].source = _unanswered(cell)
        cells += [_added(extra) for extra in extras.get(grade_id, [])] if grade_id else []
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    for number, cell in enumerate(cells):
        cell["id"] = f"graded-{number}"  # an added cell may copy a teacher's cell id
    graded.cells = cells
    return graded


def _added(cell: Any) -> Any:
    """A cell the student added: plain code, whatever nbgrader metadata it claims (a cell
    marked as a check with points of its own scores nothing)."""
    copy = deepcopy(cell)
    copy.metadata.pop("nbgrader", None)
    return copy


def _unanswered(cell: Any) -> str:
    return "raise NotImplementedError()" if cell.cell_type == "code" else "YOUR ANSWER HERE"
