"""Python bytecode for the wheels the site serves, compiled when the site is built.

A wheel from PyPI holds source only, and so does the standard library in the ``pyodide`` npm
package (``python_stdlib.zip``): a tab would compile every module it imports, which is most of
the time a cold import of boto3, moto or IPython takes in Pyodide. The build compiles them once
with the site's own Pyodide (its Python, run by Node): a wheel gets
``__pycache__/*.cpython-314.pyc`` beside each module, the standard library's zip ``X.pyc``
beside each ``X.py`` (where zipimport looks). They are "unchecked hash" pycs (PEP 552): Python
uses them without comparing them with the source, which stays as it was (tracebacks show it),
and whose timestamps an unpacked wheel does not keep.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lite import LiteBuildError
from lite.wheels import write_wheel

#: runs in Pyodide: for each wheel in /wheels, a zip of the bytecode of its modules in /pycs;
#: for the standard library's zip, the same zip with the bytecode added
_COMPILE = r"""
import importlib.util, os, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

def bytecode(archive, member):
    source = archive.read(member)
    try:
        code = compile(source, member, "exec", dont_inherit=True)
    except SyntaxError:  # a module for another Python, which is never imported here
        return None
    return _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)

for name in sorted(os.listdir("/wheels")):
    with zipfile.ZipFile(f"/wheels/{name}") as wheel, zipfile.ZipFile(
        f"/pycs/{name}.pycs", "w"
    ) as pycs:
        for member in wheel.namelist():
            top = member.split("/")[0]
            if member.endswith(".py") and not top.endswith((".dist-info", ".data")):
                pyc = bytecode(wheel, member)
                if pyc is not None:
                    folder, _, module = member.rpartition("/")
                    cached = f"__pycache__/{module[:-3]}.{sys.implementation.cache_tag}.pyc"
                    pycs.writestr(f"{folder}/{cached}" if folder else cached, pyc)

if os.path.exists("/wheels/python_stdlib.zip"):
    with zipfile.ZipFile("/wheels/python_stdlib.zip") as stdlib, zipfile.ZipFile(
        "/pycs/python_stdlib.zip", "w", zipfile.ZIP_DEFLATED
    ) as compiled:
        for name in stdlib.namelist():
            compiled.writestr(name, stdlib.read(name))
            pyc = bytecode(stdlib, name) if name.endswith(".py") else None
            if pyc is not None:
                compiled.writestr(name + "c", pyc)
"""

_RUNNER = """
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { loadPyodide } from %(pyodide)s;
const pyodide = await loadPyodide({ indexURL: %(index)s });
// copied in and out: Pyodide's zipfile misreads a zip through a NODEFS mount
const [sources, results] = [%(wheels)s, %(pycs)s];
pyodide.FS.mkdirTree("/wheels");
pyodide.FS.mkdirTree("/pycs");
for (const name of readdirSync(sources)) {
  pyodide.FS.writeFile(`/wheels/${name}`, readFileSync(`${sources}/${name}`));
}
try {
  pyodide.runPython(%(script)s);
  for (const name of pyodide.FS.readdir("/pycs").filter((name) => !name.startsWith("."))) {
    writeFileSync(`${results}/${name}`, pyodide.FS.readFile(`/pycs/${name}`));
  }
} catch (error) {
  // node would print the minified line it was thrown from, and may lose the message
  process.stdout.write(String(error.message));
  process.exitCode = 1;
}
"""


def compiled_wheels(pyodide: Path, wheels: list[Path], cache: Path) -> list[Path]:
    """Copies of ``wheels`` with their modules' bytecode added; each is cached by the digest
    of the wheel, this module and Pyodide's version, so a build compiles only what changed."""
    compiled = {wheel: _cached(pyodide, wheel, cache) for wheel in wheels}
    missing = [wheel for wheel, target in compiled.items() if not target.exists()]
    if missing:
        with _compiled_in_pyodide(pyodide, missing) as pycs:
            for wheel in missing:
                _publish(compiled[wheel], functools.partial(_add_bytecode, wheel, pycs))
    return [compiled[wheel] for wheel in wheels]


def compiled_stdlib(pyodide: Path, cache: Path) -> Path:
    """Pyodide's standard library zip with the bytecode of its modules beside them (cached)."""
    stdlib = pyodide / "python_stdlib.zip"
    target = _cached(pyodide, stdlib, cache)
    if not target.exists():
        with _compiled_in_pyodide(pyodide, [stdlib]) as pycs:
            _publish(target, lambda staging: shutil.copy2(pycs / stdlib.name, staging))
    return target


def _cached(pyodide: Path, path: Path, cache: Path) -> Path:
    digest = hashlib.sha256(Path(__file__).read_bytes() + pyodide.name.encode())
    digest.update(path.read_bytes())
    return cache / "compiled" / digest.hexdigest()[:24] / path.name


def _publish(target: Path, write: Callable[[Path], object]) -> None:
    """Writes ``target`` through a temporary name, so a cache never holds half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial")
    write(staging)
    staging.rename(target)


@contextmanager
def _compiled_in_pyodide(pyodide: Path, files: list[Path]) -> Iterator[Path]:
    """Runs ``_COMPILE`` on ``files`` in Pyodide; yields the folder of its results."""
    with tempfile.TemporaryDirectory(prefix="melange-lite-pyc-") as folder:
        sources, pycs = Path(folder) / "wheels", Path(folder) / "pycs"
        sources.mkdir()
        pycs.mkdir()
        for path in files:
            shutil.copy2(path, sources / path.name)
        _run_in_pyodide(pyodide, sources, pycs)
        yield pycs


def _run_in_pyodide(pyodide: Path, wheels: Path, pycs: Path) -> None:
    runner = _RUNNER % {
        "pyodide": json.dumps((pyodide / "pyodide.mjs").as_uri()),
        "index": json.dumps(f"{pyodide}/"),
        "wheels": json.dumps(str(wheels)),
        "pycs": json.dumps(str(pycs)),
        "script": json.dumps(_COMPILE),
    }
    script = wheels.parent / "compile.mjs"
    script.write_text(runner)
    try:
        subprocess.run(["node", str(script)], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise LiteBuildError("node is not installed; the build needs it (with npm).") from None
    except subprocess.CalledProcessError as error:
        raise LiteBuildError(
            f"Compiling the bytecode in Pyodide failed:\n{error.stdout[-3000:]}"
            f"{error.stderr[-1000:]}"
        ) from None


def _add_bytecode(wheel: Path, pycs: Path, target: Path) -> None:
    with (
        zipfile.ZipFile(wheel) as archive,
        zipfile.ZipFile(pycs / f"{wheel.name}.pycs") as compiled,
    ):
        members = {
            name: archive.read(name)
            for name in archive.namelist()
            if not name.endswith(".dist-info/RECORD")
        }
        record = next(name for name in archive.namelist() if name.endswith(".dist-info/RECORD"))
        members.update({name: compiled.read(name) for name in compiled.namelist()})
    write_wheel(target, members, record)
