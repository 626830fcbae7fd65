"""Rebuilds what Binder would from ``binder/`` alone, and runs every notebook in it.

repo2docker (what mybinder.org runs) reads ``binder/runtime.txt`` for the Python version,
installs ``binder/requirements.txt`` from the repository root, then runs ``binder/postBuild``.
Docker is not needed here: the same steps run in a fresh virtual environment (no system site
packages) on a copy of the repository, with a private HOME. If ``repo2docker`` is on PATH, its
``--no-build`` mode also checks that it reads the configuration the same way.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
BINDER = REPOSITORY / "binder"
INSTALL_TIMEOUT = 900  # seconds; a cold pip cache downloads JupyterLab and moto

pytestmark = pytest.mark.slow


def runtime_python() -> str:
    """'3.11' from runtime.txt's 'python-3.11'."""
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-"), f"runtime.txt should read python-3.11, not {runtime!r}"
    return runtime.removeprefix("python-")


def interpreter(version: str) -> str | None:
    """A Python of that version: this one's base interpreter if it matches, else one on PATH."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        base = Path(sys.base_prefix) / "bin" / f"python{version}"
        if base.exists():
            return str(base)
    return shutil.which(f"python{version}")


def first_tutorial() -> str:
    return sorted(p.name for p in (REPOSITORY / "notebooks").glob("[0-9][0-9]-*.ipynb"))[0]


def repository_files() -> list[str]:
    """What a clone would hold once the work in progress is committed: tracked files and
    untracked ones git does not ignore (so .venv, build output and caches stay out)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (REPOSITORY / name).is_file()]


def copy_repository(target: Path) -> Path:
    for name in repository_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPOSITORY / name, destination)
    return target


def binder_environment(home: Path, venv: Path) -> dict[str, str]:
    """A clean environment: the venv first on PATH, a private HOME, nothing of ours leaking in."""
    keep = {"LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"}
    environment = {key: value for key, value in os.environ.items() if key in keep}
    environment.update(
        HOME=str(home),
        PATH=f"{venv / 'bin'}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        VIRTUAL_ENV=str(venv),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return environment


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-3000:]}"
    )
    return result.stdout


