"""The ``melange-lab`` command: its flags, safe copying of the tutorials, the wheel, and a
JupyterLab that really serves (what ``make lab`` runs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from melange_lab import __version__
from melange_lab.cli import main
from melange_lab.tutorials import tutorial_names

REPOSITORY = Path(__file__).resolve().parent.parent
COMMAND = str(Path(sys.executable).parent / "melange-lab")
FIRST = "01-publishing-to-a-queue.ipynb"


def melange_lab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Runs the installed command, as a learner would."""
    return subprocess.run(
        [COMMAND, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_version_prints_the_package_version() -> None:
    result = melange_lab("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"melange-lab {__version__}"


def test_help_names_every_flag_a_learner_expects() -> None:
    result = melange_lab("--help")
    assert result.returncode == 0
    for flag in ("folder", "--port", "--no-browser", "--token", "--dry-run", "--version"):
        assert flag in result.stdout


def test_the_first_tutorial_is_the_queue_tutorial() -> None:
    assert tutorial_names()[0] == FIRST


def test_dry_run_copies_every_tutorial_and_prints_the_jupyterlab_command(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    result = melange_lab(str(folder), "--dry-run", "--port", "9999", "--no-browser")
    assert result.returncode == 0, result.stderr
    copied = sorted(path.name for path in folder.glob("*.ipynb"))
    assert copied == sorted(path.name for path in (REPOSITORY / "notebooks").glob("*.ipynb"))
    command = result.stdout.strip().splitlines()[-1]
    assert "-m jupyterlab" in command
    assert f"--ServerApp.root_dir={folder}" in command
    assert "--port=9999" in command
    assert "--no-browser" in command
    assert f"--LabApp.default_url=/lab/tree/{FIRST}" in command
    assert "--LabApp.news_url=None" in command and "--LabApp.app_settings_dir=" in command


def test_a_second_run_keeps_the_learners_edited_copy_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "work"
    assert main([str(folder), "--dry-run"]) == 0
    edited = folder / FIRST
    notebook = json.loads(edited.read_text())
    notebook["cells"][0]["source"] = "# My own notes\n\nI changed this."
    edited.write_text(json.dumps(notebook))
    before = edited.read_bytes()
    (folder / "02-publishing-to-a-topic.ipynb").unlink()  # a deleted one comes back
    capsys.readouterr()

    assert main([str(folder), "--dry-run"]) == 0

    assert edited.read_bytes() == before
    output = capsys.readouterr().out
    assert (folder / "02-publishing-to-a-topic.ipynb").exists()
    kept = len(list(folder.rglob("*.ipynb"))) - 1
    assert f"in {folder}/ (1 new, {kept} kept as you left them)" in output


@pytest.mark.slow
def test_the_wheel_carries_the_tutorials(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so building leaves no build/ in the checkout
    shutil.copytree(
        REPOSITORY,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "dist", "*.egg-info", "test-output", "__pycache__",
            ".*_cache", ".ipynb_checkpoints", "melange-lab-tutorials",
        ),
    )  # fmt: skip
    wheel_dir = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(wheel_dir)],
        cwd=source,
        check=True,
        timeout=300,
    )
    [wheel] = wheel_dir.glob("melange_lab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"melange_lab/tutorials/{FIRST}" in names
    tutorials = [n for n in names if n.startswith("melange_lab/tutorials/") and n.count("/") == 2]
    assert len(tutorials) == 10, tutorials


# -- the server that `make lab` starts --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[tuple[int, str, subprocess.Popen[str]]]:
    """``melange-lab FOLDER --no-browser --port FREE --token T`` running; stopped afterwards."""
    port, token = free_port(), "melange-lab-test-token"
    environment = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    server = subprocess.Popen(
        [COMMAND, str(tmp_path / "work"), "--no-browser", "--port", str(port), "--token", token],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    try:
        yield port, token, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_melange_lab_serves_jupyterlab_on_the_tutorials(
    lab_server: tuple[int, str, subprocess.Popen[str]],
) -> None:
    port, token, server = lab_server
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert server.poll() is None, f"melange-lab exited early:\n{server.stdout.read()}"  # type: ignore[union-attr]
        try:
            status, body = get(f"{base}/api/status", token)
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
            time.sleep(0.5)
    assert status == 200
    assert "started" in json.loads(body)

    status, body = get(f"{base}/api/contents/{FIRST}?content=0", token)
    assert status == 200 and json.loads(body)["name"] == FIRST
    status, body = get(f"{base}/lab/tree/{FIRST}", token)
    assert status == 200 and b"JupyterLab" in body


def test_learners_get_exercises_without_their_solutions(tmp_path: Path) -> None:
    from melange_lab.tutorials import copy_tutorials

    report = copy_tutorials(tmp_path / "work")

    exercises = [p for p in report.copied if p.parent.name == "exercises"]
    assert len(exercises) >= 6
    for path in exercises:
        text = path.read_text()
        assert "### BEGIN SOLUTION" not in text
        assert "raise NotImplementedError()" in text
