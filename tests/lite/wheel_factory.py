"""Small wheels made on the spot for the build's tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lite.wheels import write_wheel


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    files: dict[str, bytes],
    requires: Sequence[str] = (),
    tag: str = "py3-none-any",
) -> Path:
    """A wheel ``name``-``version`` holding ``files``, with ``requires`` as its requirements."""
    distribution = name.replace("-", "_")
    info = f"{distribution}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {requirement}\n" for requirement in requires
    )
    members = {**files, f"{info}/METADATA": metadata.encode(), f"{info}/WHEEL": b"Tag: x\n"}
    target = folder / f"{distribution}-{version}-{tag}.whl"
    write_wheel(target, members, f"{info}/RECORD")
    return target
