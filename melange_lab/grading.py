"""The teacher's tools: make the student version of the exercises, and grade submissions.

Exercises follow nbgrader's conventions: an answer cell holds the solution between
``### BEGIN SOLUTION`` and ``### END SOLUTION``; a check cell is marked ``grade: true`` with its
``points`` and passes when it runs without an error. Grading runs each submitted notebook on a
copy, in a fresh kernel, within a time limit, and never changes the submission.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import csv
import os
import shutil
import tempfile
import time
from collections.abc import Coroutine, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

T = TypeVar("T")

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CODE_PLACEHOLDER = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_PLACEHOLDER = "YOUR ANSWER HERE"
DEFAULT_TIMEOUT = 60.0
GRACE_SECONDS = 3.0  # each cell still gets this long after the notebook's time is used up
TIME_LIMIT_ERROR = "TimeLimitReached"


class SolutionMarkersUnbalanced(ValueError):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where}: every '{BEGIN_SOLUTION}' needs a matching '{END_SOLUTION}' after it "
            "(and no nesting); fix the markers in the source notebook."
        )


# -- student version ------------------------------------------------------------------------


def strip_solution(source: str, placeholder: Sequence[str], where: str) -> str:
    """``source`` with every solution region replaced by ``placeholder``, indented like it."""
    lines = source.splitlines()
    kept: list[str] = []
    inside = False
    for line in lines:
        marker = line.strip()
        if marker == BEGIN_SOLUTION:
            if inside:
                raise SolutionMarkersUnbalanced(where)
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            kept += [indent + text for text in placeholder]
        elif marker == END_SOLUTION:
            if not inside:
                raise SolutionMarkersUnbalanced(where)
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise SolutionMarkersUnbalanced(where)
    return "\n".join(kept)


def student_notebook(notebook: Any, name: str) -> Any:
    """A copy of ``notebook`` with the solutions removed and every output cleared."""
    copy = deepcopy(notebook)
    for index, cell in enumerate(copy.cells):
        where = f"{name}, cell {index + 1}"
        placeholder = CODE_PLACEHOLDER if cell.cell_type == "code" else (TEXT_PLACEHOLDER,)
        cell.source = strip_solution(cell.source, placeholder, where)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return copy


def _read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]


def _write(notebook: Any, path: Path) -> None:
    nbformat.write(notebook, path)  # type: ignore[no-untyped-call]


def _exercise_paths(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.ipynb") if not path.name.startswith("."))


def write_student_version(source: Path, out: Path) -> list[Path]:
    """Writes the student version of every notebook in ``source`` into ``out``; returns them."""
    notebooks = _exercise_paths(source)
    if not notebooks:
        raise FileNotFoundError(f"No notebooks (*.ipynb) in {source}.")
    if out.resolve() == source.resolve():
        raise ValueError("The output folder must differ from the source folder.")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        notebook = _read(path)
        target = out / path.name
        _write(student_notebook(notebook, path.name), target)
        written.append(target)
    return written


def student_version_main(args: list[str]) -> int:
    """``melange-lab student-version SRC_DIR OUT_DIR``."""
    parser = argparse.ArgumentParser(
        prog="melange-lab student-version",
        description=(
            "Write the student version of the exercise notebooks: every region between "
            f"'{BEGIN_SOLUTION}' and '{END_SOLUTION}' is replaced by nbgrader's placeholder "
            "and all outputs are cleared."
        ),
    )
    parser.add_argument("source", type=Path, metavar="SRC_DIR", help="the solution notebooks")
    parser.add_argument("out", type=Path, metavar="OUT_DIR", help="where to write the copies")
    options = parser.parse_args(args)
    try:
        written = write_student_version(options.source, options.out)
    except (OSError, ValueError) as error:
        print(f"error: {error}")
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


# -- grading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One graded cell of an exercise."""

    exercise: str
    grade_id: str
    points: float

    @property
    def column(self) -> str:
        return f"{self.exercise}:{self.grade_id}"


@dataclass(frozen=True)
class CheckResult:
    check: Check
    passed: bool
    message: str = ""

    @property
    def score(self) -> float:
        return self.check.points if self.passed else 0.0


@dataclass
class StudentGrades:
    student: str
    results: dict[str, CheckResult] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(result.score for result in self.results.values())


def _nbgrader(cell: Any) -> dict[str, Any]:
    data = cell.get("metadata", {}).get("nbgrader", {})
    return data if isinstance(data, dict) else {}


