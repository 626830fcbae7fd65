"""Grading a class: each submission run in its sandbox, each check scored, nothing fatal.

A check cell scores its points when it runs without an error. With ``source`` (the solution
notebooks, recommended) the checks, their points and every locked cell come from the teacher;
a problem with one file (unreadable, a folder, a link, too big) is a zero with its reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from melange_lab.arguments import checked, flag, optional, ranged
from melange_lab.errors import NotebookUnreadable, SourceNotUsable, shortened
from melange_lab.grading.discovery import Found, Submission, find_submissions
from melange_lab.grading.execute import Execution, notebook_bound, run_notebook
from melange_lab.grading.notebooks import (
    exercise_paths,
    read_notebook,
    role,
    write_notebook,
)
from melange_lab.grading.protocol import CellOutcome
from melange_lab.grading.restore import graded_notebook
from melange_lab.grading.sandbox import Limits, require_sandbox

T = TypeVar("T")
DEFAULT_TIMEOUT = 60.0
MAX_JOBS = 64  # notebooks run at once
MAX_TIMEOUT = 3_600.0  # an hour per notebook; longer is a typo (and setitimer's ceiling is near)


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


@dataclass(frozen=True)
class CellProblem:
    """A cell of the student's that failed or ran out of time (shown to the student)."""

    cell: int  # 1-based, as Jupyter numbers them
    error: str  # "ValueError: ..." or "time limit reached"


@dataclass
class NotebookGrades:
    """The outcome of one student's notebook, for the feedback file."""

    exercise: str
    results: list[CheckResult]
    problem: str | None = None  # why it was not run at all
    cell_problems: list[CellProblem] = field(default_factory=list)
    ended: str | None = None  # why the run stopped early


@dataclass
class StudentGrades:
    student: str
    results: dict[str, CheckResult] = field(default_factory=dict)
    notebooks: dict[str, NotebookGrades] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(result.score for result in self.results.values())


@dataclass
class GradeReport:
    checks: list[Check]
    students: list[StudentGrades]
    warnings: list[str] = field(default_factory=list)
    manual: list[Check] = field(default_factory=list)  # graded by hand: not in the total

    @property
    def max_total(self) -> float:
        return sum(check.points for check in self.checks)


def checks_of(notebook: Any, exercise: str) -> list[Check]:
    """The automatically graded cells of a notebook, in order."""
    return [
        Check(exercise, r.grade_id, r.points)
        for r in map(role, notebook.cells)
        if r.is_check and r.grade_id
    ]


def manual_cells_of(notebook: Any, exercise: str) -> list[Check]:
    return [
        Check(exercise, r.grade_id, r.points)
        for r in map(role, notebook.cells)
        if r.is_manual and r.grade_id
    ]


def load_source(source: Path) -> dict[str, Any]:
    """The solution notebooks by exercise name; a source that cannot be used is an error."""
    if not source.exists() and not source.is_symlink():
        raise SourceNotUsable(source, "it does not exist")
    if source.is_symlink() or not source.is_dir():
        raise SourceNotUsable(source, "it is not a folder")
    paths = exercise_paths(source)
    if not paths:
        raise SourceNotUsable(source, "it holds no notebooks (*.ipynb)")
    notebooks = {}
    for path in paths:
        try:
            notebooks[path.stem] = read_notebook(path)
        except NotebookUnreadable as error:
            raise SourceNotUsable(source, f"{path.name} cannot be read: {error}") from None
        ids = [r.grade_id for r in map(role, notebooks[path.stem].cells) if r.grade_id]
        if len(ids) != len(set(ids)):
            raise SourceNotUsable(source, f"{path.name} uses a grade_id twice")
    if not any(checks_of(notebook, name) for name, notebook in notebooks.items()):
        raise SourceNotUsable(source, "none of its notebooks has a check cell (grade: true)")
    return notebooks


def default_jobs() -> int:
    return max(1, min(8, (os.cpu_count() or 1) * 2))


@dataclass(frozen=True)
class Settings:
    timeout: float
    bwrap: str | None
    limits: Limits
    executed_dir: Path | None


