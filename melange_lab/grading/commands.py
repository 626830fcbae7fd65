"""The teacher's and the student's commands: ``grade``, ``student-version`` and ``validate``."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from melange_lab.arguments import Check, from_text, ranged
from melange_lab.errors import InvalidParameter, MelangeLabError, readable, shortened
from melange_lab.grading.grade import (
    DEFAULT_TIMEOUT,
    MAX_JOBS,
    MAX_TIMEOUT,
    default_jobs,
    grade_submissions,
)
from melange_lab.grading.notebooks import BEGIN_SOLUTION, END_SOLUTION, write_student_version
from melange_lab.grading.reports import write_reports
from melange_lab.grading.sandbox import Limits

MIN_MEMORY_MIB, MAX_MEMORY_MIB = 256, 1024 * 1024
_TIMEOUT = ranged(1, MAX_TIMEOUT, unit="seconds", fix="e.g. --timeout 60.")


def _timeout(text: str) -> float:
    return float(from_text(text, _TIMEOUT))


def _jobs(text: str) -> int:
    return int(from_text(text, ranged(1, MAX_JOBS, whole=True, fix="e.g. --jobs 4."), int))


def _memory(text: str) -> int:
    check = ranged(
        MIN_MEMORY_MIB, MAX_MEMORY_MIB, whole=True, unit="MiB", fix="e.g. --memory 4096."
    )
    return int(from_text(text, check, int))


def _assignment(text: str) -> str:
    return str(from_text(text, _name("e.g. --assignment exercises-week-3."), str))


def _kernel(text: str) -> str:
    return str(from_text(text, _name("e.g. --kernel python3."), str))


def _name(fix: str) -> Check:
    """A check of a name written into the reports: printable text of 1 to 200 characters."""

    def check_name(parameter: str, value: object) -> str:
        if not isinstance(value, str) or not 0 < len(value) <= 200 or not value.isprintable():
            raise InvalidParameter(parameter, value, "printable text of 1 to 200 characters", fix)
        return value

    return check_name


def _unwritable(out: Path) -> str | None:
    """Why the reports could not be written into ``out``, found before a long grading run."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        return "it exists and is not a folder; name a folder for the reports"
    existing = next((p for p in (out, *out.absolute().parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return "it cannot be made: part of its path is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{'it is' if existing == out else 'its folder is'} not writable"
    return None


def student_version_main(args: list[str]) -> int:
    """``melange-lab student-version SRC_DIR OUT_DIR``."""
    parser = argparse.ArgumentParser(
        prog="melange-lab student-version",
        description=(
            "Write the student version of the exercise notebooks with nbgrader's conventions: "
            f"every region between lines containing '{BEGIN_SOLUTION}' and '{END_SOLUTION}' "
            "is replaced by a placeholder, an answer cell without markers is replaced whole, "
            "hidden tests, outputs and stored widget state are removed, and the locked cells "
            "are marked read-only. A cell it cannot handle safely is named and nothing is "
            "written."
        ),
    )
    parser.add_argument("source", type=Path, metavar="SRC_DIR", help="the solution notebooks")
    parser.add_argument("out", type=Path, metavar="OUT_DIR", help="where to write the copies")
    options = parser.parse_args(args)
    try:
        written = write_student_version(options.source, options.out)
    except (OSError, ValueError, MelangeLabError) as error:
        print(f"error: {readable(shortened(str(error)))}")
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def _grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="melange-lab grade",
        description=(
            "Grade submitted exercise notebooks. SUBMISSIONS holds one folder per student "
            "(SUBMISSIONS/<student>/<exercise>.ipynb) or a flat LMS download "
            "(<student>_<exercise>.ipynb; see docs/teachers.md). Each notebook runs on a copy, "
            "in a bubblewrap sandbox with no network and none of your files, within a time "
            "limit; a check cell scores its points when it runs without an error. Writes "
            "scores.csv, scores.md, details.csv, grades.csv (nbgrader's columns), "
            "feedback/<student>/<exercise>.html and the executed notebooks into --out. "
            "Submissions are never changed."
        ),
    )
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    parser.add_argument(
        "--out", type=Path, default=Path("grades"), help="where to write the reports (./grades)"
    )
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT,
        help=f"wall-clock seconds each notebook may run in all, 1 to {MAX_TIMEOUT:,} (default "
        f"{DEFAULT_TIMEOUT:g}); a cell running long is interrupted so the cells after it still "
        "get a little time, and the whole sandbox is killed at the limit",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="the solution notebooks: the checks, points, hidden tests and every locked cell "
        "come from them (strongly recommended: without it a student can edit the checks)",
    )
    parser.add_argument(
        "--kernel", type=_kernel, default="python3", help="Jupyter kernel name (python3 only)"
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=default_jobs(),
        help=f"notebooks to run at once, each in its own sandbox, 1 to {MAX_JOBS} (default "
        f"{default_jobs()})",
    )
    parser.add_argument(
        "--memory",
        type=_memory,
        default=Limits().memory_bytes // 1024**2,
        help=f"address-space limit of each notebook in MiB, {MIN_MEMORY_MIB} to "
        f"{MAX_MEMORY_MIB:,} (default %(default)s)",
    )
    parser.add_argument(
        "--assignment",
        type=_assignment,
        default=None,
        help="the assignment name in grades.csv (default: --source's name)",
    )
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without bubblewrap: the students' code then runs with your rights, can read "
        "your files and secrets, change or delete them, use the network and keep running "
        "after grading. Only for work you trust.",
    )
    return parser


