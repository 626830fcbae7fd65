"""Driving the JupyterLite site that ``python -m lite`` builds: build it (reused while its
inputs are unchanged), serve it on 127.0.0.1, and run notebooks in headless Chromium with every
request outside the site's own origin refused."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from lite import tools_venv
from lite.build import DEFAULT_CACHE

REPOSITORY = Path(__file__).resolve().parents[2]
#: built sites are kept by the digest of their inputs, beside the build's download cache
SITES = DEFAULT_CACHE / "test-sites"
#: everything the site is made from: a change to any of these rebuilds it
SITE_INPUTS = ("lite", "melange_lab", "notebooks")
SITE_FILES = ("pyproject.toml", "setup.py")
#: the kinds of file in SITE_INPUTS that end up in the site (the broker view's front end too)
SITE_SUFFIXES = frozenset({".py", ".json", ".txt", ".ipynb", ".toml", ".js", ".css"})


class LiteHarnessError(AssertionError):
    """The site did not do what the test waited for; the message says what it showed."""


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    paths = [REPOSITORY / name for name in SITE_FILES]
    for folder in SITE_INPUTS:
        paths += sorted(
            path
            for path in (REPOSITORY / folder).rglob("*")
            if path.is_file()
            and "_build" not in path.parts
            and "_cache" not in path.parts
            and ".cache" not in path.parts
            and "__pycache__" not in path.parts
            and path.suffix in SITE_SUFFIXES
        )
    for path in paths:
        digest.update(path.relative_to(REPOSITORY).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_site() -> Path:
    """The site exactly as ``python -m lite`` builds it; built again only when one of its
    inputs changed (downloads are cached by the build itself)."""
    digest = _inputs_digest()
    site = SITES / digest[:16]
    if (site / ".complete").exists():
        return site
    if SITES.exists():  # older sites: keep the cache from growing
        shutil.rmtree(SITES)
    subprocess.run(
        [str(tools_venv.ensure()), "-m", "lite", "--output", str(site)],
        cwd=REPOSITORY,
        check=True,
    )
    (site / ".complete").touch()
    return site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    served: list[tuple[str, int]] | None = None
    _code = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        self._code = code
        super().send_response(code, message)

    def send_header(self, keyword: str, value: str) -> None:
        if self.served is not None and self._code == 200 and keyword == "Content-Length":
            self.served.append((self.path, int(value)))
        super().send_header(keyword, value)


@contextmanager
def serve(site: Path, served: list[tuple[str, int]] | None = None) -> Iterator[str]:
    """Serves ``site`` on 127.0.0.1 and a free port; yields its base URL. Each file served
    (path, bytes) is added to ``served`` when one is given."""
    handler = functools.partial(
        type("Handler", (_QuietHandler,), {"served": served}), directory=str(site)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="lite-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Network:
    """Refuses every request outside the site's origin, and lists them."""

    origin: str
    #: files of the site to refuse too, by a part of their address (as a filter might)
    blocked: tuple[str, ...] = ()
    refused: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        outside = not url.startswith(self.origin) and not url.startswith(("data:", "blob:"))
        if outside or any(part in url for part in self.blocked):
            self.refused.append(url)
            route.abort("blockedbyclient")
        elif url.split("?")[0].endswith("/jupyter-lite.json"):
            route.fulfill(response=(response := route.fetch()), json=_expose_app(response.json()))
        else:
            route.continue_()


def _expose_app(config: dict[str, Any]) -> dict[str, Any]:
    """The site's own configuration plus ``exposeAppInBrowser``, so the test can reach the
    app as ``window.jupyterapp`` (the files on disk are not changed)."""
    config.setdefault("jupyter-config-data", {})["exposeAppInBrowser"] = "true"
    return config


_PANEL_READY_JS = """
(path) => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.context || panel.context.path !== path || !panel.context.isReady) {
    return false;
  }
  const session = panel.sessionContext;
  return !!(session.isReady && session.session && session.session.kernel
            && session.session.kernel.status === 'idle');
}
"""

_RUN_JS = """
async ([command, at]) => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (at !== null) {
    const cells = Array.from(panel.content.model.cells);
    panel.content.activeCellIndex = cells.findIndex(
      (cell) => cell.sharedModel.getSource().includes(at));
  }
  window.__liteRun = null;
  window.jupyterapp.commands.execute(command).then(
    (ok) => { window.__liteRun = {ok: ok !== false}; },
    (error) => { window.__liteRun = {ok: false, error: String(error)}; });
}
"""

