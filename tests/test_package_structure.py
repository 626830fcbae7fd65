"""The package's shape: no import circles, backend modules small enough to read whole, and
every error in ``errors.py``, raised somewhere.

Imports are read with ``ast``, not by importing, so a circle is found even where Python would
tolerate it today (a name bound late, a module ``__getattr__``) and break with the next edit.

What counts as an import of module M, and why:
- every ``import`` / ``from ... import`` that runs when M is imported: at module level, also
  inside a module-level ``if`` or ``try``. Not under ``if TYPE_CHECKING:`` (never runs), and not
  inside a function (it runs when called, after every module has finished importing, so it
  never meets a half-initialised module: the lab defers anywidget and the grading tools so).
- ``import a.b.c`` runs the packages ``a`` and ``a.b`` first, so M depends on their
  ``__init__`` too; except M's own parent packages, which are always already importing when M
  runs (a package ``__init__`` importing its own modules is not a circle).
- ``from a.b import c`` depends on ``a.b.c`` when that is a module, else on ``a.b``.

Inside ``backends/`` even an import inside a function may not close a circle: the circle
``endpoints`` -> ``sqs`` -> ``sqs_backend`` -> ``endpoints`` ran through one (issue #20).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import melange_lab

PACKAGE = Path(melange_lab.__file__).parent
BACKENDS = "melange_lab.backends"
MAX_BACKEND_MODULE_LINES = 560


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def _trees() -> dict[str, ast.Module]:
    """Every module of melange_lab, parsed once for all the tests here."""
    return {name: ast.parse(path.read_text(), filename=str(path)) for name, path in MODULES.items()}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


_DEFERRING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_statements(
    body: list[ast.stmt], deferred_too: bool
) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of a block, descending into module-level ``if``/``try``/``with``
    (and into functions and classes too when ``deferred_too``)."""
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement
        elif isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                yield from _import_statements(statement.body, deferred_too)
            yield from _import_statements(statement.orelse, deferred_too)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from _import_statements(block, deferred_too)
            for handler in statement.handlers:
                yield from _import_statements(handler.body, deferred_too)
        elif isinstance(statement, (ast.With, ast.AsyncWith)) or (
            deferred_too and isinstance(statement, _DEFERRING)
        ):
            yield from _import_statements(statement.body, deferred_too)


def _with_packages(importer: str, target: str) -> set[str]:
    """``target`` and the packages Python runs on the way to it, less the importer's own
    parents; only modules of melange_lab."""
    parts = target.split(".")
    chain = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    own_parents = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 1)}
    return {name for name in chain - own_parents if name in MODULES and name != importer}


def _imports(name: str, deferred_too: bool = False) -> set[str]:
    """The melange_lab modules that importing ``name`` runs (see the module docstring)."""
    tree = _trees()[name]
    package = name if _is_package(name) else name.rpartition(".")[0]
    found: set[str] = set()
    for statement in _import_statements(tree.body, deferred_too):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                found |= _with_packages(name, alias.name)
            continue
        base = statement.module or ""
        if statement.level:
            anchor = package.split(".")[: len(package.split(".")) - statement.level + 1]
            base = ".".join([*anchor, *([base] if base else [])])
        found |= _with_packages(name, base)
        for alias in statement.names:
            found |= _with_packages(name, f"{base}.{alias.name}")
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of modules (Tarjan), each as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(_closed_path(graph, set(group)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _closed_path(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A readable circle through the group: from its first module back to it."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for successor in sorted(graph[node] & group):
            if successor == start:
                return [*paths[node], start]
            if successor not in paths:
                paths[successor] = [*paths[node], successor]
                frontier.append(successor)
    return sorted(group)


def test_no_module_of_melange_lab_imports_itself_in_a_circle() -> None:
    graph = {name: _imports(name) for name in MODULES}
    assert _cycles(graph) == []


def test_no_backend_module_closes_a_circle_even_through_an_import_inside_a_function() -> None:
    backends = {name for name in MODULES if name == BACKENDS or name.startswith(BACKENDS + ".")}
    graph = {name: _imports(name, deferred_too=True) & backends for name in backends}
    assert _cycles(graph) == []


def test_the_circle_finder_finds_a_circle_and_names_its_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]


def test_importing_a_module_of_a_package_runs_the_package_first_but_not_the_importers_own() -> None:
    assert _with_packages("melange_lab.broker", "melange_lab.backends.sqs.sqs_backend") == {
        "melange_lab.backends",
        "melange_lab.backends.sqs",
        "melange_lab.backends.sqs.sqs_backend",
    }
    assert _with_packages("melange_lab.backends.sqs.backend", "melange_lab.backends.base") == {
        "melange_lab.backends.base"
    }


def test_no_module_under_backends_is_longer_than_560_lines() -> None:
    lengths = {
        str(path.relative_to(PACKAGE)): len(path.read_text().splitlines())
        for path in (PACKAGE / "backends").rglob("*.py")
    }
    assert len(lengths) > 5
    assert {path: n for path, n in lengths.items() if n > MAX_BACKEND_MODULE_LINES} == {}


def _is_error_class(node: ast.ClassDef, errors: set[str]) -> bool:
    bases = {
        base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases
    }
    return any(base in errors or base.endswith(("Error", "Exception")) for base in bases)


def _error_classes() -> dict[str, ast.ClassDef]:
    tree = _trees()["melange_lab.errors"]
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def test_every_error_class_is_defined_in_errors_py() -> None:
    """Warnings are not counted: they are issued, not raised, and belong to what warns."""
    errors = set(_error_classes())
    elsewhere = [
        f"{name}.{node.name}"
        for name, tree in _trees().items()
        if name != "melange_lab.errors"
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and _is_error_class(node, errors)
    ]
    assert elsewhere == []


def test_every_error_class_in_errors_py_is_raised_somewhere_itself_or_as_a_subclass() -> None:
    classes = _error_classes()
    made = {
        node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        for name, tree in _trees().items()
        if name != "melange_lab.errors"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
    }
    parents = {
        name: {base.id for base in node.bases if isinstance(base, ast.Name)}
        for name, node in classes.items()
    }

    def raised(name: str) -> bool:
        return name in made or any(
            raised(child) for child, bases in parents.items() if name in bases
        )

    assert "MelangeLabError" in classes and len(classes) > 20
    assert [name for name in classes if not raised(name)] == []
