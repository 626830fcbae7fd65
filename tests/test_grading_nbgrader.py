"""nbgrader's ``autograde`` and ``melange-lab grade`` agree on honest work (and on a wrong
answer): the same notebooks, the same scores, in the same grades.csv columns; and
``student-version`` writes what nbgrader's ``generate_assignment`` releases."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from melange_lab.cli import main
from melange_lab.grading import write_student_version

EXERCISES = Path(__file__).resolve().parent.parent / "notebooks" / "exercises"
NOTEBOOKS = ["01_filter_policy.ipynb", "06_acknowledge_after_processing.ipynb"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap"),
]


def nbgrader(course: Path, *args: str) -> None:
    """Runs an nbgrader command; it calls ``alembic`` by name, so the venv's bin is on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env={**os.environ, "PATH": path},
        check=True,
        capture_output=True,
        timeout=600,
    )


def scores(grades_csv: Path) -> dict[str, float]:
    return {row["student_id"]: float(row["score"]) for row in csv.DictReader(grades_csv.open())}


def test_nbgrader_autograde_and_melange_lab_grade_give_the_same_scores(tmp_path: Path) -> None:
    pytest.importorskip("nbgrader")
    course = tmp_path / "course"
    source = course / "source" / "ps1"
    source.mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copy(EXERCISES / name, source / name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    nbgrader(course, "generate_assignment", "ps1", "--force")
    write_student_version(source, tmp_path / "handout")
    for name in NOTEBOOKS:  # the same student version as nbgrader's, cell by cell
        released = nbformat.read(course / "release" / "ps1" / name, as_version=4)
        ours = nbformat.read(tmp_path / "handout" / name, as_version=4)
        assert [c.source for c in ours.cells] == [c.source for c in released.cells], name
    for student in ("honest", "wrong"):
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        for name in NOTEBOOKS:
            shutil.copy(source / name, folder / name)
        (folder / "timestamp.txt").write_text("2026-12-01 00:00:00.000000 UTC")
    wrong = course / "submitted" / "wrong" / "ps1" / NOTEBOOKS[0]
    notebook = nbformat.read(wrong, as_version=4)
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = (
        'factory.init_queue("billing", ["orders"])\nfactory.init_queue("shipping", ["orders"])'
    )
    nbformat.write(notebook, wrong)
    nbgrader(course, "autograde", "ps1", "--create", "--force")
    nbgrader(course, "export")
    theirs = scores(course / "grades.csv")

    collected = tmp_path / "collected"
    for student in ("honest", "wrong"):
        shutil.copytree(course / "submitted" / student / "ps1", collected / student)
    out = tmp_path / "grades"
    assert main(["grade", str(collected), "--source", str(source), "--out", str(out)]) == 0
    ours = scores(out / "grades.csv")

    assert theirs == ours
    assert ours["honest"] == 3 + 4 and ours["wrong"] == ours["honest"] - 2