def grade_main(args: list[str]) -> int:
    """``melange-lab grade SUBMISSIONS [--out DIR] [--timeout SECONDS] [--source DIR] ...``."""
    options = _grade_parser().parse_args(args)
    out: Path = options.out
    problem = _unwritable(out)
    if problem is not None:
        print(f"error: --out {readable(str(out))}: {problem}")
        return 2
    if options.unsafe_no_sandbox:
        print(
            "WARNING: --unsafe-no-sandbox: each notebook runs with your rights; it can read, "
            "change or delete your files, read your environment, use the network and leave "
            "processes running."
        )
    started = time.monotonic()
    try:
        report = grade_submissions(
            options.submissions,
            source=options.source,
            timeout=options.timeout,
            kernel=options.kernel,
            executed_dir=out / "executed",
            jobs=options.jobs,
            unsafe_no_sandbox=options.unsafe_no_sandbox,
            limits=Limits(memory_bytes=options.memory * 1024**2),
            exclude=[out],
        )
    except MelangeLabError as error:
        print(f"error: {error}")
        return 2
    assignment = options.assignment or (
        readable(options.source.name) if options.source else "exercises"
    )
    for warning in report.warnings:
        print(f"warning: {warning}")
    for check in report.manual:
        print(f"note: {check.column} ({check.points:g} points) is graded by hand: not in the total")
    try:
        written = write_reports(report, out, assignment)
    except OSError as error:
        print(f"error: the reports could not be written into {readable(str(out))}: {error}")
        return 2
    for path in written:
        print(f"wrote {readable(str(path))}")
    print(f"wrote {readable(str(out / 'feedback'))}/<student>/<exercise>.html")
    for grades in report.students:
        print(f"{grades.student}: {grades.total:g} / {report.max_total:g}")
    print(f"graded {len(report.students)} student(s) in {time.monotonic() - started:.1f} s")
    return 0


def validate_main(args: list[str]) -> int:
    """``melange-lab validate NOTEBOOK``: run your notebook as the grader will, before handing
    it in, and see each check's result."""
    from melange_lab.grading.discovery import Submission
    from melange_lab.grading.grade import Settings, _run_to_completion, grade_one

    parser = argparse.ArgumentParser(
        prog="melange-lab validate",
        description=(
            "Run a notebook from the top in a fresh Python, as the grader does, and print each "
            "check's result. Exit status 0 when every check passes. It runs your own code on "
            "your machine, without a sandbox."
        ),
    )
    parser.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT,
        help=f"seconds, 1 to {MAX_TIMEOUT:,} (default {DEFAULT_TIMEOUT:g})",
    )
    options = parser.parse_args(args)
    path: Path = options.notebook
    shown = readable(str(path))
    submission = Submission("you", path.stem, path, path.parent)
    settings = Settings(options.timeout, None, Limits(), None)
    grades = _run_to_completion(grade_one(submission, None, settings))
    if grades.problem:
        print(f"{shown}: {grades.problem}")
        return 1
    for problem in grades.cell_problems:
        print(f"cell {problem.cell}: {problem.error}")
    for result in grades.results:
        state = "passed" if result.passed else "NOT PASSED"
        print(
            f"{result.check.grade_id}: {state}" + ("" if result.passed else f": {result.message}")
        )
    if not grades.results:
        print(f"{shown}: no check cells found (were the nbgrader cells deleted?)")
        return 1
    passed = sum(r.passed for r in grades.results)
    print(f"{passed} of {len(grades.results)} checks passed")
    return 0 if passed == len(grades.results) else 1
