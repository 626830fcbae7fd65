"""The pieces of the Lite build that need no browser: the install cell, pure wheels, and the
rewritten Pyodide lock file."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from lite import LiteBuildError
from lite.notebooks import (
    EARLIER_INSTALL_SOURCES,
    INSTALL_SOURCE,
    add_install_cell,
    has_install_cell,
)
from lite.pyodide_lock import rewrite_lock
from lite.wheels import WheelInfo, make_pure, read_wheel
from melange_lab import browser_tab
from tests.lite.harness import REPOSITORY
from tests.lite.wheel_factory import make_wheel

TUTORIALS = sorted((REPOSITORY / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", TUTORIALS, ids=lambda path: path.name)
def test_every_tutorial_starts_with_the_install_cell(notebook: Path) -> None:
    assert has_install_cell(json.loads(notebook.read_text())), (
        f"{notebook.name} does not start with the Lite install cell; run python -m lite.notebooks"
    )


class RecordingShell:
    def __init__(self) -> None:
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str, *args: Any) -> None:
        self.magics.append((name, line))


def _run_install_cell(platform: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    shell = RecordingShell()
    code = TransformerManager().transform_cell("".join(INSTALL_SOURCE))
    monkeypatch.setattr("sys.platform", platform)
    exec(code, {"get_ipython": lambda: shell})
    return shell.magics


def test_the_install_cell_installs_melange_lab_in_pyodide(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run_install_cell("emscripten", monkeypatch) == [("pip", "install melange-lab")]


def test_an_earlier_install_cell_is_brought_up_to_date_keeping_the_lines_after_it(
    tmp_path: Path,
) -> None:
    notebook = tmp_path / "10-server.ipynb"
    original = json.loads((REPOSITORY / "notebooks" / "01-publishing-to-a-queue.ipynb").read_text())
    earlier = "".join(EARLIER_INSTALL_SOURCES[0])
    original["cells"][0]["source"] = (earlier + '\n    print("no server here")').splitlines(True)
    notebook.write_text(json.dumps(original, indent=1, sort_keys=True, ensure_ascii=False) + "\n")

    assert add_install_cell(notebook) is True
    cells = json.loads(notebook.read_text())["cells"]
    assert "".join(cells[0]["source"]) == "".join(INSTALL_SOURCE) + '\n    print("no server here")'
    assert cells[1:] == original["cells"][1:]
    assert add_install_cell(notebook) is False


def test_a_tab_missing_a_package_is_told_which_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    requires = {"melange-lab": ["boto3>=1", 'pytest; extra == "dev"'], "boto3": ["no-such-package"]}
    monkeypatch.setattr(
        browser_tab.metadata, "requires", lambda name: _installed_or_not(requires, name)
    )
    assert browser_tab.missing_dependencies() == ["no-such-package"]
    monkeypatch.setattr("sys.platform", "emscripten")
    with pytest.raises(ImportError, match=r"(?s)missing no-such-package, .*static/pyodide"):
        browser_tab.check_dependencies()


def _installed_or_not(requires: dict[str, list[str]], name: str) -> list[str]:
    if name not in requires:
        raise browser_tab.metadata.PackageNotFoundError(name)
    return requires[name]


def test_outside_a_tab_the_dependency_check_does_nothing() -> None:
    browser_tab.check_dependencies()  # the dev venv has everything; nothing is looked up here
    assert browser_tab.missing_dependencies() == []


def test_a_tab_looks_in_its_working_folder_after_the_installed_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.path", ["", "/lib/python314.zip", "/lib/site-packages"])
    monkeypatch.setattr("sys.platform", "emscripten")
    browser_tab.look_in_the_working_folder_last()
    assert sys.path == ["/lib/python314.zip", "/lib/site-packages", ""]
    browser_tab.look_in_the_working_folder_last()
    assert sys.path == ["/lib/python314.zip", "/lib/site-packages", ""]


def test_outside_a_tab_the_module_search_order_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.path", ["", "/usr/lib/python3"])
    browser_tab.look_in_the_working_folder_last()
    assert sys.path == ["", "/usr/lib/python3"]


def test_the_install_cell_does_nothing_on_a_normal_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run_install_cell("linux", monkeypatch) == []


def test_adding_the_install_cell_keeps_the_rest_of_the_notebook_and_happens_once(
    tmp_path: Path,
) -> None:
    notebook = tmp_path / "11-new.ipynb"
    original = (REPOSITORY / "notebooks" / "01-publishing-to-a-queue.ipynb").read_text()
    without = json.loads(original)
    without["cells"] = without["cells"][1:]
    notebook.write_text(json.dumps(without, indent=1, ensure_ascii=False) + "\n")
    before = notebook.read_text()

    assert add_install_cell(notebook) is True
    assert add_install_cell(notebook) is False
    after = json.loads(notebook.read_text())
    assert has_install_cell(after) and after["cells"][0]["id"] == "11-lite"
    assert after["cells"][1:] == without["cells"]
    assert notebook.read_text().replace(_first_cell_text(notebook), "", 1) == before


def _first_cell_text(notebook: Path) -> str:
    text = notebook.read_text()
    start = text.index("  {")
    end = text.index("  },\n", start) + len("  },\n")
    return text[start:end]


def test_a_pure_copy_drops_the_compiled_speedups_and_says_py3_none_any(tmp_path: Path) -> None:
    compiled = make_wheel(
        tmp_path,
        "fastlib",
        "1.0",
        {
            "fastlib/__init__.py": b"x = 1\n",
            "fastlib/_speedups.cpython-311-x86_64-linux-gnu.so": b"\0",
        },
        tag="cp311-cp311-linux_x86_64",
    )
    pure = make_pure(compiled, tmp_path / "pure")
    assert pure.name == "fastlib-1.0-py3-none-any.whl"
    with zipfile.ZipFile(pure) as archive:
        names = archive.namelist()
        assert "fastlib/__init__.py" in names
        assert not [name for name in names if name.endswith(".so")]
        assert "Tag: py3-none-any" in archive.read("fastlib-1.0.dist-info/WHEEL").decode()
        record = archive.read("fastlib-1.0.dist-info/RECORD").decode()
    assert "fastlib/__init__.py,sha256=" in record and ".so" not in record
    assert read_wheel(pure).imports == ("fastlib",)


NPM_LOCK: dict[str, Any] = {
    "info": {"python": "3.14.2"},
    "packages": {
        "six": {"name": "six", "version": "1.0", "file_name": "six-1.0-py3-none-any.whl",
                "depends": []},
        "cryptography": {"name": "cryptography", "version": "47.0.0",
                         "file_name": "cryptography-47.0.0-cp314-abi3-pyemscripten_wasm32.whl",
                         "depends": ["six", "cffi"]},
        "numpy": {"name": "numpy", "version": "2.0", "file_name": "numpy-2.0.whl", "depends": []},
    },
}  # fmt: skip


@pytest.fixture
def served(tmp_path: Path) -> list[WheelInfo]:
    """A tiny site: 'app' needs six and cryptography, and pexpect only off Emscripten."""
    app = make_wheel(
        tmp_path,
        "app",
        "1.0",
        {"app/__init__.py": b""},
        ["six>=1.0", "cryptography", 'pexpect; sys_platform != "emscripten"'],
    )
    six = make_wheel(tmp_path, "six", "1.17.0", {"six.py": b""})
    cryptography = make_wheel(
        tmp_path, "cryptography", "46.0.0+melangelab", {"cryptography/__init__.py": b""}
    )
    return [read_wheel(app), read_wheel(six), read_wheel(cryptography)]


def test_the_lock_names_exactly_the_served_wheels_with_their_requirements_in_pyodide(
    served: list[WheelInfo],
) -> None:
    lock = rewrite_lock(NPM_LOCK, served)
    packages = lock["packages"]
    assert set(packages) == {"app", "six", "cryptography"}  # nothing from Pyodide's CDN
    assert all("/" not in entry["file_name"] for entry in packages.values())
    assert packages["app"]["file_name"] == served[0].path.name
    assert packages["app"]["sha256"] == served[0].sha256
    assert packages["app"]["depends"] == ["cryptography", "six"]  # not pexpect
    assert packages["six"]["version"] == "1.17.0"
    assert packages["cryptography"]["version"] == "46.0.0+melangelab"
    assert packages["cryptography"]["depends"] == []  # no cffi: it is pure Python
    assert lock["info"] == NPM_LOCK["info"]


def test_a_site_without_a_required_package_is_refused_naming_it(
    served: list[WheelInfo],
) -> None:
    without_cryptography = [wheel for wheel in served if wheel.name != "cryptography"]
    with pytest.raises(
        LiteBuildError,
        match=r"(?s)app needs cryptography, which the site does not have.*--extra-wheel",
    ):
        rewrite_lock(NPM_LOCK, without_cryptography)


def test_a_served_version_that_does_not_fit_a_requirement_is_refused(tmp_path: Path) -> None:
    app = read_wheel(make_wheel(tmp_path, "app", "1.0", {"app/__init__.py": b""}, ["six>=2"]))
    six = read_wheel(make_wheel(tmp_path, "six", "1.17.0", {"six.py": b""}))
    with pytest.raises(LiteBuildError, match=r"app needs six>=2, the site has 1.17.0"):
        rewrite_lock(NPM_LOCK, [app, six])


def test_extras_asked_for_by_another_package_bring_their_requirements(tmp_path: Path) -> None:
    app = read_wheel(make_wheel(tmp_path, "app", "1.0", {"app/__init__.py": b""}, ["lib[sns]"]))
    lib = read_wheel(
        make_wheel(
            tmp_path,
            "lib",
            "1.0",
            {"lib/__init__.py": b""},
            ['six; extra == "sns"', 'numpy; extra == "s3"'],
        )
    )
    six = read_wheel(make_wheel(tmp_path, "six", "1.17.0", {"six.py": b""}))
    lock = rewrite_lock(NPM_LOCK, [app, lib, six])
    assert lock["packages"]["lib"]["depends"] == ["six"]
