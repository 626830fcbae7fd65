"""Trimmed copies of the two largest wheels the kernel loads, so a cold tab fetches, unpacks
and imports only what the lab runs.

- botocore keeps its code and its shared data (endpoints, partitions, defaults), and the
  service models of only the services the lab calls (``SERVICES``); a client for another
  service raises botocore's own ``UnknownServiceError``, which lists the services it has.
- moto keeps the packages the lab's services load: moto's core, the SNS and SQS models, and
  ``moto.iam`` (moto's request handling imports it on every request), with every package they
  import when they load, found by reading their imports (``ast``), relative ones included.
  ``moto.iam.aws_managed_policies`` (5 MB of policy text, read only when
  ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set) is kept as an empty set of policies.
- jedi (the kernel's completion) keeps typeshed's stubs of the standard library and leaves
  out its stubs of third-party packages (4,000 files for pywin32, tensorflow and the like).

The build refuses a trimmed moto whose kept modules import, when they load, a package it
left out.
"""

from __future__ import annotations

import ast
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from lite import LiteBuildError
from lite.wheels import write_wheel

#: the AWS services the lab calls through boto3
SERVICES = frozenset({"sns", "sqs"})
#: moto's packages the lab starts from ("" is moto's top-level modules); what they import when
#: they load comes too
MOTO_ENTRY_PACKAGES = frozenset({"", "core", "moto_api", "utilities", "sns", "sqs", "iam"})
#: moto's top-level modules that start servers, which a browser tab cannot run
MOTO_SERVER_MODULES = frozenset({"moto/server.py", "moto/proxy.py"})
#: data modules replaced by an empty value (what moto uses when its setting is off)
MOTO_EMPTY_DATA = {
    "moto/iam/aws_managed_policies.py": b'aws_managed_policies_data = "{}"\n',
}
#: the version label trimmed wheels carry, so a site never passes one off as the original
TRIM_LABEL = "lite"


def trim_botocore(wheel: Path, target_dir: Path) -> Path:
    """A copy of botocore's wheel with the data of ``SERVICES`` only."""

    def keep(name: str) -> bool:
        parts = PurePosixPath(name).parts
        if len(parts) > 3 and parts[:2] == ("botocore", "data"):
            return parts[2] in SERVICES and not parts[-1].startswith("examples-")
        return True

    return _rewrite(wheel, target_dir, keep, {})


def trim_jedi(wheel: Path, target_dir: Path) -> Path:
    """A copy of jedi's wheel without typeshed's stubs of third-party packages."""
    return _rewrite(wheel, target_dir, lambda name: "/typeshed/stubs/" not in name, {})


def trim_moto(wheel: Path, target_dir: Path) -> Path:
    """A copy of moto's wheel with the packages the lab's services load only."""
    with zipfile.ZipFile(wheel) as archive:
        sources = {
            name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("moto/") and name.endswith(".py")
        }
    packages = moto_packages(sources)

    def keep(name: str) -> bool:
        parts = PurePosixPath(name).parts
        if parts[0] != "moto":
            return True  # the wheel's metadata
        if len(parts) == 2:
            return name not in MOTO_SERVER_MODULES
        return parts[1] in packages

    return _rewrite(wheel, target_dir, keep, MOTO_EMPTY_DATA)


def moto_packages(sources: dict[str, bytes]) -> frozenset[str]:
    """moto's packages (``moto/X/``) reached from ``MOTO_ENTRY_PACKAGES`` by the imports their
    modules run when they load (not those inside functions or under ``TYPE_CHECKING``)."""
    imports: dict[str, set[str]] = {}
    for name, source in sources.items():
        if name in MOTO_EMPTY_DATA or name in MOTO_SERVER_MODULES:
            continue
        package = _package_of(name)
        imports.setdefault(package, set()).update(_moto_imports_on_load(name, source))
    missing = sorted(MOTO_ENTRY_PACKAGES - set(imports))
    if missing:
        raise LiteBuildError(f"moto's wheel has no package {', '.join(missing)}")
    reached, pending = set(MOTO_ENTRY_PACKAGES), list(MOTO_ENTRY_PACKAGES)
    while pending:
        for package in imports.get(pending.pop(), ()):
            if package not in reached:
                reached.add(package)
                pending.append(package)
    return frozenset(reached & set(imports))  # "from moto import settings" names a module


def _package_of(name: str) -> str:
    """``X`` for ``moto/X/...``; ``""`` for moto's top-level modules."""
    parts = PurePosixPath(name).parts
    return parts[1] if len(parts) > 2 else ""


def _moto_imports_on_load(name: str, source: bytes) -> set[str]:
    """The moto packages the module ``name`` imports when it loads."""
    module_parts = list(PurePosixPath(name).with_suffix("").parts)
    if module_parts[-1] == "__init__":
        module_parts.pop()
    package_parts = module_parts if name.endswith("__init__.py") else module_parts[:-1]
    found: set[str] = set()

    def add(dotted: str) -> None:
        parts = dotted.split(".")
        if parts[0] == "moto" and len(parts) > 1:
            found.add(parts[1])

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit_all(child.orelse)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name)
            elif isinstance(child, ast.ImportFrom):
                base = package_parts[: len(package_parts) - child.level + 1] if child.level else []
                module = ".".join([*base, *(child.module or "").split(".")]).strip(".")
                add(module)
                if child.module is None or module == "moto":  # from moto import sqs, settings
                    for alias in child.names:
                        add(f"{module}.{alias.name}")
            visit(child)

    def visit_all(nodes: list[ast.stmt]) -> None:
        for statement in nodes:
            visit(ast.Module(body=[statement], type_ignores=[]))

    visit(ast.parse(source, filename=name))
    return found


def _rewrite(
    wheel: Path,
    target_dir: Path,
    keep: Callable[[str], bool],
    replacements: dict[str, bytes],
) -> Path:
    """Writes a copy of ``wheel`` with the members ``keep`` accepts (some replaced), its
    version labelled ``+lite``, into ``target_dir``."""
    with zipfile.ZipFile(wheel) as archive:
        members = {
            name: replacements.get(name, archive.read(name))
            for name in archive.namelist()
            if keep(name) and not name.endswith(".dist-info/RECORD")
        }
    info_dir = next(name.split("/")[0] for name in members if ".dist-info/" in name)
    distribution, version = info_dir[: -len(".dist-info")].rsplit("-", 1)
    labelled = f"{version}+{TRIM_LABEL}"
    renamed_info = f"{distribution}-{labelled}.dist-info"
    renamed: dict[str, bytes] = {}
    for name, data in members.items():
        if name.startswith(f"{info_dir}/"):
            name = renamed_info + name[len(info_dir) :]
            if name.endswith("/METADATA"):
                data = data.replace(
                    f"\nVersion: {version}\n".encode(), f"\nVersion: {labelled}\n".encode(), 1
                )
        renamed[name] = data
    target = target_dir / f"{distribution}-{labelled}-py3-none-any.whl"
    write_wheel(target, renamed, f"{renamed_info}/RECORD")
    return target


#: the trimming of each trimmed wheel, by canonical name
TRIMMED: dict[str, Callable[[Path, Path], Path]] = {
    "botocore": trim_botocore,
    "jedi": trim_jedi,
    "moto": trim_moto,
}
