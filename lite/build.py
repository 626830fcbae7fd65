"""Builds the JupyterLite site: the tutorials and the exercises' student versions, a Pyodide
kernel, and melange-lab with every file it needs served from the site itself.

    python -m lite [--output DIR] [--cache DIR] [--extra-wheel WHEEL ...]

Every wheel comes from the package index (pure Python, or a compiled wheel whose compiled part
is an optional speedup, left out), the Pyodide kernel's own wheels and this repository; for
``cryptography``, which has no WebAssembly wheel on PyPI, the site serves melange-lab's
pure-Python subset of it (``lite/pure_cryptography``). Downloads are cached in
``~/.cache/melange-lab/lite`` (``--cache``; delete it to start afresh); the site goes to
``lite/_build/site``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from lite import LiteBuildError
from lite.bytecode import compiled_stdlib, compiled_wheels
from lite.notebooks import add_install_cell
from lite.pyodide_lock import rewrite_lock
from lite.trim import TRIMMED
from lite.wheels import WheelInfo, make_pure, pack_directory, read_wheel

LITE_DIR = Path(__file__).resolve().parent
REPOSITORY = LITE_DIR.parent
REQUIREMENTS = LITE_DIR / "requirements.txt"
SITE_CONFIG = LITE_DIR / "jupyter-lite.json"
DEFAULT_OUTPUT = LITE_DIR / "_build" / "site"
#: downloads outlive the work tree (a CI run's fresh clone reuses them)
DEFAULT_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "melange-lab" / "lite"
)

#: the Pyodide that jupyterlite-pyodide-kernel 0.8.6 was made for
PYODIDE_VERSION = "314.0.6"
#: the platform whose compiled wheels the speedup-only packages are taken from
SPEEDUPS_PLATFORM = "manylinux_2_17_x86_64"
PURE_CRYPTOGRAPHY = LITE_DIR / "pure_cryptography"
#: what melange-lab's wheel is built from
PACKAGE_FILES = ("pyproject.toml", "setup.py", "README.md")
PACKAGE_FOLDERS = ("melange_lab", "notebooks")
#: packages whose wheels on PyPI are compiled, but whose compiled part is an optional speedup:
#: their compiled wheel for any platform, without it, is the pure package
SPEEDUPS_ONLY = frozenset({"markupsafe", "pyyaml"})


@dataclass
class BuildOptions:
    output: Path = DEFAULT_OUTPUT
    cache: Path = DEFAULT_CACHE
    extra_wheels: list[Path] = field(default_factory=list)


def build(options: BuildOptions) -> Path:
    """Builds the site into ``options.output`` and returns that folder."""
    cache = options.cache
    cache.mkdir(parents=True, exist_ok=True)
    pyodide = fetch_pyodide(cache)
    wheels = [
        *download_wheels(cache),
        build_melange_lab(cache),
        pure_cryptography_wheel(cache),
        *kernel_wheels(),
        *options.extra_wheels,
    ]
    _log(f"compiling the bytecode of {len(wheels)} wheels in Pyodide (cached)")
    wheels = compiled_wheels(pyodide, wheels, cache)
    infos = _unique([read_wheel(path) for path in wheels])
    npm_lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    lock = rewrite_lock(npm_lock, infos)
    _log(f"{len(infos)} wheels; staging the notebooks and running jupyter lite build")
    with tempfile.TemporaryDirectory(prefix="melange-lite-") as staging:
        contents = Path(staging) / "contents"
        stage_notebooks(contents)
        run_jupyter_lite(contents, options.output)
    _configure_site(options.output / "jupyter-lite.json")
    install_pyodide(pyodide, compiled_stdlib(pyodide, cache), infos, lock, options.output)
    _log("Pyodide and the wheels installed in static/pyodide/")
    return options.output


# -- Pyodide ---------------------------------------------------------------------------------


def fetch_pyodide(cache: Path) -> Path:
    """Pyodide's core (wasm, standard library, lock file) from the ``pyodide`` npm package."""
    target = cache / f"pyodide-{PYODIDE_VERSION}"
    if (target / "pyodide.mjs").exists():
        return target
    with tempfile.TemporaryDirectory() as download:
        _run(["npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--silent"], cwd=Path(download))
        archive = Path(download) / f"pyodide-{PYODIDE_VERSION}.tgz"
        unpacked = Path(download) / "unpacked"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        shutil.copytree(unpacked / "package", target)
    return target