def _is_check(cell: Any) -> bool:
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _check_of(cell: Any, exercise: str) -> Check:
    meta = _nbgrader(cell)
    return Check(exercise, str(meta.get("grade_id", "")), float(meta.get("points", 0)))


def checks_of(notebook: Any, exercise: str) -> list[Check]:
    """The graded cells of a notebook, in order."""
    return [_check_of(cell, exercise) for cell in notebook.cells if _is_check(cell)]


def _restore_checks(submission: Any, source: Any) -> None:
    """Puts the source's check cells back, so an edited or deleted check cannot score."""
    originals = {_nbgrader(cell)["grade_id"]: cell for cell in source.cells if _is_check(cell)}
    cells = []
    for cell in submission.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in originals:
            cells.append(deepcopy(originals.pop(grade_id)))
        elif not _is_check(cell):
            cells.append(cell)
    submission.cells = cells


class _Run:
    """Executes one notebook cell by cell within a time budget, recording each cell's outcome."""

    def __init__(self, notebook: Any, folder: Path, timeout: float, kernel: str) -> None:
        self.notebook = notebook
        self.timeout = timeout
        self.outcomes: dict[int, str | None] = {}  # cell index -> None (ran fine) or the error
        self.client = NotebookClient(
            notebook,
            kernel_name=kernel,
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": TIME_LIMIT_ERROR,
                "evalue": f"the notebook's time limit of {timeout:g} s was reached; interrupted",
                "traceback": [],
            },
            resources={"metadata": {"path": str(folder)}},
            shutdown_kernel="immediate",
            on_cell_executed=self._record,
        )

    def _record(self, cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        content = execute_reply.get("content", {})
        if content.get("status") == "error":
            name, value = content.get("ename", "Error"), content.get("evalue", "")
            self.outcomes[cell_index] = value if name == "CheckFailed" else f"{name}: {value}"
        else:
            self.outcomes[cell_index] = None

    async def execute(self) -> str | None:
        """Runs every code cell; returns why the run stopped early, if it did."""
        try:
            async with self.client.async_setup_kernel():
                deadline = time.monotonic() + self.timeout
                for index, cell in enumerate(self.notebook.cells):
                    if cell.cell_type != "code":
                        continue
                    left = deadline - time.monotonic()
                    self.client.timeout = max(1, round(max(left, GRACE_SECONDS)))
                    await self.client.async_execute_cell(cell, index)
        except DeadKernelError:
            return "the kernel died (did the notebook exit Python?)"
        except Exception as error:  # a broken notebook is graded, never fatal to the run
            return f"the notebook could not be run: {type(error).__name__}: {error}"
        return None


async def _grade_notebook(
    path: Path,
    exercise: str,
    source: Any | None,
    timeout: float,
    kernel: str,
    executed: Path | None,
) -> list[CheckResult]:
    """Runs a copy of one submitted notebook and scores its check cells."""
    expected = checks_of(source, exercise) if source is not None else None
    with tempfile.TemporaryDirectory(prefix="melange-lab-grade-") as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        try:
            notebook = _read(copy)
        except Exception as error:  # not JSON, not a notebook: graded as zero, never fatal
            reason = f"the notebook could not be read: {error}"
            return [CheckResult(check, False, reason) for check in expected or []]
        if source is not None:
            _restore_checks(notebook, source)
        run = _Run(notebook, Path(folder), timeout, kernel)
        stopped = await run.execute()
    if executed is not None:
        executed.parent.mkdir(parents=True, exist_ok=True)
        _write(notebook, executed)
    results = {}
    for index, cell in enumerate(notebook.cells):
        if _is_check(cell):
            check = _check_of(cell, exercise)
            if index in run.outcomes:
                failure = run.outcomes[index]
                results[check.column] = CheckResult(check, failure is None, failure or "")
            else:
                results[check.column] = CheckResult(check, False, f"not run: {stopped}")
    for check in expected or []:
        if check.column not in results:
            results[check.column] = CheckResult(check, False, "the check cell was deleted")
    return list(results.values())


@dataclass
class GradeReport:
    checks: list[Check]
    students: list[StudentGrades]

    @property
    def max_total(self) -> float:
        return sum(check.points for check in self.checks)


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


async def _limited(
    jobs: int, work: list[Coroutine[Any, Any, list[CheckResult]]]
) -> list[list[CheckResult]]:
    gate = asyncio.Semaphore(jobs)

    async def one(job: Coroutine[Any, Any, list[CheckResult]]) -> list[CheckResult]:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in work))


