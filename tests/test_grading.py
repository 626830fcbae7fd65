"""The teacher's tools: the student version hides every solution; grading is safe and fair."""

from __future__ import annotations

import csv
import hashlib
import itertools
import shutil
from pathlib import Path

import nbformat
import pytest

from melange_lab.cli import main
from melange_lab.grading import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    GradeReport,
    SolutionMarkersUnbalanced,
    grade_submissions,
    strip_solution,
    write_reports,
    write_student_version,
)

EXERCISES = Path(__file__).resolve().parent.parent / "notebooks" / "exercises"
PLACEHOLDER = ("# YOUR CODE HERE", "raise NotImplementedError()")


def split_lines(notebook_path: Path) -> tuple[list[str], set[str]]:
    """(non-blank lines between the solution markers, lines given outside them), stripped."""
    solution: list[str] = []
    given: set[str] = set()
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == BEGIN_SOLUTION:
                inside = True
            elif line.strip() == END_SOLUTION:
                inside = False
            elif line.strip():
                (solution.append if inside else given.add)(line.strip())
    return solution, given


def solution_lines(notebook_path: Path) -> list[str]:
    """The solution lines a student is not already shown elsewhere in the notebook."""
    solution, given = split_lines(notebook_path)
    return [line for line in solution if line not in given]


def fingerprints(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_strip_solution_keeps_the_indentation_of_the_marker() -> None:
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\nf()"
    stripped = strip_solution(source, PLACEHOLDER, "test")
    assert stripped == "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\nf()"


def test_strip_solution_refuses_unbalanced_markers() -> None:
    with pytest.raises(SolutionMarkersUnbalanced, match="cell 3"):
        strip_solution("### BEGIN SOLUTION\nx = 1", PLACEHOLDER, "ex.ipynb, cell 3")


def test_there_are_at_least_six_exercises_each_with_solutions_and_checks() -> None:
    notebooks = sorted(EXERCISES.glob("*.ipynb"))
    assert len(notebooks) >= 6
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded and all(c.metadata["nbgrader"]["points"] > 0 for c in graded), path.name
        assert solution_lines(path), path.name
        assert all(not c.get("outputs") for c in notebook.cells), f"{path.name} has outputs"


def test_student_version_contains_no_solution_text(tmp_path: Path) -> None:
    written = write_student_version(EXERCISES, tmp_path)
    assert [p.name for p in written] == sorted(p.name for p in EXERCISES.glob("*.ipynb"))
    for path in written:
        text = path.read_text(encoding="utf-8")
        notebook = nbformat.read(path, as_version=4)
        student_lines = {
            line.strip() for cell in notebook.cells for line in cell.source.splitlines()
        }
        leaked = [line for line in solution_lines(EXERCISES / path.name) if line in student_lines]
        assert not leaked, f"{path.name} leaks {leaked}"
        assert BEGIN_SOLUTION not in text and "# YOUR CODE HERE" in text
        assert all(not c.get("outputs") for c in notebook.cells)


def test_student_version_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["student-version", "--help"])
    assert exit_.value.code == 0
    assert "SRC_DIR" in capsys.readouterr().out


def test_grade_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["grade", "--help"])
    assert exit_.value.code == 0
    assert "--timeout" in capsys.readouterr().out


def test_reports_have_one_row_per_student_and_one_column_per_check(tmp_path: Path) -> None:
    from melange_lab.grading import Check, CheckResult, StudentGrades

    check = Check("01_x", "works", 2)
    passed = StudentGrades("ana", {check.column: CheckResult(check, True)})
    failed = StudentGrades("ben", {check.column: CheckResult(check, False, "queue `q` is empty")})
    write_reports(GradeReport([check], [passed, failed]), tmp_path)
    rows = list(csv.reader((tmp_path / "scores.csv").open()))
    assert rows == [
        ["student", "01_x:works", "total", "max"],
        ["ana", "2", "2", "2"],
        ["ben", "0", "0", "2"],
    ]
    assert "| ben | 0 | 0 | 2 |" in (tmp_path / "scores.md").read_text()
    details = list(csv.DictReader((tmp_path / "details.csv").open()))
    assert details[1]["message"] == "queue `q` is empty"


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """A class of two: one handed in the solutions, one the blank student version."""
    root = tmp_path_factory.mktemp("class")
    submissions = root / "submissions"
    shutil.copytree(EXERCISES, submissions / "solver", ignore=shutil.ignore_patterns(".*"))
    write_student_version(EXERCISES, submissions / "blank")
    before = fingerprints(submissions)
    out = root / "grades"
    assert main(["grade", str(submissions), "--out", str(out), "--source", str(EXERCISES)]) == 0
    return submissions, before, out


