"""The command line and the grader, given what careless teachers and hostile students give it.

Every option goes through ``arguments.py``: a bad value is argparse's usual error (the option
named, our reason, exit status 2), never a traceback. Paths that are missing, files where
folders belong and folders nobody can read are each said as what they are. Grading is total
and bounded: whatever a notebook holds (a 5,000-digit number, a lone surrogate, a cell that
never ends, points of 1e308), every submission gets a row with its reason, the reports are
written, and the grader works for the next class.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from melange_lab.cli import main
from melange_lab.errors import InvalidParameter, UnknownOption
from melange_lab.grading import grade as grading
from melange_lab.grading import write_student_version
from melange_lab.grading.discovery import find_submissions
from melange_lab.grading.execute import Execution, _started
from melange_lab.grading.notebooks import NotebookUnreadable, read_notebook, role
from melange_lab.grading.protocol import CellOutcome

EXERCISES = Path(__file__).resolve().parent.parent / "notebooks" / "exercises"
FIRST = "01_filter_policy"
HUGE_DIGITS = "9" * 5_000

NOT_SECONDS = ["0", "-1", "nan", "NaN", "inf", "-inf", "1e400", "3601", "99999", "", " ", "abc",
               HUGE_DIGITS, "0x10", "1,5", "\udcff"]  # fmt: skip
NOT_JOBS = ["0", "-1", "65", "1.5", "nan", "x", HUGE_DIGITS, ""]
NOT_MEMORY = ["0", "255", str(2**60), "x", "nan", "1e9"]
NOT_NAMES = ["", "\t", "a\nb", "x" * 201, "\udcff", "a\x00"]
NOT_PORTS = ["0", "-1", "65536", "nan", "80.5", "x", HUGE_DIGITS, ""]
NOT_HOSTS = ["", "a b", "x" * 300, "\udcff", "h\x00", "a" * 64 + ".example"]

OPTION_CASES = [
    *[("grade", "--timeout", v) for v in NOT_SECONDS],
    *[("grade", "--jobs", v) for v in NOT_JOBS],
    *[("grade", "--memory", v) for v in NOT_MEMORY],
    *[("grade", "--assignment", v) for v in NOT_NAMES],
    *[("grade", "--kernel", v) for v in NOT_NAMES],
    *[("validate", "--timeout", v) for v in NOT_SECONDS],
    *[("lab", "--port", v) for v in NOT_PORTS],
    *[("lab", "--ip", v) for v in NOT_HOSTS],
    *[("lab", "--token", v) for v in ["", "a b", "\n", "\udcff", "t" * 1_001]],
    *[("serve", "--port", v) for v in NOT_PORTS if v != "0"],
    *[("serve", "--host", v) for v in NOT_HOSTS],
    *[("serve", "--region", v) for v in ["", "US-EAST-1", "moon", "\udcff", "x" * 300]],
]


def command(kind: str, option: str, value: str, tmp_path: Path) -> list[str]:
    given = f"{option}={value}"  # "-inf" is a value here, not an option
    if kind == "grade":
        return ["grade", str(tmp_path), "--out", str(tmp_path / "out"), given]
    if kind == "validate":
        return ["validate", str(tmp_path / "x.ipynb"), given]
    if kind == "serve":
        return ["serve", given]
    return [str(tmp_path / "lab"), "--dry-run", given]


@pytest.mark.parametrize(
    ("kind", "option", "value"),
    OPTION_CASES,
    ids=[f"{k}{o}-{i}" for i, (k, o, _) in enumerate(OPTION_CASES)],
)
def test_a_bad_option_value_is_argparses_error_with_our_reason_and_nothing_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(command(kind, option, value, tmp_path))
    assert exit_.value.code == 2
    said = capsys.readouterr()
    assert f"argument {option}" in said.err and "is not allowed" in said.err
    assert "Traceback" not in said.err + said.out and len(said.err) < 2_000
    assert "serve(" not in said.err and "=" not in said.err.split("allowed:")[-1]  # no Python
    assert "e.g." not in said.err or f"e.g. {option} " in said.err  # the example is this option
    assert not (tmp_path / "out").exists() and not (tmp_path / "lab").exists()


@pytest.mark.parametrize(
    ("option", "value"), [("--timeout", "1"), ("--timeout", "3600"), ("--timeout", " 60 ")]
)
def test_the_edges_of_the_timeout_range_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    assert main(["validate", str(tmp_path / "missing.ipynb"), option, value]) == 1
    assert "does not exist" in capsys.readouterr().out


@pytest.mark.server
def test_serving_on_every_address_warns_in_the_command_lines_words_then_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "melange_lab.cli", "serve", "--host", "0.0.0.0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Serving SNS and SQS at http://127.0.0.1:")
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "warning: --host 0.0.0.0: anyone who can reach this machine" in err
    assert "Leave --host out" in err and "Warning" not in err and "broker.serve(" not in err


# -- paths -------------------------------------------------------------------------------------


def test_grading_a_missing_folder_says_it_is_missing_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["grade", "nowhere"]) == 2
    assert "nowhere does not exist" in capsys.readouterr().out
    assert main(["grade", ".", "--source", "no-source"]) == 2
    assert "--source no-source: it does not exist" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_grading_into_an_out_that_is_a_file_is_refused_before_grading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "class" / "ana").mkdir(parents=True)
    (tmp_path / "report.txt").write_text("mine")
    for out in ("report.txt", "report.txt/inner"):
        assert main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / out)]) == 2
        assert "--out" in capsys.readouterr().out
    assert (tmp_path / "report.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "does not exist"),
        ("folder", "is a folder"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"", "not valid JSON"),
        (b'{"cells": [], "nbformat": ' + HUGE_DIGITS.encode() + b"}", "number too long"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"cells": "no"}', "no list of cells"),
        (b'{"cells": [{"cell_type": "code", "source": 5}]}', "cell 1"),
        (b"[1, 2]", "no list of cells"),
    ],
    ids=range(9),
)
def test_validate_says_why_a_file_is_no_notebook_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, said: str
) -> None:
    path = tmp_path / "answer.ipynb"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    assert main(["validate", str(path)]) == 1
    output = capsys.readouterr()
    assert said in output.out and "Traceback" not in output.out + output.err


def test_validate_of_a_fifo_named_like_a_notebook_does_not_wait_on_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "answer.ipynb"
    os.mkfifo(path)
    assert main(["validate", str(path)]) == 1
    assert "not a regular file" in capsys.readouterr().out


def test_the_lab_into_a_file_says_so_instead_of_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").write_text("x")
    assert main([str(tmp_path / "taken"), "--dry-run"]) == 2
    assert "cannot be copied" in capsys.readouterr().err


def test_a_folder_name_that_is_not_utf8_is_printed_readably(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9")
    assert main([folder, "--dry-run"]) == 0
    assert "caf\ufffd" in capsys.readouterr().out


def test_ctrl_c_ends_the_command_quietly_with_status_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("melange_lab.grading.grade_main", interrupted)
    assert main(["grade", "x"]) == 130
    assert "Traceback" not in capsys.readouterr().err


# -- notebooks as a student may hand them in ---------------------------------------------------


def notebook_json(**metadata: Any) -> dict[str, Any]:
    return {
        "cells": [
            {
                "id": "answer",
                "cell_type": "code",
                "source": "x = 1",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            },
            {
                "id": "check",
                "cell_type": "code",
                "source": "assert x == 1",
                "outputs": [],
                "execution_count": None,
                "metadata": {
                    "nbgrader": {
                        "grade": True,
                        "solution": False,
                        "locked": True,
                        "grade_id": "check",
                        "points": 1,
                        **metadata,
                    }
                },
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.mark.parametrize(
    ("metadata", "points"),
    [
        ({"points": 1e308}, 0.0),
        ({"points": -1}, 0.0),
        ({"points": "5"}, 0.0),
        ({"points": True}, 0.0),
        ({"points": 10**4_000}, 0.0),
        ({"points": 1_000_000}, 1_000_000.0),
        ({"points": 2.5}, 2.5),
    ],
    ids=range(7),
)
def test_a_cells_points_are_a_finite_number_in_range_or_nothing(
    tmp_path: Path, metadata: dict[str, Any], points: float
) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook_json(**metadata)))
    assert role(read_notebook(path).cells[1]).points == points


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_for_points_score_nothing(tmp_path: Path, literal: str) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook_json()).replace('"points": 1', f'"points": {literal}'))
    assert role(read_notebook(path).cells[1]).points == 0.0


@pytest.mark.parametrize(
    ("grade_id", "kept"),
    [("x" * 10_000, False), ("\ud800", True), ("", False), (5, False), (["a"], False)],
    ids=range(5),
)
def test_a_grade_id_is_short_text_the_reports_can_write(
    tmp_path: Path, grade_id: Any, kept: bool
) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook_json(grade_id=grade_id)))
    found = role(read_notebook(path).cells[1]).grade_id
    assert (found is not None) == kept
    if found is not None:
        found.encode("utf-8")  # writable


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "n.ipynb"
    with path.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)
    with pytest.raises(NotebookUnreadable, match="over the limit"):
        read_notebook(path)


# -- the grader's bounds, without a sandbox -----------------------------------------------------


def passing_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replaces running a notebook by a run in which every cell passes; returns the names of
    the notebooks it was asked to run."""
    ran: list[str] = []

    async def run(notebook: Any, folder: Any, name: str, *args: Any) -> Execution:
        ran.append(name)
        cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
        return Execution({i: CellOutcome(i, "ok") for i in cells})

    monkeypatch.setattr(grading, "run_notebook", run)
    return ran


