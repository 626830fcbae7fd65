"""Finding the submissions: which file is whose notebook for which exercise, and what is not.

Recognised layouts (documented in docs/teachers.md):

- one folder per student: ``SUBMISSIONS/<student>/<exercise>.ipynb``, also one level deeper
  as nbgrader collects them (``<student>/<assignment>/<exercise>.ipynb``), and Moodle's
  ``<Full Name>_<id>_assignsubmission_file_/`` folders;
- a flat download: ``SUBMISSIONS/<student>_<exercise>.ipynb``, including Canvas
  (``<name>[_LATE]_<userid>_<fileid>_<exercise>.ipynb``) and Moodle
  (``<Full Name>_<id>_assignsubmission_file_<exercise>.ipynb``).

Names are compared case-insensitively with runs of spaces, dashes and dots read as one ``_``,
and without the marks browsers and LMSs add to copies: ``(1)``, ``-1``, `` - Copy``,
``Copy of``. Nothing here follows a symbolic link or opens a file; every entry that is not
used is reported.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from melange_lab.errors import GradingError, readable, shortened

NOTEBOOK = ".ipynb"
COPY_MARKS = (
    re.compile(r"^copy of\s+"),
    re.compile(r"\s*\(\d+\)$"),
    re.compile(r"\s*-\s*copy(\s*\(\d+\))?$"),
    re.compile(r"[\s_]copy\d*$"),
    re.compile(r"-\d+$"),
)
LMS_TOKENS = {"late", "assignsubmission", "file", "onlinetext"}
MAX_NOTEBOOKS_WITHOUT_SOURCE = 30  # each is run: without --source, a student chooses how many
IGNORED = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one exercise, or the reason it cannot be run."""

    student: str
    exercise: str
    path: Path
    folder: Path | None  # whose other files the notebook may read (None in a flat download)
    problem: str | None = None


@dataclass
class Found:
    submissions: list[Submission] = field(default_factory=list)
    students: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # student -> why, for the report


def normalized(stem: str) -> str:
    """``stem`` lower-cased, without copy marks, separators folded into single underscores."""
    text = stem.strip().lower()
    changed = True
    while changed:
        changed = False
        for mark in COPY_MARKS:
            shorter = mark.sub("", text)
            if shorter != text and shorter:
                text, changed = shorter, True
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def match_exercise(stem: str, exercises: list[str]) -> tuple[str, str] | None:
    """(exercise, what comes before it in the name) for the longest known exercise name that
    ``stem`` ends with, or None."""
    name = normalized(stem)
    best: tuple[str, str] | None = None
    for exercise in exercises:
        key = normalized(exercise)
        if name == key or name.endswith("_" + key):
            prefix = name[: len(name) - len(key)].strip("_")
            if best is None or len(key) > len(normalized(best[0])):
                best = (exercise, prefix)
    return best


def student_from_prefix(prefix: str) -> str:
    """The student in a flat download's name prefix, without LMS noise (a Canvas file id)."""
    tokens = [t for t in prefix.split("_") if t and t not in LMS_TOKENS]
    if len(tokens) >= 3 and tokens[-1].isdigit() and tokens[-2].isdigit():
        tokens = tokens[:-1]  # Canvas: <name>_<user id>_<file id>; the file id changes per file
    return "_".join(tokens)


def student_from_folder(name: str) -> str:
    return re.sub(r"_assignsubmission_\w*$", "", name) or name


def _is_notebook_name(name: str) -> bool:
    return name.lower().endswith(NOTEBOOK)


def _stem(name: str) -> str:
    return name[: -len(NOTEBOOK)]


def _copy_rank(path: Path, exercise: str) -> tuple[int, float]:
    """Sorts a student's files for one exercise: the plain name first, then the newest."""
    plain = normalized(_stem(path.name)) == normalized(exercise) and _stem(path.name) == exercise
    try:
        modified = path.lstat().st_mtime
    except OSError:
        modified = 0.0
    return (0 if plain else 1, -modified)


