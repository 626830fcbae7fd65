"""Packs the repository's notebooks/ into the wheel as melange_lab/tutorials/.

The notebooks stay in one place in the repository; an installed wheel still has them, so
`melange-lab` works without the repository.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithTutorials(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "notebooks"
        target = Path(self.build_lib) / "melange_lab" / "tutorials"
        if source.is_dir():
            shutil.copytree(
                source,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.pyc", "__pycache__"),
            )


setup(cmdclass={"build_py": BuildWithTutorials})