_CELLS_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return Array.from(panel.content.model.cells).map((cell, index) => ({
    index,
    type: cell.type,
    source: cell.sharedModel.getSource(),
    executionCount: cell.type === 'code' ? cell.executionCount : null,
    outputs: cell.type === 'code' ? cell.outputs.toJSON() : [],
    gradeId: (cell.getMetadata('nbgrader') || {}).grade_id || null,
  }));
}
"""


@dataclass
class RanNotebook:
    cells: list[dict[str, Any]]

    def errors(self) -> list[str]:
        return [
            f"cell {cell['index']}: {output.get('ename')}: {output.get('evalue')}"
            for cell in self.cells
            for output in cell["outputs"]
            if output["output_type"] == "error"
        ]

    def text(self) -> str:
        """Every stream and text/plain output, in order."""
        parts = []
        for cell in self.cells:
            for output in cell["outputs"]:
                if output["output_type"] == "stream":
                    parts.append(_joined(output["text"]))
                elif "data" in output:
                    parts.append(_joined(output["data"].get("text/plain", "")))
        return "\n".join(parts)

    def first_cell_with(self, text: str) -> int:
        return next(cell["index"] for cell in self.cells if text in cell["source"])

    def not_run(self, up_to: int | None = None) -> list[int]:
        return [
            cell["index"]
            for cell in self.cells[:up_to]
            if cell["type"] == "code" and cell["executionCount"] is None
        ]


def _joined(text: str | list[str]) -> str:
    return text if isinstance(text, str) else "".join(text)


def _wait(page: Page, js: str, what: str, timeout_s: float, arg: Any = None) -> None:
    try:
        page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000, polling=200)
    except PlaywrightTimeoutError:
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        raise LiteHarnessError(
            f"timed out after {timeout_s:.0f} s waiting for {what}; dialogs: {dialogs}"
        ) from None


def open_first_notebook(page: Page, base_url: str, path: str, timeout_s: float) -> None:
    """Opens the lab on ``path`` (a new page: its kernel starts cold) and waits for an idle
    kernel."""
    page.goto(f"{base_url}lab/index.html?path={urllib.parse.quote(path)}")
    _wait(page, _PANEL_READY_JS, f"{path} open with an idle kernel", timeout_s, arg=path)


def open_notebook_in_kernel(page: Page, path: str, kernel_id: str, timeout_s: float) -> None:
    """Opens ``path`` in the running lab, attached to the kernel ``kernel_id`` (the tutorials
    share one Pyodide kernel, as a learner's tab would if they chose so: starting Pyodide
    again for each notebook costs tens of seconds)."""
    page.evaluate(
        "async ([path, id]) => { await window.jupyterapp.commands.execute("
        "'docmanager:open', {path, kernel: {id}}); }",
        [path, kernel_id],
    )
    _wait(page, _PANEL_READY_JS, f"{path} open with an idle kernel", timeout_s, arg=path)


def current_kernel_id(page: Page) -> str:
    kernel_id: str = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id"
    )
    return kernel_id


def run_cells(
    page: Page, timeout_s: float, *, up_to: str | None = None, starting_at: str | None = None
) -> RanNotebook:
    """Runs every cell of the current notebook, as Run > Run All Cells does; or every cell
    above the first cell whose source contains ``up_to``; or that cell for ``starting_at`` and
    every cell below it. Returns the cells."""
    if up_to is not None and starting_at is not None:
        raise ValueError("give up_to or starting_at, not both")
    command, at = "notebook:run-all-cells", None
    if up_to is not None:
        command, at = "notebook:run-all-above", up_to
    elif starting_at is not None:
        command, at = "notebook:run-all-below", starting_at
    page.evaluate(_RUN_JS, [command, at])
    _wait(page, "() => window.__liteRun !== null", f"{command} to finish", timeout_s)
    _wait(
        page,
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'",
        "the kernel to be idle",
        timeout_s,
    )
    return RanNotebook(page.evaluate(_CELLS_JS))


def run_new_cell(
    page: Page, source: str, timeout_s: float, *, before: str | None = None
) -> dict[str, Any]:
    """Adds a code cell with ``source`` at the end of the current notebook (or above the first
    cell whose source contains ``before``), runs it, and returns it with its outputs once it
    has run and the kernel is idle."""
    index: int = page.evaluate(
        """([source, before]) => {
          const panel = window.jupyterapp.shell.currentWidget;
          const cells = Array.from(panel.content.model.cells);
          const index = before === null ? cells.length
            : cells.findIndex((cell) => cell.sharedModel.getSource().includes(before));
          if (index < 0) { throw new Error(`no cell contains ${before}`); }
          panel.content.model.sharedModel.insertCell(index, {cell_type: 'code', source});
          panel.content.activeCellIndex = index;
          window.jupyterapp.commands.execute('notebook:run-cell');
          return index;
        }""",
        [source, before],
    )
    _wait(
        page,
        """(index) => {
          const panel = window.jupyterapp.shell.currentWidget;
          const cell = panel.content.model.cells.get(index);
          return cell.executionCount !== null
            && panel.sessionContext.session.kernel.status === 'idle';
        }""",
        "the new cell to run",
        timeout_s,
        arg=index,
    )
    cell: dict[str, Any] = RanNotebook(page.evaluate(_CELLS_JS)).cells[index]
    return cell


def set_cell_sources(page: Page, sources: dict[str, str]) -> None:
    """Writes ``sources`` into the current notebook's cells with those grading ids (as a
    student types an answer); fails if one is missing."""
    missing = page.evaluate(
        """(sources) => {
          const panel = window.jupyterapp.shell.currentWidget;
          const found = new Set();
          for (const cell of Array.from(panel.content.model.cells)) {
            const id = (cell.getMetadata('nbgrader') || {}).grade_id;
            if (id in sources) { cell.sharedModel.setSource(sources[id]); found.add(id); }
          }
          return Object.keys(sources).filter((id) => !found.has(id));
        }""",
        sources,
    )
    if missing:
        raise LiteHarnessError(f"no cell has the grading ids {missing}")


def describe(ran: RanNotebook) -> str:
    return json.dumps(
        [{"index": c["index"], "outputs": c["outputs"]} for c in ran.cells if c["outputs"]],
        indent=1,
    )[:6000]
