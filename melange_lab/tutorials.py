"""Where the tutorial notebooks live, and copying them into a learner's folder safely."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

_REPOSITORY_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def tutorials_source() -> Path:
    """The packaged tutorials (in a wheel), else the repository's ``notebooks/`` folder."""
    packaged = Path(str(resources.files("melange_lab"))) / "tutorials"
    if packaged.is_dir() and any(packaged.glob("*.ipynb")):
        return packaged
    if _REPOSITORY_NOTEBOOKS.is_dir():
        return _REPOSITORY_NOTEBOOKS
    raise FileNotFoundError(
        "The tutorial notebooks are missing from this installation; reinstall melange-lab "
        "(pip install --force-reinstall melange-lab)."
    )


def tutorial_names() -> list[str]:
    return sorted(p.name for p in tutorials_source().glob("*.ipynb"))


@dataclass
class CopyReport:
    copied: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def copy_tutorials(folder: Path) -> CopyReport:
    """Copies every tutorial, and the student version of every exercise, into ``folder``.

    Never overwrites an existing file: that is the learner's edited copy. Exercises are
    handed out with their solutions removed (the repository keeps the teacher's version).
    """
    source = tutorials_source()
    report = CopyReport()
    if os.path.realpath(folder) == os.path.realpath(source):  # a link loop: never the same
        return report
    for notebook in sorted(source.rglob("*.ipynb")):
        relative = notebook.relative_to(source)
        if ".ipynb_checkpoints" in relative.parts:
            continue
        target = folder / relative
        if target.exists():
            report.kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative.parts[0] == "exercises":
            _write_student_version(notebook, target)
        else:
            shutil.copyfile(notebook, target)
        report.copied.append(target)
    return report


def _write_student_version(notebook: Path, target: Path) -> None:
    import nbformat

    from melange_lab.grading import student_notebook

    solution = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.write(student_notebook(solution, notebook.name), target)  # type: ignore[no-untyped-call]