def _message(outcome: CellOutcome | None, ended: str | None, timeout: float, source: str) -> str:
    """Why a check did not pass, in the grader's words (or the check cell's own text)."""
    if outcome is None:
        return f"not run: {ended or 'the notebook stopped before it'}"
    if outcome.status == "timeout":
        return f"interrupted: the notebook's time limit of {timeout:g} s was reached"
    if outcome.message is not None:
        return outcome.message
    if outcome.error_name == "AssertionError":
        said = outcome.error_value if outcome.error_value and outcome.error_value in source else ""
        return "an assertion of this check failed" + (f": {said}" if said else "")
    return (
        f"the check could not run ({outcome.error_name or 'an error'}): a cell above it failed "
        "or changed what it looks at; run the notebook from the top and fix the first error"
    )


def _cell_problems(notebook: Any, execution: Execution) -> list[CellProblem]:
    problems = []
    for index, outcome in sorted(execution.outcomes.items()):
        if role(notebook.cells[index]).is_check or outcome.passed:
            continue
        error = (
            "time limit reached; the cell was interrupted"
            if outcome.status == "timeout"
            else f"{outcome.error_name}: {outcome.error_value}".rstrip(": ")
        )
        problems.append(CellProblem(index + 1, error))
    return problems


def _with_outputs(notebook: Any, execution: Execution) -> Any:
    import nbformat

    for index, outcome in execution.outcomes.items():
        cell = notebook.cells[index]
        outputs = []
        if outcome.output:
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=outcome.output))  # type: ignore[no-untyped-call]
        if not outcome.passed:
            name = "TimeLimitReached" if outcome.status == "timeout" else outcome.error_name
            value = outcome.message or outcome.error_value
            outputs.append(
                nbformat.v4.new_output("error", ename=name or "Error", evalue=value, traceback=[])  # type: ignore[no-untyped-call]
            )
        cell.outputs = outputs
    return notebook


async def grade_one(
    submission: Submission, source: Any | None, settings: Settings
) -> NotebookGrades:
    """Runs and scores one submission. Whatever it holds, this ends within the notebook's
    bound and never raises: a file that cannot be graded scores zero with its reason."""
    bound = notebook_bound(settings.timeout)
    try:
        return await asyncio.wait_for(_run_and_score(submission, source, settings), bound)
    except asyncio.TimeoutError:
        reason = f"grading it took longer than {bound:g} s in all, so it was stopped"
    except Exception as error:  # one file's surprise is its own zero, never the class's end
        reason = f"the grader could not use it ({type(error).__name__}: {_said(error)})"
    return _not_run(submission, source, reason)


def _said(error: Exception) -> str:
    try:
        return shortened(str(error))
    except Exception:  # a str() that fails too: the type alone says enough
        return "no description"


def _not_run(submission: Submission, source: Any | None, reason: str) -> NotebookGrades:
    expected = checks_of(source, submission.exercise) if source is not None else []
    return NotebookGrades(
        submission.exercise, [CheckResult(c, False, reason) for c in expected], reason
    )


async def _run_and_score(
    submission: Submission, source: Any | None, settings: Settings
) -> NotebookGrades:
    problem = submission.problem
    notebook = None
    if problem is None:
        try:
            notebook = read_notebook(submission.path)
        except NotebookUnreadable as error:
            problem = f"the notebook could not be used: {error}"
        except OSError as error:
            problem = f"the notebook could not be read: {error.strerror}"
    if notebook is None:
        return _not_run(submission, source, problem or "the notebook could not be used")
    graded = graded_notebook(source, notebook) if source is not None else notebook
    execution = await run_notebook(
        graded,
        submission.folder,
        submission.path.name,
        settings.timeout,
        settings.bwrap,
        settings.limits,
    )
    results: dict[str, CheckResult] = {}
    for index, cell in enumerate(graded.cells):
        cell_role = role(cell)
        if cell_role.is_check and cell_role.grade_id and cell.cell_type == "code":
            check = Check(submission.exercise, cell_role.grade_id, cell_role.points)
            outcome = execution.outcomes.get(index)
            passed = outcome is not None and outcome.passed
            message = (
                "" if passed else _message(outcome, execution.ended, settings.timeout, cell.source)
            )
            results.setdefault(check.column, CheckResult(check, passed, message))
    if settings.executed_dir is not None:
        target = settings.executed_dir / submission.student / f"{submission.exercise}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_notebook(_with_outputs(graded, execution), target)
    return NotebookGrades(
        submission.exercise,
        list(results.values()),
        None,
        _cell_problems(graded, execution),
        execution.ended,
    )