def a_class(root: Path, students: dict[str, Callable[[Path], None]]) -> Path:
    for student, hand_in in students.items():
        folder = root / student
        folder.mkdir(parents=True)
        hand_in(folder)
    return root


def solution(folder: Path) -> None:
    shutil.copy(EXERCISES / f"{FIRST}.ipynb", folder)


def rows(out: Path, name: str) -> list[dict[str, str]]:
    with (out / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_an_unreadable_student_folder_is_reported_not_no_notebook_submitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    passing_run(monkeypatch)
    root = a_class(tmp_path / "class", {"ana": solution, "ben": solution})
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path).name == "ben":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    out = tmp_path / "out"
    assert main(["grade", str(root), "--out", str(out), "--source", str(EXERCISES)]) == 0
    printed = capsys.readouterr().out
    assert "ben: the student's folder could not be read (Permission denied)" in printed
    ben = [r for r in rows(out, "details.csv") if r["student"] == "ben"]
    assert ben and all("could not be read (Permission denied)" in r["message"] for r in ben)
    assert {r["student"] for r in rows(out, "scores.csv")} == {"ana", "ben"}


@pytest.mark.parametrize(
    "target", ["solutions", "loop", "missing"], ids=["to-the-solutions", "a-loop", "dangling"]
)
def test_a_student_folder_that_is_a_link_gets_a_row_of_zeros_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    target: str,
) -> None:  # fmt: skip
    passing_run(monkeypatch)  # a followed link would score the teacher's solutions
    root = a_class(tmp_path / "class", {"ana": solution})
    if target == "solutions":
        (root / "eve").symlink_to(EXERCISES, target_is_directory=True)
    else:
        (root / "eve").symlink_to(root / ("eve" if target == "loop" else "gone"))
    out = tmp_path / "out"
    assert main(["grade", str(root), "--out", str(out), "--source", str(EXERCISES)]) == 0
    assert "eve: the student's folder is a symbolic link" in capsys.readouterr().out
    eve = [r for r in rows(out, "details.csv") if r["student"] == "eve"]
    assert eve and all(r["passed"] == "no" and "symbolic link" in r["message"] for r in eve)
    totals = {r["student"]: r["total"] for r in rows(out, "scores.csv")}
    assert totals["eve"] == "0" and totals["ana"] != "0"


