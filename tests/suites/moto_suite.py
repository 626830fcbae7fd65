"""moto's own SQS and SNS tests, from the source distribution of the pinned moto release.

The sdist is fetched from PyPI at test time (``pip download``, checked against its sha256)
and cached under ``.cache/moto-suite/``; nothing of it is committed. Its ``tests/test_sqs``
and ``tests/test_sns`` run in a child pytest twice: stock (moto as released) and with every
lab layer installed (``plugins/melange_lab_layers.py``), each writing its outcomes as JSON
(``plugins/melange_outcomes.py``). ``test_sqs_integration.py`` is left out whole: it drives
Lambda through Docker and imports moto's Lambda, ECR and S3 test helpers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tests.suites.outcomes import Outcomes

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "moto-suite"
PLUGINS = Path(__file__).resolve().parent / "plugins"
# The moto release whose tests run, and its sdist's sha256 (PyPI). The dev extra pins the
# same moto, so the layers are checked on the code these tests were written for.
VERSION = "5.2.6"
SDIST_SHA256 = "247351594cfa4917ec74834a0be62915804d568ad3b667988194668ad39c44a7"
# What of the sdist's tests/ the suites need: the two suites and the helpers they import.
MEMBERS = (
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/markers.py",
    "tests/test_core/__init__.py",
    "tests/test_core/utilities.py",
    "tests/test_sqs/",
    "tests/test_sns/",
)
LEFT_OUT = ("tests/test_sqs/test_sqs_integration.py",)
SUITES = ("tests/test_sqs", "tests/test_sns")


class SuiteUnavailable(RuntimeError):
    """The pinned suite could not be fetched or does not match its pin."""


def _sdist() -> Path:
    """The pinned sdist, downloaded once into the cache and checked against its sha256."""
    target = CACHE / f"moto-{VERSION}.tar.gz"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    f"moto=={VERSION}",
                    "-d",
                    scratch,
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            fetched = Path(scratch) / target.name
            if done.returncode != 0 or not fetched.exists():
                raise SuiteUnavailable(
                    f"could not fetch moto {VERSION}'s sdist from PyPI:\n{done.stderr[-2000:]}"
                )
            fetched.replace(target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        target.unlink()
        raise SuiteUnavailable(f"moto-{VERSION}.tar.gz has sha256 {digest}, pinned {SDIST_SHA256}")
    return target


def suite_dir() -> Path:
    """The extracted suites (``.cache/moto-suite/moto-VERSION``), extracted once."""
    root = CACHE / f"moto-{VERSION}"
    ready = root / ".extracted"
    if ready.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    prefix = f"moto-{VERSION}/"
    with tarfile.open(_sdist()) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix(prefix)
            wanted = any(name == m or (m.endswith("/") and name.startswith(m)) for m in MEMBERS)
            if not member.isfile() or not wanted or name in LEFT_OUT:
                continue
            destination = root / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            destination.write_bytes(source.read())
    # an empty ini of its own, so pytest does not take this repository's settings from above
    (root / "pytest.ini").write_text("[pytest]\n")
    ready.write_text(VERSION)
    return root


@dataclass(frozen=True)
class Run:
    """One run of moto's suites: stock moto, or moto with the lab's layers."""

    name: str  # "lab" | "stock"
    layers: bool


RUNS = (Run("lab", layers=True), Run("stock", layers=False))


def check_installed_moto() -> None:
    installed = metadata.version("moto")
    if installed != VERSION:
        raise SuiteUnavailable(
            f"moto {installed} is installed but moto's suite is pinned to {VERSION} (its "
            "classification is for that release). Fix: `make .venv/bin/.installed` (the dev "
            "extra pins it), or re-pin VERSION/SDIST_SHA256 and re-classify."
        )


def start(run: Run, results: Path) -> subprocess.Popen[bytes]:
    """Starts one run of the suites in a child pytest; its outcomes go to ``results``."""
    root = suite_dir()
    plugins = ["-p", "melange_outcomes"] + (["-p", "melange_lab_layers"] if run.layers else [])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(REPO)]),
        "MELANGE_SUITE_OUTCOMES": str(results),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *plugins,
            "-o",
            "addopts=",
            "--timeout",
            "120",
            "--rootdir",
            str(root),
            *SUITES,
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def run_all(results_dir: Path, timeout: float = 1200) -> dict[str, Outcomes]:
    """Both runs side by side (they mostly sleep); their outcomes by run name."""
    check_installed_moto()
    results_dir.mkdir(parents=True, exist_ok=True)
    suite_dir()
    started = {run.name: (start(run, results_dir / f"moto-{run.name}.json"), run) for run in RUNS}
    found: dict[str, Outcomes] = {}
    for name, (process, _) in started.items():
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            raise SuiteUnavailable(f"moto's suite ({name}) ran over {timeout}s") from None
        path = results_dir / f"moto-{name}.json"
        if not path.exists():
            tail = output.decode(errors="replace")[-3000:]
            raise SuiteUnavailable(f"moto's suite ({name}) wrote no outcomes:\n{tail}")
        found[name] = Outcomes(json.loads(path.read_text()))
    return found
