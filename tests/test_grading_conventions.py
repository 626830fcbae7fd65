"""The grader's rules, without running a notebook: nbgrader's conventions, the names LMSs and
browsers give files, the strict result format, and spreadsheet-safe tables."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import nbformat
import pytest

from melange_lab.cli import main
from melange_lab.errors import (
    GradingError,
    GradingNeedsATeachersMachine,
    NotebookRefused,
    SandboxUnavailable,
    SourceNotUsable,
)
from melange_lab.grading import Check, CheckResult, GradeReport, StudentGrades, write_reports
from melange_lab.grading.discovery import find_submissions, match_exercise, student_from_prefix
from melange_lab.grading.grade import grade_submissions
from melange_lab.grading.notebooks import student_notebook
from melange_lab.grading.protocol import known_templates, parse_outcome, render_failure
from melange_lab.grading.reports import spreadsheet_safe
from melange_lab.grading.restore import graded_notebook

EXERCISES = Path(__file__).resolve().parent.parent / "notebooks" / "exercises"
NAMES = sorted(path.stem for path in EXERCISES.glob("*.ipynb"))


def cell(kind: str, source: str, **nbgrader: object) -> nbformat.NotebookNode:
    made = (
        nbformat.v4.new_code_cell(source)
        if kind == "code"
        else nbformat.v4.new_markdown_cell(source)
    )
    if nbgrader:
        made.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return made


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    made = nbformat.v4.new_notebook()
    made.cells = list(cells)
    return made


# -- student version: nbgrader's whole convention -------------------------------------------


def test_an_answer_cell_without_markers_is_replaced_whole() -> None:
    student = student_notebook(
        notebook(cell("code", "secret_answer = 42", grade_id="a", solution=True)), "x"
    )
    assert student.cells[0].source == "# YOUR CODE HERE\nraise NotImplementedError()"


def test_a_markdown_answer_cell_is_replaced_by_the_text_placeholder() -> None:
    student = student_notebook(
        notebook(
            cell("markdown", "Because SQS delivers at least once.", grade_id="m", solution=True)
        ),
        "x",
    )
    assert student.cells[0].source == "YOUR ANSWER HERE"


@pytest.mark.parametrize("marker", ["## BEGIN SOLUTION", "# BEGIN SOLUTION", "BEGIN SOLUTION"])
def test_any_line_containing_the_marker_starts_a_solution(marker: str) -> None:
    source = f"x = 1\n{marker}\nsecret_answer = 42\n{marker.replace('BEGIN', 'END')}"
    student = student_notebook(notebook(cell("code", source, grade_id="a", solution=True)), "x")
    assert "secret_answer" not in student.cells[0].source
    assert student.cells[0].source.startswith("x = 1\n")


def test_hidden_tests_are_removed_and_kept_only_by_the_teacher() -> None:
    source = "assert ok()\n### BEGIN HIDDEN TESTS\nassert secret_case()\n### END HIDDEN TESTS"
    teacher = notebook(cell("code", source, grade_id="c", grade=True, points=1, locked=True))
    student = student_notebook(teacher, "x")
    assert student.cells[0].source == "assert ok()"
    assert student.cells[0].metadata["editable"] is False
    assert "secret_case" in teacher.cells[0].source


def test_stored_widget_state_and_outputs_are_removed() -> None:
    teacher = notebook(cell("code", "broker.view()", grade_id="s", locked=True))
    teacher.cells[0].outputs = [nbformat.v4.new_output("stream", text="secret_answer")]
    teacher.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"x": 1}}
    student = student_notebook(teacher, "x")
    assert "widgets" not in student.metadata and student.cells[0].outputs == []


@pytest.mark.parametrize(
    ("source", "meta", "named"),
    [
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", {}, "not an answer cell"),
        ("### BEGIN SOLUTION\nx = 1", {"grade_id": "a", "solution": True}, "END SOLUTION"),
        ("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS", {"grade_id": "a"}, "hidden tests"),
    ],
)
def test_a_cell_it_cannot_handle_is_refused_by_number(
    source: str, meta: dict[str, object], named: str
) -> None:
    teacher = notebook(cell("markdown", "intro"), cell("code", source, **meta))
    with pytest.raises(NotebookRefused, match=rf"ex\.ipynb, cell 2: .*{named}"):
        student_notebook(teacher, "ex.ipynb")


def test_student_version_writes_nothing_when_a_notebook_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    nbformat.write(notebook(cell("code", "x = 1")), source / "a.ipynb")
    nbformat.write(notebook(cell("code", "### BEGIN SOLUTION\nx")), source / "b.ipynb")
    assert main(["student-version", str(source), str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()


# -- the graded notebook: the teacher's cells, the student's answers ---------------------------


def test_locked_cells_come_back_and_added_cells_stay_in_place() -> None:
    teacher = notebook(
        cell("code", "setup()", grade_id="setup", locked=True),
        cell("code", "answer", grade_id="answer", solution=True),
        cell("code", "scenario()", grade_id="scenario", locked=True),
        cell("code", "check()", grade_id="check", grade=True, points=1),
    )
    student = notebook(
        cell("code", "pass", grade_id="scenario", locked=True),  # moved and emptied
        cell("code", "my_answer()", grade_id="answer", solution=True),
        cell("code", "helper()"),
        cell("code", "print('ok')", grade_id="check", grade=True, points=1),
        cell("code", "print('ok')", grade_id="check", grade=True, points=1),  # duplicated
    )
    graded = graded_notebook(teacher, student)
    assert [c.source for c in graded.cells] == [
        "setup()", "my_answer()", "helper()", "scenario()", "check()",
    ]  # fmt: skip


def test_a_graded_cell_the_student_added_is_plain_code() -> None:
    teacher = notebook(cell("code", "answer", grade_id="answer", solution=True))
    student = notebook(
        cell("code", "my_answer()", grade_id="answer", solution=True),
        cell("code", "print('ok')", grade_id="bonus", grade=True, points=100),
    )
    added = graded_notebook(teacher, student).cells[1]
    assert added.source == "print('ok')" and "nbgrader" not in added.metadata


def test_an_answer_cell_deleted_by_the_student_is_graded_as_unanswered() -> None:
    teacher = notebook(cell("code", "answer", grade_id="answer", solution=True))
    graded = graded_notebook(teacher, notebook())
    assert graded.cells[0].source == "raise NotImplementedError()"


# -- finding submissions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "exercise", "student"),
    [
        ("ana_01_filter_policy", "01_filter_policy", "ana"),
        ("05 idempotent consumer (1)", "05_idempotent_consumer", ""),
        ("Copy of 02_fan_out", "02_fan_out", ""),
        ("03_dead_letter_queue - Copy", "03_dead_letter_queue", ""),
        ("lopezana_LATE_123456_7890123_04_fifo_groups", "04_fifo_groups", "lopezana_123456"),
        ("lopezana_123456_7890123_04_fifo_groups-1", "04_fifo_groups", "lopezana_123456"),
        (
            "Ana Lopez_98765_assignsubmission_file_06_acknowledge_after_processing",
            "06_acknowledge_after_processing",
            "ana_lopez_98765",
        ),
    ],
)
def test_names_from_lms_downloads_and_browsers_are_recognised(
    name: str, exercise: str, student: str
) -> None:
    match = match_exercise(name, NAMES)
    assert match is not None and match[0] == exercise
    assert student_from_prefix(match[1]) == student


def test_a_flat_download_is_graded_per_student(tmp_path: Path) -> None:
    for name in [
        "ana_01_filter_policy.ipynb",
        "ana_02_fan_out.ipynb",
        "ben_01_filter_policy.ipynb",
    ]:
        (tmp_path / name).write_text("{}")
    (tmp_path / "readme.txt").write_text("hi")
    found = find_submissions(tmp_path, NAMES, [])
    assert {(s.student, s.exercise) for s in found.submissions} == {
        ("ana", "01_filter_policy"), ("ana", "02_fan_out"), ("ben", "01_filter_policy"),
    }  # fmt: skip
    assert any("readme.txt" in warning for warning in found.warnings)


def test_a_flat_download_without_source_is_an_error_that_says_why(tmp_path: Path) -> None:
    (tmp_path / "ana_01_filter_policy.ipynb").write_text("{}")
    with pytest.raises(GradingError, match="pass --source to grade flat downloads"):
        find_submissions(tmp_path, None, [])


def test_a_folder_named_like_a_notebook_in_a_flat_download_is_a_zero(tmp_path: Path) -> None:
    (tmp_path / "ana_01_filter_policy.ipynb").mkdir()
    (found,) = find_submissions(tmp_path, NAMES, []).submissions
    assert found.student == "ana" and found.problem is not None and "folder" in found.problem


def test_a_browser_copy_counts_and_the_plain_name_wins_over_it(tmp_path: Path) -> None:
    folder = tmp_path / "ana"
    folder.mkdir()
    (folder / "05 idempotent consumer (1).ipynb").write_text("{}")
    (folder / "01_filter_policy (2).ipynb").write_text("{}")
    (folder / "01_filter_policy.ipynb").write_text("{}")
    found = find_submissions(tmp_path, NAMES, [])
    chosen = {s.exercise: s.path.name for s in found.submissions}
    assert chosen == {
        "01_filter_policy": "01_filter_policy.ipynb",
        "05_idempotent_consumer": "05 idempotent consumer (1).ipynb",
    }
    assert any("01_filter_policy (2).ipynb" in w and "was graded" in w for w in found.warnings)


def test_nbgrader_collected_layout_one_level_deeper_is_read(tmp_path: Path) -> None:
    (tmp_path / "ana" / "ps1").mkdir(parents=True)
    (tmp_path / "ana" / "ps1" / "01_filter_policy.ipynb").write_text("{}")
    found = find_submissions(tmp_path, NAMES, [])
    assert [(s.student, s.exercise) for s in found.submissions] == [("ana", "01_filter_policy")]


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_a_missing_or_empty_submissions_folder_is_an_error(tmp_path: Path, make: str) -> None:
    target = tmp_path / "subs"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("x")
    with pytest.raises(GradingError, match="subs"):
        find_submissions(target, NAMES, [])


@pytest.mark.parametrize("make", ["missing", "empty", "typo"])
def test_a_wrong_source_is_an_error_not_a_class_of_zeros(
    tmp_path: Path, make: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "subs" / "ana").mkdir(parents=True)
    source = tmp_path / "source"
    if make == "empty":
        source.mkdir()
    elif make == "typo":
        source.mkdir()
        (source / "notes.ipynb").write_text(json.dumps(notebook(cell("code", "x"))))
    with pytest.raises(SourceNotUsable, match="--source"):
        grade_submissions(tmp_path / "subs", source=source)
    assert main(["grade", str(tmp_path / "subs"), "--source", str(source)]) == 2
    assert "error: --source" in capsys.readouterr().out


def test_without_bubblewrap_grading_is_refused_unless_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("melange_lab.grading.sandbox.bwrap_path", lambda: None)
    with pytest.raises(SandboxUnavailable, match="--unsafe-no-sandbox"):
        grade_submissions(tmp_path, source=EXERCISES)


def test_grading_in_pyodide_says_it_needs_a_teachers_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(GradingNeedsATeachersMachine, match="teacher's machine"):
        grade_submissions(tmp_path, source=EXERCISES)


# -- the result format and the tables ------------------------------------------------------------


def test_only_lines_with_the_runs_nonce_for_a_known_cell_count() -> None:
    line = {"nonce": "n1", "kind": "cell", "index": 3, "status": "ok", "output": "hi"}
    assert parse_outcome(json.dumps(line).encode(), "n1", {3})[1] is not None
    assert parse_outcome(json.dumps(line).encode(), "other", {3}) == (None, None)
    assert parse_outcome(json.dumps(line).encode(), "n1", {4}) == (None, None)
    assert parse_outcome(json.dumps({**line, "status": "passed"}).encode(), "n1", {3}) == (
        None,
        None,
    )
    assert parse_outcome(b"not json", "n1", {3}) == (None, None)


def test_a_check_failure_is_rendered_only_from_the_graders_own_templates() -> None:
    template = next(t for t in known_templates() if t.startswith("queue `{name}` does not exist"))
    shown = render_failure({"template": template, "values": {"name": "b" * 500, "existing": "x"}})
    assert shown.startswith("queue `bbbb") and len(shown) < len(template) + 200
    forged = render_failure({"template": "the teacher's answer is {x}", "values": {"x": "42"}})
    assert "42" not in forged and "teacher" not in forged


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_cannot_start_a_formula(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


def test_reports_include_nbgrader_grades_csv_and_a_feedback_page(tmp_path: Path) -> None:
    check = Check("01_x", "works", 2)
    ana = StudentGrades("=ana", {check.column: CheckResult(check, False, "-bad")})
    write_reports(GradeReport([check], [ana]), tmp_path, "week1")
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert rows == [
        {"assignment": "week1", "duedate": "", "timestamp": "", "student_id": "'=ana",
         "last_name": "", "first_name": "", "email": "", "raw_score": "0",
         "late_submission_penalty": "0", "score": "0", "max_score": "2"}
    ]  # fmt: skip
    details = list(csv.DictReader((tmp_path / "details.csv").open()))
    assert details[0]["message"] == "'-bad"


def test_the_reports_folder_inside_submissions_is_not_a_student(tmp_path: Path) -> None:
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "01_filter_policy.ipynb").write_text("{}")
    (tmp_path / "grades" / "feedback").mkdir(parents=True)
    assert find_submissions(tmp_path, NAMES, [tmp_path / "grades"]).students == {"ana"}


# -- validate: what a student runs before handing in ----------------------------------------------


def test_validate_refuses_a_file_that_is_not_a_notebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "01_filter_policy.ipynb"
    broken.write_text("{not json")
    assert main(["validate", str(broken)]) == 1
    assert "not valid JSON" in capsys.readouterr().out


@pytest.mark.slow
def test_validate_names_each_check_and_the_first_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from melange_lab.grading import write_student_version

    write_student_version(EXERCISES, tmp_path)
    assert main(["validate", str(tmp_path / "01_filter_policy.ipynb")]) == 1
    out = capsys.readouterr().out
    assert "cell 4: NotImplementedError" in out
    assert "billing_gets_only_new_orders: NOT PASSED: queue `billing` does not exist" in out
    assert main(["validate", str(EXERCISES / "01_filter_policy.ipynb")]) == 0
    assert "2 of 2 checks passed" in capsys.readouterr().out