@pytest.mark.slow
def test_solutions_score_full_marks(graded_class: tuple[Path, dict[str, str], Path]) -> None:
    _, _, out = graded_class
    rows = {row["student"]: row for row in csv.DictReader((out / "scores.csv").open())}
    assert rows["solver"]["total"] == rows["solver"]["max"]
    assert float(rows["solver"]["max"]) >= 6


@pytest.mark.slow
def test_blank_student_version_scores_zero_with_a_hint_per_check(
    graded_class: tuple[Path, dict[str, str], Path],
) -> None:
    _, _, out = graded_class
    rows = {row["student"]: row for row in csv.DictReader((out / "scores.csv").open())}
    assert rows["blank"]["total"] == "0"
    details = [d for d in csv.DictReader((out / "details.csv").open()) if d["student"] == "blank"]
    assert details and all(d["passed"] == "no" for d in details)
    for detail in details:  # a CheckFailed hint, not a bare error name
        assert "Error" not in detail["message"].split(":")[0], detail
        assert len(detail["message"]) > 40, detail


@pytest.mark.slow
def test_grading_leaves_submissions_byte_identical(
    graded_class: tuple[Path, dict[str, str], Path],
) -> None:
    submissions, before, out = graded_class
    assert fingerprints(submissions) == before
    assert (out / "executed" / "solver" / "01_filter_policy.ipynb").exists()


def edited_exercise(folder: Path, name: str, answer_source: str) -> None:
    """Copies a solution notebook into ``folder`` with its (first) answer cell replaced."""
    notebook = nbformat.read(EXERCISES / name, as_version=4)
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = answer_source
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)


@pytest.mark.slow
def test_endless_loop_raise_and_stopped_broker_are_graded_not_fatal(tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    billing = 'factory.init_queue("billing", ["orders"], filter_events=["OrderCreated"])\n'
    edited_exercise(
        submissions / "looper", "01_filter_policy.ipynb", billing + "while True:\n    pass"
    )
    edited_exercise(
        submissions / "raiser", "01_filter_policy.ipynb", billing + 'raise RuntimeError("oops")'
    )
    edited_exercise(submissions / "stopper", "01_filter_policy.ipynb", billing + "broker.stop()")
    before = fingerprints(submissions)
    # 10 s: on a busy machine the cells before the loop (kernel, imports, broker) still fit
    report = grade_submissions(submissions, source=EXERCISES, timeout=10, jobs=3)
    assert fingerprints(submissions) == before
    results = {
        grades.student: {r.check.grade_id: r for r in grades.results.values()}
        for grades in report.students
    }
    for student in ("looper", "raiser"):  # billing was wired before the trouble: that scores
        assert results[student]["billing_gets_only_new_orders"].passed, student
        shipping = results[student]["shipping_gets_everything"]
        assert not shipping.passed and "queue `shipping` does not exist" in shipping.message
    for result in results["stopper"].values():
        if result.check.exercise != "01_filter_policy":
            continue
        assert not result.passed and "the broker was stopped" in result.message
    assert {g.student: g.total for g in report.students} == {"looper": 2, "raiser": 2, "stopper": 0}
    causes = {g.student: g.notebooks["01_filter_policy"].cell_problems for g in report.students}
    assert causes["looper"][0].error == "time limit reached; the cell was interrupted"
    assert [p.error for p in causes["raiser"]] == ["RuntimeError: oops"]


def test_grading_works_where_an_event_loop_is_already_running(tmp_path: Path) -> None:
    """A teacher may grade from a notebook, whose kernel runs an event loop."""
    import asyncio
    import concurrent.futures

    from melange_lab.grading.grade import _run_to_completion

    async def answer() -> int:
        return 42

    async def inside_a_running_loop() -> int:
        return _run_to_completion(answer())

    # in a thread of its own, so this test does not depend on a loop the session left running
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside_a_running_loop()).result() == 42


def test_the_sandbox_makes_its_empty_folders_before_binding_python_so_a_checkout_in_tmp_works(
    tmp_path: Path,
) -> None:
    from melange_lab.grading.sandbox import Limits, sandbox_command

    command = sandbox_command("bwrap", tmp_path, Limits())
    pairs = list(itertools.pairwise(command))
    tmpfs = [i for i, (flag, _) in enumerate(pairs) if flag == "--tmpfs"]
    binds = [i for i, (flag, _) in enumerate(pairs) if flag in ("--ro-bind", "--symlink")]
    assert ("--tmpfs", "/tmp") in pairs and max(tmpfs) < min(binds)