def test_a_notebook_whose_grading_never_ends_is_stopped_at_its_bound_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def forever(*args: Any) -> Execution:
        await asyncio.sleep(3_600)
        raise AssertionError("not reached")

    monkeypatch.setattr(grading, "run_notebook", forever)
    monkeypatch.setattr(grading, "notebook_bound", lambda timeout: 0.5)
    root = a_class(tmp_path / "class", {"ana": solution, "ben": solution})
    started = time.monotonic()
    report = grading.grade_submissions(root, source=EXERCISES, unsafe_no_sandbox=True, jobs=2)
    assert time.monotonic() - started < 30
    for student in report.students:
        assert student.total == 0
        handed_in = [r for r in student.results.values() if r.check.exercise == FIRST]
        assert handed_in and all("took longer than 0.5 s" in r.message for r in handed_in)


def test_a_grader_failure_on_one_notebook_is_that_notebooks_zero_not_the_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passing_run(monkeypatch)
    real = grading.graded_notebook

    def breaks_for_ben(source: Any, notebook: Any) -> Any:
        if "ben" in str(notebook.metadata.get("who", "")):
            raise RuntimeError("unexpected shape")
        return real(source, notebook)

    def handed_in_by(who: str) -> Callable[[Path], None]:
        def hand_in(folder: Path) -> None:
            notebook = nbformat.read(EXERCISES / f"{FIRST}.ipynb", as_version=4)
            notebook.metadata["who"] = who
            nbformat.write(notebook, folder / f"{FIRST}.ipynb")

        return hand_in

    monkeypatch.setattr(grading, "graded_notebook", breaks_for_ben)
    root = a_class(tmp_path / "class", {"ana": handed_in_by("ana"), "ben": handed_in_by("ben")})
    report = grading.grade_submissions(root, source=EXERCISES, unsafe_no_sandbox=True)
    totals = {s.student: s for s in report.students}
    assert totals["ana"].total > 0
    ben = [r for r in totals["ben"].results.values() if r.check.exercise == FIRST]
    assert ben and all("RuntimeError: unexpected shape" in r.message for r in ben)