def install_pyodide(
    pyodide: Path, stdlib: Path, wheels: list[WheelInfo], lock: dict[str, Any], output: Path
) -> None:
    """Copies Pyodide's core, ``stdlib`` (its standard library, compiled) and the wheels into
    ``static/pyodide/``, with ``lock`` (the rewritten lock file) beside them."""
    target = output / "static" / "pyodide"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm"):
        shutil.copy2(pyodide / name, target / name)
    shutil.copy2(stdlib, target / "python_stdlib.zip")
    for wheel in wheels:
        shutil.copy2(wheel.path, target / wheel.path.name)
    (target / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))


def _configure_site(config_path: Path) -> None:
    """Merges ``lite/jupyter-lite.json`` into the site's configuration: the site's name, and
    the Pyodide kernel pointed at the site's own Pyodide with no fallback to PyPI.

    Done after ``jupyter lite build``, whose piplite step rewrites the kernel's settings.
    """
    config = json.loads(config_path.read_text())
    ours = json.loads(SITE_CONFIG.read_text())["jupyter-config-data"]
    data = config["jupyter-config-data"]
    plugins = data.setdefault("litePluginSettings", {})
    for plugin, settings in ours.pop("litePluginSettings", {}).items():
        plugins.setdefault(plugin, {}).update(settings)
    data.update(ours)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True))


# -- wheels ----------------------------------------------------------------------------------