EXECUTE_NOTEBOOKS = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import nbformat
    from nbclient import NotebookClient

    failures = []
    for path in sys.argv[1:]:
        notebook = nbformat.read(path, as_version=4)
        started = time.monotonic()
        try:
            NotebookClient(
                notebook, kernel_name="python3", timeout=120,
                resources={"metadata": {"path": str(Path(path).parent)}},
            ).execute()
        except Exception as error:
            failures.append(f"{path}: {error}")
        print(f"{time.monotonic() - started:6.1f}s {Path(path).name}", flush=True)
    if failures:
        sys.exit("\\n\\n".join(failures))
    """
)


def installer(venv: Path, environment: dict[str, str]) -> list[str]:
    """``pip install`` into the venv, as repo2docker runs it; through uv when the test run has
    it (the same requirements resolved from the same index, with the machine's download cache
    rather than the private HOME's empty one: minutes faster on two cores)."""
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        found = shutil.which("uv")
        uv = Path(found) if found else uv
    if not uv.exists():
        return [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    cache = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")
    environment["UV_CACHE_DIR"] = cache
    for name in ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_DEFAULT_INDEX",
                 "UV_NATIVE_TLS", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        if name in os.environ:
            environment[name] = os.environ[name]
    return [str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]


@pytest.fixture(scope="module")
def binder_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(repository copy, venv, environment) after Binder's install steps."""
    version = runtime_python()
    python = interpreter(version)
    if python is None:
        pytest.skip(f"binder/runtime.txt asks for Python {version}, which is not on PATH")
    root = tmp_path_factory.mktemp("binder")
    repository = copy_repository(root / "repo")
    venv = root / "venv"
    home = root / "home"
    home.mkdir()
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    environment = binder_environment(home, venv)
    pip = installer(venv, environment)
    run([*pip, "-r", "binder/requirements.txt"], repository, environment, INSTALL_TIMEOUT)
    # repo2docker's own environment has Notebook beside JupyterLab; either may be started
    run([*pip, "notebook>=7"], repository, environment, INSTALL_TIMEOUT)
    run(["bash", "binder/postBuild"], repository, environment, 60)
    return repository, venv, environment


def test_binder_venv_has_melange_lab_installed_from_the_copy_not_this_checkout(
    binder_build: tuple[Path, Path, dict[str, str]],
) -> None:
    repository, venv, environment = binder_build
    where = run(
        [str(venv / "bin" / "python"), "-c", "import melange_lab; print(melange_lab.__file__)"],
        repository / "notebooks",
        environment,
        60,
    )
    assert Path(where.strip()).is_relative_to(venv), where
    assert (venv / "bin" / "jupyter-lab").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def bare_link_redirect(jupyter: Path, app: str, environment: dict[str, str], cwd: Path) -> str:
    """Starts ``jupyter APP`` as Binder would (its own HOME, so postBuild's config), asks for
    the server's root (what a Binder link without a path opens) and returns where it sends the
    browser."""
    port, token = free_port(), "binder-test-token"
    server = subprocess.Popen(
        [
            str(jupyter), app, "--no-browser", "--allow-root", f"--port={port}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}",
        ],
        cwd=cwd,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                opener.open(f"http://127.0.0.1:{port}/?token={token}", timeout=5)
            except urllib.error.HTTPError as answer:
                if answer.code in (301, 302, 303, 307):
                    return urllib.parse.urlsplit(answer.headers["Location"]).path
                raise
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"jupyter {app} did not start") from None
                time.sleep(0.5)
                continue
            raise AssertionError(f"jupyter {app} answered / without a redirect")
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.parametrize(
    ("app", "page"),
    [("lab", "/lab/tree/notebooks/{first}"), ("notebook", "/notebooks/notebooks/{first}")],
)
def test_a_bare_binder_link_opens_the_first_tutorial(
    binder_build: tuple[Path, Path, dict[str, str]], app: str, page: str
) -> None:
    """JupyterLab and Notebook (repo2docker starts one of them) each put their own start page
    over ServerApp.default_url; postBuild's config names the first tutorial for both."""
    repository, venv, environment = binder_build
    expected = page.format(first=first_tutorial())
    assert bare_link_redirect(venv / "bin" / "jupyter", app, environment, repository) == expected


def test_every_notebook_runs_in_the_binder_environment(
    binder_build: tuple[Path, Path, dict[str, str]],
) -> None:
    repository, venv, environment = binder_build
    notebooks = sorted((repository / "notebooks").glob("*.ipynb")) + sorted(
        (repository / "notebooks").glob("exercises/*.ipynb")
    )
    assert notebooks
    run(
        [str(venv / "bin" / "python"), "-c", EXECUTE_NOTEBOOKS, *map(str, notebooks)],
        repository,
        environment,
        300 * len(notebooks),
    )


def test_repo2docker_reads_the_binder_configuration_as_we_do() -> None:
    # jupyter-repo2docker is a dev dependency; --no-build needs no docker engine.
    beside_python = Path(sys.executable).parent / "repo2docker"
    repo2docker = str(beside_python) if beside_python.exists() else shutil.which("repo2docker")
    assert repo2docker is not None, "repo2docker missing: pip install -e '.[dev]'"
    result = subprocess.run(
        [repo2docker, "--no-build", "--no-run", "--debug", str(REPOSITORY)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    dockerfile = result.stdout + result.stderr
    assert result.returncode == 0, dockerfile[-3000:]
    assert f"python={runtime_python()}" in dockerfile
    assert '-r "binder/requirements.txt"' in dockerfile
    assert "./binder/postBuild" in dockerfile