@checked(
    timeout=ranged(1, MAX_TIMEOUT, unit="seconds", fix="e.g. timeout=60."),
    jobs=optional(ranged(1, MAX_JOBS, whole=True, fix="e.g. jobs=4.")),
    unsafe_no_sandbox=flag,
)
def grade_submissions(
    submissions: Path,
    *,
    source: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    kernel: str = "python3",
    executed_dir: Path | None = None,
    jobs: int | None = None,
    unsafe_no_sandbox: bool = False,
    limits: Limits | None = None,
    exclude: Sequence[Path] = (),
) -> GradeReport:
    """Grades every submission found under ``submissions``; never changes one.

    Each notebook runs in its own sandbox (``unsafe_no_sandbox`` runs it with the teacher's
    rights instead). ``jobs`` notebooks run at once. ``kernel`` is kept for the command line's
    sake: the sandbox runs Python notebooks only. Folders in ``exclude`` (the reports, when
    they are written inside ``submissions``) are not read as students.
    """
    bwrap = require_sandbox(unsafe_no_sandbox)
    sources = load_source(source) if source is not None else {}
    skip = [p for p in (executed_dir, source, *exclude) if p is not None]
    found = find_submissions(submissions, sorted(sources) if sources else None, skip)
    warnings = list(found.warnings)
    if source is None:
        warnings.append(
            "no --source: the checks are read from each submission, so a student can change "
            "them; pass your solution notebooks with --source"
        )
    if kernel != "python3":
        warnings.append(f"--kernel {kernel}: the sandbox runs Python notebooks; it is ignored")
    columns: dict[str, Check] = {}
    manual: list[Check] = []
    for exercise, notebook in sources.items():
        columns.update((c.column, c) for c in checks_of(notebook, exercise))
        manual += manual_cells_of(notebook, exercise)
    settings = Settings(timeout, bwrap, limits or Limits(), executed_dir)
    work = [grade_one(s, sources.get(s.exercise), settings) for s in found.submissions]
    graded = _run_to_completion(_limited(jobs or default_jobs(), work))
    students = {name: StudentGrades(name) for name in sorted(found.students)}
    for submission, notebook in zip(found.submissions, graded, strict=True):
        grades = students[submission.student]
        grades.notebooks[submission.exercise] = notebook
        for result in notebook.results:
            if source is not None and result.check.column not in columns:
                continue  # only the teacher's checks score
            grades.results[result.check.column] = result
            known = columns.get(result.check.column)
            if source is None and (known is None or known.points < result.check.points):
                columns[result.check.column] = result.check
    for grades in students.values():
        for column, check in columns.items():
            if column not in grades.results:
                grades.results[column] = CheckResult(
                    check, False, _why_missing(grades, check, found)
                )
    return GradeReport(list(columns.values()), list(students.values()), warnings, manual)


def _why_missing(grades: StudentGrades, check: Check, found: Found) -> str:
    """Why a student has no result for a check: the notebook's own problem, an unreadable
    folder, a deleted check cell, or nothing submitted."""
    notebook = grades.notebooks.get(check.exercise)
    if notebook is not None:
        return notebook.problem or "the check cell was deleted"
    return found.unreadable.get(grades.student, "no notebook submitted")


async def _limited(jobs: int, work: list[Coroutine[Any, Any, T]]) -> list[T]:
    gate = asyncio.Semaphore(jobs)

    async def one(job: Coroutine[Any, Any, T]) -> T:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in work))


def _run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs ``coroutine`` to its end, also when called where an event loop is already running
    (a notebook, or a test session with Playwright open): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