def grade_submissions(
    submissions: Path,
    *,
    source: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    kernel: str = "python3",
    executed_dir: Path | None = None,
    jobs: int | None = None,
) -> GradeReport:
    """Grades ``submissions/<student>/<exercise>.ipynb``; never changes a submission.

    With ``source`` (the solution notebooks) the checks and their points come from there and a
    student's check cells are replaced by the originals; otherwise they come from the notebooks
    submitted. ``jobs`` notebooks run at once, each in its own kernel.
    """
    sources = {p.stem: _read(p) for p in _exercise_paths(source)} if source else {}
    columns: dict[str, Check] = {}
    for exercise, notebook in sources.items():
        columns.update((c.column, c) for c in checks_of(notebook, exercise))
    folders = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    students = [StudentGrades(folder.name) for folder in folders]
    owners: list[StudentGrades] = []
    work = []
    for grades, folder in zip(students, folders, strict=True):
        for path in _exercise_paths(folder):
            if sources and path.stem not in sources:
                continue
            executed = None if executed_dir is None else executed_dir / folder.name / path.name
            owners.append(grades)
            work.append(
                _grade_notebook(path, path.stem, sources.get(path.stem), timeout, kernel, executed)
            )
    for grades, results in zip(
        owners, _run_to_completion(_limited(jobs or default_jobs(), work)), strict=True
    ):
        for result in results:
            grades.results[result.check.column] = result
            known = columns.get(result.check.column)
            if source is None and (known is None or known.points < result.check.points):
                columns[result.check.column] = result.check
    for grades in students:
        for column, check in columns.items():
            if column not in grades.results:
                grades.results[column] = CheckResult(check, False, "no notebook submitted")
    return GradeReport(list(columns.values()), students)


def _run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs ``coroutine`` to its end, also when called where an event loop is already running
    (a notebook, or a test session with Playwright open): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _points(value: float) -> str:
    return f"{value:g}"


def write_reports(report: GradeReport, out: Path) -> list[Path]:
    """Writes ``scores.csv``, ``scores.md`` and ``details.csv`` into ``out``."""
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
    scores_csv, scores_md, details_csv = out / "scores.csv", out / "scores.md", out / "details.csv"
    with scores_csv.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    points = [_points(c.points) for c in report.checks]
    points_row = ["(points)", *points, _points(report.max_total), ""]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in [points_row, *rows]),
    ]
    scores_md.write_text("# Scores\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with details_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "exercise", "check", "points", "max", "passed", "message"])
        for grades in report.students:
            for check in report.checks:
                result = grades.results[check.column]
                writer.writerow(
                    [
                        grades.student,
                        check.exercise,
                        check.grade_id,
                        _points(result.score),
                        _points(check.points),
                        "yes" if result.passed else "no",
                        result.message,
                    ]
                )
    return [scores_csv, scores_md, details_csv]


def grade_main(args: list[str]) -> int:
    """``melange-lab grade SUBMISSIONS [--out DIR] [--timeout SECONDS] [--source DIR]``."""
    parser = argparse.ArgumentParser(
        prog="melange-lab grade",
        description=(
            "Grade submitted exercise notebooks. SUBMISSIONS holds one folder per student "
            "(SUBMISSIONS/<student>/<exercise>.ipynb). Each notebook runs on a copy, in a fresh "
            "kernel, within a time limit; a check cell scores its points when it runs without "
            "an error. Writes scores.csv, scores.md, details.csv (why each check failed) and "
            "the executed notebooks into --out. Submissions are never changed."
        ),
    )
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    parser.add_argument(
        "--out", type=Path, default=Path("grades"), help="where to write the reports (./grades)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds each notebook may run (default {DEFAULT_TIMEOUT:g}); a cell still "
        "running then is interrupted, and each later cell gets a few seconds",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="the solution notebooks: take the checks and points from them, and restore any "
        "check cell a student edited or deleted (recommended)",
    )
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (python3)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help=f"notebooks to run at once, each in its own kernel (default {default_jobs()})",
    )
    options = parser.parse_args(args)
    if not options.submissions.is_dir():
        print(f"error: {options.submissions} is not a folder of student folders")
        return 1
    started = time.monotonic()
    report = grade_submissions(
        options.submissions,
        source=options.source,
        timeout=options.timeout,
        kernel=options.kernel,
        executed_dir=options.out / "executed",
        jobs=options.jobs,
    )
    for path in write_reports(report, options.out):
        print(f"wrote {path}")
    for grades in report.students:
        print(f"{grades.student}: {_points(grades.total)} / {_points(report.max_total)}")
    print(f"graded {len(report.students)} student(s) in {time.monotonic() - started:.1f} s")
    return 0
