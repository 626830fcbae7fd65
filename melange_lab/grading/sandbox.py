"""A bubblewrap sandbox for one submission: what the student's code can see, reach and use.

Inside: the system and this Python installation read-only; the ``melange_lab`` package only
(not the folder around it); a private, size-limited writable home holding a copy of the one
submission; a fresh ``/proc`` showing only the sandbox's own processes; no network; a minimal
environment. The teacher's files, other submissions, ``--source`` and the output folder are
simply not there. The sandbox is its own process session and PID namespace: when the runner
ends, or the grader kills it at the time limit, every process inside ends too.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import melange_lab
from melange_lab.errors import SandboxUnavailable

HOME = "/home/student"
WORK = f"{HOME}/work"
SUBMITTED = "/submitted"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd")


@dataclass(frozen=True)
class Limits:
    """What one notebook may use; the defaults suit the exercises with a wide margin."""

    memory_bytes: int = 4 * 1024**3
    file_bytes: int = 64 * 1024**2
    home_bytes: int = 256 * 1024**2
    output_chars: int = 64 * 1024
    result_bytes: int = 4 * 1024**2


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _python_dirs() -> list[str]:
    """The folders this interpreter needs: its installation and the environment's packages."""
    dirs = {str(Path(sys.base_prefix).resolve())}
    if sys.prefix != sys.base_prefix:
        for part in ("lib", "lib64", "bin"):
            dirs.add(str(Path(sys.prefix) / part))
    return sorted(path for path in dirs if os.path.exists(path))


def _ro_binds(paths: list[str]) -> list[str]:
    args: list[str] = []
    for path in paths:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def python_executable() -> str:
    """The interpreter path as the environment knows it (a venv's ``bin/python``)."""
    return sys.executable


def sandbox_command(bwrap: str, submitted: Path, limits: Limits) -> list[str]:
    """The bwrap command line that runs the runner on a copy of ``submitted``."""
    venv_config = Path(sys.prefix) / "pyvenv.cfg"
    command = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        # the empty folders first, the binds on top: an installation under /tmp or a home
        # folder (a CI checkout, a venv) stays visible instead of hidden by the tmpfs
        "--size",
        str(limits.home_bytes),
        "--tmpfs",
        "/tmp",
        "--size",
        str(limits.home_bytes),
        "--tmpfs",
        HOME,
        *_ro_binds(list(SYSTEM_DIRS) + list(SYSTEM_FILES)),
        *_ro_binds(_python_dirs()),
        *(["--ro-bind", str(venv_config), str(venv_config)] if venv_config.exists() else []),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--ro-bind",
        str(submitted),
        SUBMITTED,
        "--ro-bind",
        str(Path(melange_lab.__file__).resolve().parent),
        f"{PACKAGE_PARENT}/melange_lab",
        "--chdir",
        "/",
        "--clearenv",
        *_env_args(),
        "--",
        python_executable(),
        "-I",
        "-c",
        _boot(PACKAGE_PARENT, WORK, SUBMITTED),
    ]
    return command


def _env_args() -> list[str]:
    args: list[str] = []
    for name, value in minimal_environment().items():
        args += ["--setenv", name, value]
    return args


def minimal_environment(home: str = HOME) -> dict[str, str]:
    """The only environment variables a notebook sees: none of the teacher's."""
    return {
        "HOME": home,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "IPYTHONDIR": f"{home}/.ipython",
        "MPLBACKEND": "agg",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


PACKAGE_PARENT = "/opt/melange-lab"  # the package is bound here, whatever the install style


def _boot(package_parent: str | None, work: str, copy_from: str | None) -> str:
    """The runner's first line: the lab is imported before the notebook's folder is on
    ``sys.path``, so a student's ``melange_lab.py`` or ``IPython.py`` shadows nothing."""
    path = f"sys.path.insert(0, {package_parent!r}); " if package_parent else ""
    return (
        f"import sys; {path}from melange_lab.grading.runner import main; "
        f"main(work={work!r}, copy_from={copy_from!r})"
    )


def unsandboxed_command(work: Path) -> list[str]:
    """The runner without a sandbox (``--unsafe-no-sandbox``): limits, but no isolation."""
    return [python_executable(), "-I", "-c", _boot(None, str(work), None)]


def limit_resources(limits: Limits) -> Callable[[], None]:
    """The pre-exec hook that sets the memory and file-size limits of the started process."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def require_sandbox(unsafe: bool) -> str | None:
    """bwrap's path, or None when the teacher explicitly chose to grade without a sandbox."""
    if sys.platform == "emscripten":
        from melange_lab.errors import GradingNeedsATeachersMachine

        raise GradingNeedsATeachersMachine()
    if unsafe:
        return None
    path = bwrap_path()
    if path is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
    return path