class Finder:
    """Walks SUBMISSIONS once, without following links, and sorts every entry."""

    def __init__(self, root: Path, exercises: list[str] | None, skip: list[Path]) -> None:
        self.root = root
        self.exercises = exercises
        self.skip = {path.resolve() for path in skip}
        self.found = Found()
        self.candidates: dict[tuple[str, str], list[Submission]] = {}
        self.exercises_of: dict[str, set[str]] = {}  # per student, to bound the notebooks run

    def warn(self, path: Path, why: str) -> None:
        self.found.warnings.append(f"{readable(str(path.relative_to(self.root)))}: {why}")

    def add(self, submission: Submission) -> None:
        submission = replace(
            submission, student=readable(submission.student), exercise=readable(submission.exercise)
        )
        self.found.students.add(submission.student)
        self.exercises_of.setdefault(submission.student, set()).add(submission.exercise)
        key = (submission.student, submission.exercise)
        self.candidates.setdefault(key, []).append(submission)

    def run(self) -> Found:
        for entry in _entries(self.root):
            path = Path(entry.path)
            if entry.name.startswith(".") or entry.name in IGNORED:
                continue
            if not entry.is_symlink() and path.resolve() in self.skip:  # a loop never resolves
                continue
            if entry.is_symlink():
                self._link(path)
            elif entry.is_dir() and _is_notebook_name(entry.name):
                self._flat(
                    path, problem="it is a folder named like a notebook, not a notebook file"
                )
            elif entry.is_dir():
                self._student_folder(path, student_from_folder(entry.name))
            elif _is_notebook_name(entry.name):
                self._flat(path)
            else:
                hint = "; unpack it first" if entry.name.lower().endswith(".zip") else ""
                self.warn(path, f"not a notebook or a student folder: ignored{hint}")
        self._choose()
        return self.found

    def _link(self, path: Path) -> None:
        if _is_notebook_name(path.name):
            self._flat(path, problem="it is a symbolic link, which is not followed")
            return
        # a student's folder given as a link (a zip can hold one): never followed, since it
        # may lead to the teacher's files, but the student still gets a row saying why
        student = readable(student_from_folder(path.name))
        why = "the student's folder is a symbolic link, which is not followed"
        self.found.students.add(student)
        self.found.unreadable[student] = why
        self.warn(path, f"{why}: every check scores zero; copy the folder itself in instead")

    def _flat(self, path: Path, problem: str | None = None) -> None:
        if self.exercises is None:
            self.warn(
                path, "a notebook outside a student folder; pass --source to grade flat downloads"
            )
            return
        match = match_exercise(_stem(path.name), self.exercises)
        if match is None or not student_from_prefix(match[1]):
            self.warn(path, "its name names no known exercise and student: ignored")
            return
        exercise, prefix = match
        self.add(Submission(student_from_prefix(prefix), exercise, path, None, problem))

    def _student_folder(self, folder: Path, student: str) -> None:
        student = readable(student)
        self.found.students.add(student)
        try:
            listed = _entries(folder)
        except OSError as error:
            why = f"the student's folder could not be read ({error.strerror or error})"
            self.found.unreadable[student] = why
            self.warn(folder, f"{why}: every check scores zero until it can be")
            return
        entries = [e for e in listed if not e.name.startswith(".") and e.name not in IGNORED]
        has_notebooks = any(_is_notebook_name(e.name) for e in entries)
        for entry in entries:
            path = Path(entry.path)
            if _is_notebook_name(entry.name):
                self._notebook_in_folder(path, folder, student, entry)
            elif entry.is_dir(follow_symlinks=False) and not has_notebooks:
                self.warn(path, "a folder inside a student folder: grading the notebooks in it")
                for inner in _entries_or_none(path):
                    if _is_notebook_name(inner.name) and not inner.name.startswith("."):
                        self._notebook_in_folder(Path(inner.path), path, student, inner)
            elif entry.is_symlink():
                self.warn(path, "a symbolic link, not followed: not copied")

    def _notebook_in_folder(
        self, path: Path, folder: Path, student: str, entry: os.DirEntry[str]
    ) -> None:
        problem = None
        if entry.is_symlink():
            problem = "it is a symbolic link, which is not followed"
        elif entry.is_dir(follow_symlinks=False):
            problem = "it is a folder named like a notebook, not a notebook file"
        elif not entry.is_file(follow_symlinks=False):
            problem = "it is not a regular file"
        stem = _stem(path.name)
        if self.exercises is None:
            exercise = stem
            graded = self.exercises_of.get(student, set())
            if readable(exercise) not in graded and len(graded) >= MAX_NOTEBOOKS_WITHOUT_SOURCE:
                self.warn(
                    path,
                    f"not graded: without --source at most {MAX_NOTEBOOKS_WITHOUT_SOURCE} "
                    "notebooks per student are (pass --source to grade the exercises only)",
                )
                return
        else:
            match = match_exercise(stem, self.exercises)
            if match is None:
                self.warn(path, "names none of the exercises: ignored")
                return
            exercise = match[0]
        self.add(Submission(student, exercise, path, folder, problem))

    def _choose(self) -> None:
        for (_, exercise), options in sorted(self.candidates.items()):
            options.sort(key=lambda s: (s.problem is not None, *_copy_rank(s.path, exercise)))
            self.found.submissions.append(options[0])
            for other in options[1:]:
                self.warn(
                    other.path, f"another file for {exercise} was graded: {options[0].path.name}"
                )


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as scan:
        return sorted(scan, key=lambda e: e.name)


def _entries_or_none(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return _entries(folder)
    except OSError:
        return []


def find_submissions(root: Path, exercises: list[str] | None, skip: list[Path]) -> Found:
    """Every submission under ``root``; an empty or missing folder is an error, not a zero."""
    layout = "pass the folder that holds one folder (or one notebook file) per student"
    if not root.exists() and not root.is_symlink():
        raise GradingError(f"{shortened(str(root))} does not exist: {layout}.")
    if root.is_symlink() or not root.is_dir():
        raise GradingError(f"{shortened(str(root))} is not a folder: {layout}.")
    try:
        found = Finder(root, exercises, skip).run()
    except OSError as error:
        raise GradingError(
            f"{shortened(str(root))} could not be read ({error.strerror or error}): {layout}."
        ) from None
    if not found.students:
        first = f" (first: {found.warnings[0]})" if found.warnings else ""
        raise GradingError(
            f"{root} holds no student folders and no notebook named after an exercise{first}: "
            "check the path, and see docs/teachers.md for the layouts it reads."
        )
    return found