def test_a_process_cancelled_while_it_starts_is_killed_and_reaped(tmp_path: Path) -> None:
    marker = tmp_path / "alive"

    async def cancel_while_starting() -> None:
        starting = asyncio.ensure_future(
            _started(
                asyncio.create_subprocess_exec(
                    sys.executable, "-c", f"import time; open({str(marker)!r}, 'w'); "
                    "time.sleep(60)", start_new_session=True,
                )
            )
        )  # fmt: skip
        await asyncio.sleep(0)
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting

    started = time.monotonic()
    asyncio.run(asyncio.wait_for(cancel_while_starting(), 20))
    assert time.monotonic() - started < 20


def test_without_source_a_student_runs_at_most_30_notebooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = passing_run(monkeypatch)

    def many(folder: Path) -> None:
        for number in range(45):
            shutil.copy(EXERCISES / f"{FIRST}.ipynb", folder / f"n{number:02}.ipynb")

    root = a_class(tmp_path / "class", {"ana": many})
    report = grading.grade_submissions(root, unsafe_no_sandbox=True)
    assert len(ran) == 30
    assert sum("at most 30 notebooks" in w for w in report.warnings) == 15


def test_names_that_are_not_utf8_are_graded_and_reported_readably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passing_run(monkeypatch)
    root = tmp_path / "class"
    weird = os.fsdecode(os.fsencode(root) + b"/ren\xe9")
    os.makedirs(weird)
    solution(Path(weird))
    out = tmp_path / "out"
    assert main(["grade", str(root), "--out", str(out), "--source", str(EXERCISES)]) == 0
    assert [r["student"] for r in rows(out, "scores.csv")] == ["ren\ufffd"]
    assert (out / "feedback" / "ren\ufffd").is_dir()