def download_wheels(cache: Path) -> list[Path]:
    """The pinned wheels of ``lite/requirements.txt``, as the site serves them (cached):
    botocore, moto and jedi trimmed (``lite/trim.py``), the speedup-only packages without
    their compiled part. Nothing is compiled."""
    pins = [
        line.strip()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    downloads = _download(cache, pins)
    stamp = hashlib.sha256("\n".join([downloads.name, _code_stamp()]).encode()).hexdigest()
    target = cache / f"served-{stamp[:16]}"
    if (target / ".complete").exists():
        return sorted(target.glob("*.whl"))
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for wheel in sorted(downloads.glob("*.whl")):
        name = canonicalize_name(wheel.name.split("-")[0])
        if name in SPEEDUPS_ONLY:
            make_pure(wheel, target)
        elif name in TRIMMED:
            TRIMMED[name](wheel, target)
        else:
            shutil.copy2(wheel, target / wheel.name)
    (target / ".complete").touch()
    return sorted(target.glob("*.whl"))


def _download(cache: Path, pins: list[str]) -> Path:
    """The pinned wheels as the package index has them: pure ones, and the compiled wheels of
    the speedup-only packages."""
    target = cache / f"wheels-{hashlib.sha256(chr(10).join(pins).encode()).hexdigest()[:16]}"
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    speedups = sorted(p for p in pins if canonicalize_name(p.split("==")[0]) in SPEEDUPS_ONLY)
    _pip(
        "download", "--no-deps", "--only-binary=:all:", "--platform", "any",
        "--python-version", "3.14", "--implementation", "py", "--abi", "none",
        "--dest", str(target), *(pin for pin in pins if pin not in speedups),
    )  # fmt: skip
    if speedups:
        _pip(
            "download", "--no-deps", "--only-binary=:all:", "--platform", SPEEDUPS_PLATFORM,
            "--python-version", "3.14", "--implementation", "cp", "--abi", "cp314",
            "--dest", str(target), *speedups,
        )  # fmt: skip
    (target / ".complete").touch()
    return target


def _code_stamp() -> str:
    """What the served wheels depend on besides the downloads: the code that makes them."""
    return hashlib.sha256(
        b"".join((LITE_DIR / name).read_bytes() for name in ("trim.py", "wheels.py"))
    ).hexdigest()


def build_melange_lab(cache: Path) -> Path:
    """melange-lab's wheel, built from a clean copy of this repository's sources (an in-tree
    build would reuse whatever an earlier build left in ``build/``)."""
    target = cache / "melange-lab"
    if target.exists():
        shutil.rmtree(target)
    with tempfile.TemporaryDirectory(prefix="melange-lab-source-") as folder:
        source = Path(folder)
        for name in PACKAGE_FILES:
            shutil.copy2(REPOSITORY / name, source / name)
        for name in PACKAGE_FOLDERS:
            shutil.copytree(
                REPOSITORY / name,
                source / name,
                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
            )
        _pip(
            "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(target), str(source)
        )  # fmt: skip
    (wheel,) = target.glob("melange_lab-*.whl")
    return wheel


def pure_cryptography_wheel(cache: Path) -> Path:
    """melange-lab's pure-Python subset of ``cryptography``, as a wheel named ``cryptography``
    (moto requires it by that name)."""
    init = (PURE_CRYPTOGRAPHY / "cryptography" / "__init__.py").read_text()
    (version,) = re.findall(r'^__version__ = "([^"]+)"', init, re.MULTILINE)
    target = cache / "pure-cryptography"
    if target.exists():
        shutil.rmtree(target)
    return pack_directory(
        PURE_CRYPTOGRAPHY,
        "cryptography",
        version,
        target,
        summary="melange-lab's pure-Python subset of cryptography, for Pyodide: RSA PKCS #1 "
        "v1.5 signatures and X.509 certificates, as moto's SNS uses them",
    )


def kernel_wheels() -> list[Path]:
    """The Pyodide kernel's own wheels (piplite, the kernel, its stand-ins for ipykernel and
    widgetsnbextension), served beside the others so the kernel loads them with the lab's."""
    pypi = (
        Path(sys.prefix)
        / "share/jupyter/labextensions/@jupyterlite/pyodide-kernel-extension/static/pypi"
    )
    wheels = sorted(pypi.glob("*.whl"))
    if not wheels:
        raise LiteBuildError(
            f"The Pyodide kernel's wheels are not in {pypi}; install the lite extra "
            "(pip install -e '.[lite]') in the interpreter that runs the build."
        )
    return wheels


def _unique(wheels: list[WheelInfo]) -> list[WheelInfo]:
    """One wheel per package: the newest version (the shims carry several)."""
    chosen: dict[str, WheelInfo] = {}
    for wheel in wheels:
        current = chosen.get(wheel.name)
        if current is None or Version(wheel.version) > Version(current.version):
            chosen[wheel.name] = wheel
    return sorted(chosen.values(), key=lambda wheel: wheel.name)


# -- the site --------------------------------------------------------------------------------


def stage_notebooks(contents: Path) -> None:
    """The tutorials and the exercises' student versions, as a learner gets them."""
    from melange_lab.tutorials import copy_tutorials

    report = copy_tutorials(contents)
    if not any(path.parent == contents for path in report.copied):
        raise LiteBuildError(f"No tutorial was copied into {contents}.")
    for notebook in report.copied:
        add_install_cell(notebook)  # the tutorials have it; the exercises' student versions not


def run_jupyter_lite(contents: Path, output: Path) -> None:
    """``jupyter lite build`` with this folder's configuration."""
    if output.exists():
        shutil.rmtree(output)
    _run(
        [
            sys.executable, "-m", "jupyter", "lite", "build",
            "--lite-dir", str(LITE_DIR),
            "--contents", str(contents),
            "--output-dir", str(output),
            "--no-sourcemaps",
        ],
        cwd=LITE_DIR,
    )  # fmt: skip


# -- running tools ---------------------------------------------------------------------------


def _log(text: str) -> None:
    print(f"lite: {text}", flush=True)


def _pip(*args: str, env: dict[str, str] | None = None) -> None:
    _run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], env=env)


def _run(
    command: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    try:
        subprocess.run(command, cwd=cwd, check=True, env={**os.environ, **(env or {})})
    except FileNotFoundError:
        raise LiteBuildError(f"{command[0]} is not installed; the build needs it.") from None
    except subprocess.CalledProcessError as error:
        raise LiteBuildError(
            f"{' '.join(command[:4])} ... failed (exit {error.returncode}); see its output above."
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lite", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the site's folder")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the download cache")
    parser.add_argument(
        "--extra-wheel",
        type=Path,
        action="append",
        default=[],
        help="a wheel for Pyodide to serve too (repeatable)",
    )
    arguments = parser.parse_args(argv)
    options = BuildOptions(
        output=arguments.output.resolve(),
        cache=arguments.cache.resolve(),
        extra_wheels=[path.resolve() for path in arguments.extra_wheel],
    )
    try:
        site = build(options)
    except LiteBuildError as error:
        print(f"lite: {error}", file=sys.stderr)
        return 1
    print(f"lite: the site is in {site}; serve it with: python -m http.server -d {site}")
    return 0
