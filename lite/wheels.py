"""Wheels for Pyodide: what one holds (name, version, imports, requirements) and how a wheel
with optional C speedups is made pure.

Pyodide runs pure Python wheels as they are; a wheel whose compiled module is only a speedup
(markupsafe, pyyaml) works once that module is removed, because the package falls back to
its Python code when the import fails.
"""

from __future__ import annotations

import base64
import csv
import email.parser
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: The environment markers of Pyodide's Python (PEP 508), for choosing a wheel's requirements.
PYODIDE_MARKERS: dict[str, str] = {
    "implementation_name": "cpython",
    "implementation_version": "3.14.2",
    "os_name": "posix",
    "platform_machine": "wasm32",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Emscripten",
    "platform_version": "",
    "python_full_version": "3.14.2",
    "python_version": "3.14",
    "sys_platform": "emscripten",
}

_COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".c", ".pyx", ".pxd")
_PURE_WHEEL = (
    b"Wheel-Version: 1.0\nGenerator: melange-lab lite\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
)


@dataclass(frozen=True)
class WheelInfo:
    """What the Pyodide lock file needs to know about one wheel."""

    path: Path
    name: str  # canonical (PEP 503) name
    version: str
    requires: tuple[Requirement, ...]
    imports: tuple[str, ...]
    sha256: str

    def dependencies(self, extras: frozenset[str]) -> list[Requirement]:
        """The requirements that apply in Pyodide when the wheel is installed with ``extras``."""
        chosen = []
        for requirement in self.requires:
            marker = requirement.marker
            if marker is None or _marker_applies(marker, extras):
                chosen.append(requirement)
        return chosen


def _marker_applies(marker: Marker, extras: frozenset[str]) -> bool:
    environments = [{**PYODIDE_MARKERS, "extra": extra} for extra in sorted(extras) or [""]]
    return any(marker.evaluate(environment) for environment in environments)


def read_wheel(path: Path) -> WheelInfo:
    """Reads a wheel's metadata and top-level import names."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        info_dir = next(name.split("/")[0] for name in names if ".dist-info/" in name)
        metadata = email.parser.Parser().parsestr(
            archive.read(f"{info_dir}/METADATA").decode("utf-8")
        )
        top_level = f"{info_dir}/top_level.txt"
        if top_level in names:
            imports = archive.read(top_level).decode("utf-8").split()
        else:
            imports = sorted({_import_name(name) for name in names} - {""})
    return WheelInfo(
        path=path,
        name=canonicalize_name(metadata["Name"]),
        version=metadata["Version"],
        requires=tuple(Requirement(text) for text in metadata.get_all("Requires-Dist") or []),
        imports=tuple(imports),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def _import_name(member: str) -> str:
    """The top-level module a wheel member belongs to, or "" for metadata and data files."""
    first = member.split("/")[0]
    if first.endswith((".dist-info", ".data")) or first.startswith("_"):
        return ""
    if "/" in member:
        return first
    return first[: -len(".py")] if first.endswith(".py") else ""


def make_pure(wheel: Path, target_dir: Path) -> Path:
    """Writes a ``py3-none-any`` copy of ``wheel`` without its compiled modules (and their C
    sources) into ``target_dir``; returns its path."""
    with zipfile.ZipFile(wheel) as source:
        members = {
            name: source.read(name)
            for name in source.namelist()
            if not name.endswith(_COMPILED_SUFFIXES) and not name.endswith(".dist-info/RECORD")
        }
    info_dir = next(name.split("/")[0] for name in members if ".dist-info/" in name)
    distribution, version = info_dir[: -len(".dist-info")].rsplit("-", 1)
    members[f"{info_dir}/WHEEL"] = _PURE_WHEEL
    target = target_dir / f"{distribution}-{version}-py3-none-any.whl"
    write_wheel(target, members, f"{info_dir}/RECORD")
    return target


def write_wheel(target: Path, members: dict[str, bytes], record_name: str) -> None:
    """Writes a wheel archive with ``members`` and a RECORD of their hashes."""
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={digest}", len(data)])
    writer.writerow([record_name, "", ""])
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in [*sorted(members.items()), (record_name, record.getvalue().encode())]:
            info = zipfile.ZipInfo(name, date_time=(2020, 2, 2, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def pack_directory(
    source: Path, name: str, version: str, target_dir: Path, summary: str = ""
) -> Path:
    """Packs the Python packages under ``source`` into a pure wheel ``name``-``version``."""
    distribution = name.replace("-", "_")
    info_dir = f"{distribution}-{version}.dist-info"
    members = {
        path.relative_to(source).as_posix(): path.read_bytes()
        for path in sorted(source.rglob("*.py"))
    }
    members[f"{info_dir}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"
    ).encode()
    members[f"{info_dir}/WHEEL"] = _PURE_WHEEL
    target = target_dir / f"{distribution}-{version}-py3-none-any.whl"
    write_wheel(target, members, f"{info_dir}/RECORD")
    return target