def test_find_submissions_says_a_missing_root_is_missing(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist"):
        find_submissions(tmp_path / "gone", None, [])


# -- a whole hostile class, each notebook in its sandbox -----------------------------------


def answer_cell(folder: Path, source: str) -> None:
    notebook = nbformat.read(EXERCISES / f"{FIRST}.ipynb", as_version=4)
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = source
    nbformat.write(notebook, folder / f"{FIRST}.ipynb")


HOSTILE_CLASS: dict[str, Callable[[Path], None]] = {
    "digits_in_the_file": lambda f: (f / f"{FIRST}.ipynb").write_text(
        (EXERCISES / f"{FIRST}.ipynb")
        .read_text()
        .replace('"nbformat": 4', f'"nbformat": 4, "x": {HUGE_DIGITS}', 1)
    ),
    "digits_in_a_cell": lambda f: answer_cell(f, f"x = {HUGE_DIGITS}"),
    "prints_a_surrogate": lambda f: answer_cell(f, "print('\\ud800' * 100_000)"),
    "never_ends": lambda f: answer_cell(f, "while True:\n    pass"),
    "points_1e308": lambda f: (f / f"{FIRST}.ipynb").write_text(
        (EXERCISES / f"{FIRST}.ipynb").read_text().replace('"points": 1', '"points": 1e308')
    ),
    "empty_folder": lambda f: None,
    "fills_memory": lambda f: answer_cell(f, "hoard = bytearray(10**11)"),  # over --memory
    "fills_disk": lambda f: answer_cell(
        f,
        "import os\nwith open(os.path.expanduser('~/big'), 'wb') as f:\n"
        "    while True:\n        f.write(b'x' * 2**20)",  # to the 64 MiB file limit
    ),
    "forks_and_leaves": lambda f: answer_cell(
        f, "import os, time\nfor _ in range(20):\n    if os.fork() == 0:\n        time.sleep(600)"
    ),  # every fork ends with the sandbox
    "solver": solution,
}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_hostile_class_is_graded_in_bounded_time_with_a_row_and_reason_for_everyone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = a_class(tmp_path / "class", HOSTILE_CLASS)
    out = tmp_path / "out"
    started = time.monotonic()
    code = main(["grade", str(root), "--out", str(out), "--source", str(EXERCISES),
                 "--timeout", "5", "--jobs", "2"])  # fmt: skip
    took = time.monotonic() - started
    printed = capsys.readouterr()
    assert code == 0 and "Traceback" not in printed.out + printed.err
    bound = grading.notebook_bound(5) * len(HOSTILE_CLASS) * len(list(EXERCISES.glob("*.ipynb")))
    assert took < bound
    scores = {r["student"]: r for r in rows(out, "scores.csv")}
    assert set(scores) == set(HOSTILE_CLASS)
    assert scores["points_1e308"]["total"] == scores["solver"]["total"]  # the teacher's points
    details = [r for r in rows(out, "details.csv") if r["exercise"] == FIRST]
    assert all(r["passed"] == "yes" for r in details if r["student"] == "solver")
    why = {r["student"]: r["message"] for r in details if r["passed"] == "no"}
    assert "number too long to read" in why["digits_in_the_file"]
    assert "no notebook submitted" in why["empty_folder"]
    causes = {r["student"]: r["cause"] for r in details if r["passed"] == "no"}
    assert "MemoryError" in causes["fills_memory"]
    assert "File too large" in causes["fills_disk"] or "OSError" in causes["fills_disk"]
    assert why["never_ends"]  # each not-passed check says why
    assert all(r["message"] for r in details if r["passed"] == "no")
    executed = out / "executed" / "prints_a_surrogate" / f"{FIRST}.ipynb"
    executed.read_text(encoding="utf-8")  # written, and readable as UTF-8
    # the grader works for the next class
    again = a_class(tmp_path / "next", {"solver": solution})
    assert main(["grade", str(again), "--out", str(tmp_path / "next-out"),
                 "--source", str(EXERCISES)]) == 0  # fmt: skip
    assert rows(tmp_path / "next-out", "scores.csv")[0]["total"] != "0"


@pytest.mark.slow
@pytest.mark.parametrize("student", ["digits_in_a_cell", "prints_a_surrogate", "points_1e308"])
def test_validate_runs_a_hostile_notebook_and_prints_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], student: str
) -> None:
    HOSTILE_CLASS[student](tmp_path)
    code = main(["validate", str(tmp_path / f"{FIRST}.ipynb"), "--timeout", "20"])
    printed = capsys.readouterr()
    assert code == (0 if student == "points_1e308" else 1)  # that one is the solution
    assert "Traceback" not in printed.out + printed.err
    assert "checks passed" in printed.out


