"""The teacher's tables: scores, details, and nbgrader's ``grades.csv``.

Every CSV cell goes through ``spreadsheet_safe``: a spreadsheet runs a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula, so such a cell is written
with a leading apostrophe (OWASP's advice), whoever chose its text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from melange_lab.grading.feedback import write_feedback
from melange_lab.grading.grade import GradeReport

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _points(value: float) -> str:
    return f"{value:g}"


def _write_csv(path: Path, rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([[spreadsheet_safe(cell) for cell in row] for row in rows])


def _markdown_cell(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def write_reports(report: GradeReport, out: Path, assignment: str = "exercises") -> list[Path]:
    """Writes ``scores.csv``, ``scores.md``, ``details.csv``, ``grades.csv`` and one feedback
    file per student and notebook into ``out``; returns the tables' paths."""
    out.mkdir(parents=True, exist_ok=True)
    header = ["student", *(c.column for c in report.checks), "total", "max"]
    rows = [
        [
            grades.student,
            *(_points(grades.results[c.column].score) for c in report.checks),
            _points(grades.total),
            _points(report.max_total),
        ]
        for grades in report.students
    ]
    scores_csv, scores_md = out / "scores.csv", out / "scores.md"
    details_csv, grades_csv = out / "details.csv", out / "grades.csv"
    _write_csv(scores_csv, [header, *rows])
    points_row = [
        "(points)",
        *(_points(c.points) for c in report.checks),
        _points(report.max_total),
        "",
    ]
    lines = [
        "| " + " | ".join(_markdown_cell(h) for h in header) + " |",
        "|" + "---|" * len(header),
        *(
            "| " + " | ".join(_markdown_cell(cell) for cell in row) + " |"
            for row in [points_row, *rows]
        ),
    ]
    notes = [
        f"- `{c.column}` ({_points(c.points)} points) is graded by hand: not in the total."
        for c in report.manual
    ]
    text = "# Scores\n\n" + "\n".join(lines) + "\n"
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    scores_md.write_text(text, encoding="utf-8")
    details = [["student", "exercise", "check", "points", "max", "passed", "message", "cause"]]
    for grades in report.students:
        for check in report.checks:
            result = grades.results[check.column]
            notebook = grades.notebooks.get(check.exercise)
            cause = ""
            if not result.passed and notebook is not None and notebook.cell_problems:
                first = notebook.cell_problems[0]
                cause = f"cell {first.cell}: {first.error}"
            details.append(
                [
                    grades.student,
                    check.exercise,
                    check.grade_id,
                    _points(result.score),
                    _points(check.points),
                    "yes" if result.passed else "no",
                    result.message,
                    cause,
                ]
            )
    _write_csv(details_csv, details)
    _write_csv(grades_csv, nbgrader_rows(report, assignment))
    write_feedback(report, out / "feedback")
    return [scores_csv, scores_md, details_csv, grades_csv]


def nbgrader_rows(report: GradeReport, assignment: str) -> list[list[str]]:
    """The columns of ``nbgrader export``'s grades.csv: one row per student."""
    header = [
        "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
        "email", "raw_score", "late_submission_penalty", "score", "max_score",
    ]  # fmt: skip
    rows = [header]
    for grades in report.students:
        total = _points(grades.total)
        rows.append(
            [
                assignment,
                "",
                "",
                grades.student,
                "",
                "",
                "",
                total,
                "0",
                total,
                _points(report.max_total),
            ]
        )
    return rows
