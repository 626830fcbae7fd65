"""The venv the JupyterLite build runs in, apart from the lab's own.

``jupyterlite-pyodide-kernel`` installs a JupyterLab extension meant only for the Lite site: in
the JupyterLab of the same venv it fails to load ("Shared module @jupyterlite/services doesn't
exist") and every page logs that error. So the build tools (the ``lite`` extra) live in a venv
of their own, ``.cache/lite-venv`` in the repository, made once (uv when it is there, else venv
and pip) and made again when ``pyproject.toml`` changes. ``make lite`` and the Lite tests both
run the build with its Python.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
VENV = REPOSITORY / ".cache" / "lite-venv"


def _stamp() -> str:
    return hashlib.sha256((REPOSITORY / "pyproject.toml").read_bytes()).hexdigest()[:16]


def _uv() -> str | None:
    beside = Path(sys.executable).with_name("uv")
    return shutil.which("uv") or (str(beside) if beside.exists() else None)


def ensure() -> Path:
    """The build venv's Python, after making or refreshing the venv if needed."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text() == _stamp():
        return python
    uv = _uv()
    if uv is not None:
        subprocess.run(
            [uv, "venv", "-q", "--seed", "--allow-existing", str(VENV), "--python", sys.executable],
            check=True,
        )
        install = [uv, "pip", "install", "-q", "--python", str(python)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*install, "-e", f"{REPOSITORY}[lite]"], check=True, cwd=REPOSITORY)
    stamp.write_text(_stamp())
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description="Make the JupyterLite build's own venv.")
    parser.parse_args()
    print(ensure())


if __name__ == "__main__":
    main()