@pytest.mark.slow
def test_validate_of_a_notebook_whose_fork_outlives_it_ends_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid_file = tmp_path / "child.pid"
    answer_cell(
        tmp_path,
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()  # out of the runner's process group: it keeps the results pipe open\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(600)\n"
        "    os._exit(0)",
    )
    try:
        code = main(["validate", str(tmp_path / f"{FIRST}.ipynb"), "--timeout", "20"])
        gc.collect()  # where the pipes' late closing printed "Event loop is closed"
        printed = capsys.readouterr()
        assert code == 1 and "checks passed" in printed.out
        assert "Traceback" not in printed.out + printed.err
    finally:
        if pid_file.exists():  # validate runs without a sandbox: the fork is the student's
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.parametrize("command", ["student-version", "lab", "grade --out"])
def test_a_symbolic_link_loop_as_a_folder_is_a_plain_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    argv = {
        "student-version": ["student-version", str(EXERCISES), str(loop)],
        "lab": [str(loop), "--dry-run"],
        "grade --out": ["grade", str(tmp_path), "--out", str(loop)],
    }[command]
    assert main(argv) == (1 if command == "student-version" else 2)
    printed = capsys.readouterr()
    assert "error:" in printed.out + printed.err and "Traceback" not in printed.out + printed.err
    assert loop.is_symlink() and not (tmp_path / "out").exists()


def test_student_version_of_a_missing_folder_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["student-version", str(tmp_path / "gone"), str(tmp_path / "out")]) == 1
    assert "error:" in capsys.readouterr().out
    write_student_version(EXERCISES, tmp_path / "handout")  # and it still works


def test_a_file_of_the_students_folder_that_cannot_be_copied_is_left_out_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from melange_lab.grading import execute

    folder = tmp_path / "ana"
    folder.mkdir()
    for name in ("data.csv", "secret.key", "notes.txt"):
        (folder / name).write_text(name)
    real = shutil.copyfile

    def copyfile(source: str, target: Any, **options: Any) -> Any:
        if source.endswith("secret.key"):
            raise PermissionError(13, "Permission denied")
        return real(source, target, **options)

    monkeypatch.setattr(execute.shutil, "copyfile", copyfile)
    into = tmp_path / "copy"
    into.mkdir()
    assert execute.copy_submission_folder(folder, into, "answer.ipynb") == ["secret.key"]
    assert sorted(p.name for p in into.iterdir()) == ["data.csv", "notes.txt"]


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 1e20},
        {"timeout": math.nan},
        {"timeout": 0},
        {"timeout": "60"},
        {"jobs": 0},
        {"jobs": True},
        {"jobs": 10**5000},
        {"unsafe_no_sandbox": "yes"},
        {"timout": 60},
    ],
    ids=range(9),
)
def test_grade_submissions_from_python_checks_its_options_like_the_command_line(
    tmp_path: Path, options: dict[str, Any]
) -> None:
    (tmp_path / "ana").mkdir()
    with pytest.raises((InvalidParameter, UnknownOption)) as error:
        grading.grade_submissions(tmp_path, **options)
    assert len(str(error.value)) < 500
