"""Drive a real JupyterLab 4 in headless Chromium: start the server, open a notebook, run it.

The browser tests use this through the fixtures in ``conftest.py``; the functions here carry no
pytest state, so a test that needs its own server or folder can call them directly.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google on a closed network.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LIGHT_THEME = "JupyterLab Light"
DARK_THEME = "JupyterLab Dark"
KERNEL_NAME = "python3"

# Generous bounds for a slow 2-core machine; the happy path returns as soon as a condition holds.
SERVER_START_TIMEOUT_S = 90.0
SERVER_STOP_TIMEOUT_S = 15.0
NOTEBOOK_OPEN_TIMEOUT_S = 90.0
RUN_ALL_TIMEOUT_S = 120.0
THEME_TIMEOUT_S = 30.0
VIEWPORT = {"width": 1280, "height": 900}

# Written to the isolated user-settings dir so nothing pops up over the notebook.
LAB_USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    # Attach every cell to the DOM, so assertions and screenshots never meet a lazy placeholder.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


class LabHarnessError(RuntimeError):
    """JupyterLab or Chromium did not reach the state a browser test waits for."""


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: where it listens, its token, the folder it serves and its log."""

    base_url: str
    token: str
    root_dir: Path
    log_path: Path

    def url(self, path: str) -> str:
        """Return the URL of ``path`` on this server, with the token attached."""
        return f"{self.base_url}{path.lstrip('/')}?token={self.token}"


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """Write a notebook of code cells at ``path``, bound to this venv's kernel."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells],
        metadata={
            "kernelspec": {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def isolated_env(state_dir: Path) -> dict[str, str]:
    """Return an environment whose Jupyter and IPython config live under ``state_dir``.

    The user's own config, settings and kernels cannot leak in; the venv's prebuilt lab
    extensions (jupyterlab_widgets) still load, because they live under ``sys.prefix``.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "JPY_", "IPYTHON"))
    }
    dirs = {
        "JUPYTER_CONFIG_DIR": state_dir / "config",
        "JUPYTER_DATA_DIR": state_dir / "data",
        "JUPYTER_RUNTIME_DIR": state_dir / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": state_dir / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": state_dir / "lab-workspaces",
        "IPYTHONDIR": state_dir / "ipython",
    }
    for name, directory in dirs.items():
        directory.mkdir(parents=True, exist_ok=True)
        env[name] = str(directory)
    # In a venv jupyter_core prefers the venv's dirs; ours must win so our kernelspec is used.
    env["JUPYTER_PREFER_ENV_PATH"] = "0"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    # `jupyter lab` execs `jupyter-lab` from PATH; make sure it is the venv's.
    env["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), env.get("PATH", os.defpath)])
    return env


def _write_kernelspec(data_dir: Path) -> None:
    spec_dir = data_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))


def _write_lab_settings(settings_dir: Path) -> None:
    for plugin, values in LAB_USER_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=1))


def _log_tail(log_path: Path, lines: int = 40) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _is_ready(server: LabServer) -> bool:
    request = urllib.request.Request(
        f"{server.base_url}api/status", headers={"Authorization": f"token {server.token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_ready(
    server: LabServer, process: subprocess.Popen[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while not _is_ready(server):
        if process.poll() is not None:
            raise LabHarnessError(
                f"JupyterLab exited with code {process.returncode} before it was ready; "
                f"log tail ({server.log_path}):\n{_log_tail(server.log_path)}"
            )
        if time.monotonic() > deadline:
            raise LabHarnessError(
                f"JupyterLab did not answer {server.base_url}api/status within {timeout_s:.0f} s; "
                f"log tail ({server.log_path}):\n{_log_tail(server.log_path)}"
            )
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def run_lab(
    root_dir: Path, state_dir: Path, *, startup_timeout_s: float = SERVER_START_TIMEOUT_S
) -> Iterator[LabServer]:
    """Run JupyterLab on a free loopback port over ``root_dir``; stop it on exit, always.

    ``state_dir`` receives the isolated Jupyter dirs and the server log (``jupyter-lab.log``).
    """
    env = isolated_env(state_dir)
    _write_kernelspec(Path(env["JUPYTER_DATA_DIR"]))
    _write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
    port = free_port()
    server = LabServer(
        base_url=f"http://127.0.0.1:{port}/",
        token=secrets.token_hex(24),
        root_dir=root_dir,
        log_path=state_dir / "jupyter-lab.log",
    )
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        f"--IdentityProvider.token={server.token}",
        "--ServerApp.terminals_enabled=False",
        "--ServerApp.allow_root=True",  # containers and CI often run as root
        # window.jupyterapp lets the harness run lab commands instead of clicking menus.
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        # nbgrader (in the dev extra for the grading agreement test) ships a lab extension that
        # needs JupyterLab's file browser, which Voila's page does not share: keep it out of
        # Voila, as a Voila deployment without nbgrader would be.
        "--VoilaConfiguration.extension_denylist=['@jupyter/nbgrader']",
    ]  # fmt: skip
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready(server, process, startup_timeout_s)
        yield server
    finally:
        _stop(process, SERVER_STOP_TIMEOUT_S)


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch Debian's headless Chromium (Playwright gives it a fresh temporary profile)."""
    if not CHROMIUM.exists():
        raise LabHarnessError(
            f"{CHROMIUM} not found: install Debian's chromium, or deselect with -m 'not browser'"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
    )


def new_context(browser: Browser) -> BrowserContext:
    """Return a fresh browser context (no cookies, no storage) sized for screenshots."""
    return browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]


# --- in-page helpers: everything below talks to window.jupyterapp ---------------------------

# JupyterLab covers the page with a splash overlay while loading and while switching themes.
_NOTEBOOK_READY_JS = """
(path) => {
  if (document.getElementById('jupyterlab-splash')) { return false; }
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.context || panel.context.path !== path || !panel.context.isReady) {
    return false;
  }
  const session = panel.sessionContext;
  return !!(session.isReady && session.session && session.session.kernel
            && session.session.kernel.status === 'idle');
}
"""

_KERNEL_IDLE_JS = """
() => {
  const session = window.jupyterapp.shell.currentWidget.sessionContext;
  return !!(session.session && session.session.kernel
            && session.session.kernel.status === 'idle');
}
"""

_START_RUN_ALL_JS = """
() => {
  window.__labHarnessRunAll = null;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__labHarnessRunAll = {ok: ok !== false}; },
    (error) => { window.__labHarnessRunAll = {ok: false, error: String(error)}; },
  );
}
"""

_RUN_ALL_DONE_JS = "() => window.__labHarnessRunAll !== null"

_SNAPSHOT_JS = """
() => {
  const app = window.jupyterapp;
  if (!app) { return {app: 'window.jupyterapp missing: lab page not loaded'}; }
  const panel = app.shell.currentWidget;
  const session = panel && panel.sessionContext;
  const model = panel && panel.content && panel.content.model;
  return {
    currentWidget: panel ? panel.title.label : null,
    kernelStatus: session && session.session && session.session.kernel
      ? session.session.kernel.status : null,
    runAll: window.__labHarnessRunAll === undefined ? null : window.__labHarnessRunAll,
    splash: !!document.getElementById('jupyterlab-splash'),
    dialogs: Array.from(document.querySelectorAll('.jp-Dialog')).map((d) => d.innerText),
    cells: model ? Array.from(model.cells).map((cell, index) => ({
      index,
      type: cell.type,
      executionCount: cell.type === 'code' ? cell.executionCount : undefined,
      errors: cell.type === 'code'
        ? cell.outputs.toJSON().filter((o) => o.output_type === 'error')
            .map((o) => `${o.ename}: ${o.evalue}`)
        : [],
    })) : null,
  };
}
"""


def lab_snapshot(page: Page) -> dict[str, Any]:
    """Describe the lab's state (current widget, kernel, cells, dialogs) for error messages."""
    snapshot: dict[str, Any] = page.evaluate(_SNAPSHOT_JS)
    return snapshot


def _wait_for(page: Page, js: str, what: str, timeout_s: float, arg: Any = None) -> None:
    try:
        page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000, polling=100)
    except PlaywrightTimeoutError:
        state = json.dumps(lab_snapshot(page), indent=1)
        raise LabHarnessError(
            f"timed out after {timeout_s:.0f} s waiting for {what}; {state}"
        ) from None


def set_theme(page: Page, theme: str, *, timeout_s: float = THEME_TIMEOUT_S) -> None:
    """Switch the lab to ``theme`` (e.g. ``DARK_THEME``) and wait until it is applied.

    The choice is saved in the server's settings, so it outlives the page.
    """
    page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    _wait_for(
        page,
        "(theme) => document.body.dataset.jpThemeName === theme"
        " && !document.getElementById('jupyterlab-splash')",
        f"theme {theme!r}",
        timeout_s,
        arg=theme,
    )


def open_notebook(
    page: Page,
    server: LabServer,
    name: str,
    *,
    theme: str = LIGHT_THEME,
    timeout_s: float = NOTEBOOK_OPEN_TIMEOUT_S,
) -> Page:
    """Open notebook ``name`` (relative to the server's root) and wait for an idle kernel.

    ``theme`` is applied every time, since an earlier test may have left another one saved.
    """
    page.goto(server.url(f"lab/tree/{quote(name)}"), timeout=timeout_s * 1000)
    _wait_for(page, _NOTEBOOK_READY_JS, f"{name} open with an idle kernel", timeout_s, arg=name)
    if page.evaluate("() => document.body.dataset.jpThemeName") != theme:
        set_theme(page, theme)
    # The file browser only takes room from the notebook in screenshots.
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    return page


def start_run_all(page: Page) -> None:
    """Start ``notebook:run-all-cells`` and return at once (see ``run_all_cells``)."""
    page.evaluate(_START_RUN_ALL_JS)


def run_all_cells(page: Page, *, timeout_s: float = RUN_ALL_TIMEOUT_S) -> Page:
    """Run every cell of the current notebook and wait until all ran and the kernel is idle.

    Uses the same ``notebook:run-all-cells`` command as the "Run > Run All Cells" menu, without
    depending on the menu's layout. Raises ``LabHarnessError`` naming any cell that failed.
    """
    start_run_all(page)
    return wait_run_all(page, timeout_s=timeout_s)


def wait_run_all(page: Page, *, timeout_s: float = RUN_ALL_TIMEOUT_S) -> Page:
    """Wait for the Run All begun by ``start_run_all``; raise naming any cell that failed."""
    _wait_for(page, _RUN_ALL_DONE_JS, "Run All Cells to finish", timeout_s)
    snapshot = lab_snapshot(page)
    cells = snapshot["cells"] or []
    failed = [cell for cell in cells if cell["errors"]]
    not_run = [
        cell["index"] for cell in cells if cell["type"] == "code" and cell["executionCount"] is None
    ]
    if failed or not_run or not snapshot["runAll"]["ok"]:
        raise LabHarnessError(
            f"Run All Cells did not complete: failed cells {failed}, cells not run {not_run}; "
            f"{json.dumps(snapshot, indent=1)}"
        )
    _wait_for(page, _KERNEL_IDLE_JS, "the kernel to be idle after Run All", timeout_s)
    return page


def safe_filename(name: str) -> str:
    """Return ``name`` with anything but letters, digits, ``.``, ``_`` and ``-`` made ``_``."""
    return re.sub(r"[^\w.-]+", "_", name)


def save_screenshot(page: Page, directory: Path, name: str) -> Path:
    """Save a PNG of the whole lab window as ``directory/<name>.png`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{safe_filename(name)}.png"
    page.screenshot(path=str(path))
    return path


@dataclass(frozen=True)
class Lab:
    """One test's view of the lab: the shared server and this test's own browser page."""

    server: LabServer
    page: Page

    def write_notebook(self, name: str, cells: Sequence[str]) -> Path:
        """Write notebook ``name`` into the server's root folder (see ``write_notebook``)."""
        return write_notebook(self.server.root_dir / name, cells)

    def run_notebook(
        self, name: str, *, theme: str = LIGHT_THEME, timeout_s: float = RUN_ALL_TIMEOUT_S
    ) -> Page:
        """Open notebook ``name``, run all its cells, wait until done and return the page."""
        open_notebook(self.page, self.server, name, theme=theme)
        return run_all_cells(self.page, timeout_s=timeout_s)

    def set_theme(self, theme: str) -> None:
        """Switch this page's lab to ``theme``, e.g. ``DARK_THEME``."""
        set_theme(self.page, theme)


_RUN_CELL_JS = """
async (index) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  notebook.activeCellIndex = index;
  await app.commands.execute('notebook:run-cell');
  const cell = notebook.widgets[index];
  if (cell.model.type !== 'code') { return []; }
  return cell.model.outputs.toJSON().filter((o) => o.output_type === 'error')
    .map((o) => `${o.ename}: ${o.evalue}`);
}
"""


def run_cell_by_cell(
    page: Page, *, pause_s: float = 0.5, timeout_s: float = RUN_ALL_TIMEOUT_S
) -> Page:
    """Runs the current notebook one cell at a time from the top, as a learner pressing
    Shift+Enter does, pausing ``pause_s`` between cells; raises naming a cell that failed."""
    count = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    deadline = time.monotonic() + timeout_s
    for index in range(count):
        errors = page.evaluate(_RUN_CELL_JS, index)
        if errors:
            raise LabHarnessError(f"cell {index} failed: {errors}")
        _wait_for(page, _KERNEL_IDLE_JS, f"the kernel after cell {index}", timeout_s)
        if time.monotonic() > deadline:
            raise LabHarnessError(f"running cell by cell took over {timeout_s:.0f} s")
        time.sleep(pause_s)
    return page


def shut_down_kernel(page: Page) -> None:
    """Shuts the current notebook's kernel down (if the page still has one)."""
    try:
        page.evaluate(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " return w && w.sessionContext ? w.sessionContext.shutdown() : null; }"
        )
    except Exception:  # the page or its lab is gone already: nothing left to shut down
        return


def open_lab(page: Page, server: LabServer, *, timeout_s: float = NOTEBOOK_OPEN_TIMEOUT_S) -> Page:
    """Loads JupyterLab's file browser in ``page`` (light theme) and waits until it is ready."""
    page.goto(server.url("lab"), timeout=timeout_s * 1000)
    _wait_for(
        page,
        "() => !!window.jupyterapp && !document.getElementById('jupyterlab-splash')"
        " && !!document.body.dataset.jpThemeName",
        "JupyterLab to load",
        timeout_s,
    )
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    if page.evaluate("() => document.body.dataset.jpThemeName") != LIGHT_THEME:
        set_theme(page, LIGHT_THEME)
    return page


def open_in_lab(page: Page, name: str, *, timeout_s: float = NOTEBOOK_OPEN_TIMEOUT_S) -> Page:
    """Opens notebook ``name`` in the lab already loaded in ``page`` (no page reload, as a
    learner double-clicks it in the file browser) and waits for an idle kernel."""
    page.evaluate(
        "(path) => window.jupyterapp.commands.execute('docmanager:open', {path}).then(() => null)",
        name,
    )
    _wait_for(page, _NOTEBOOK_READY_JS, f"{name} open with an idle kernel", timeout_s, arg=name)
    return page


def close_notebook(page: Page) -> None:
    """Shuts the current notebook's kernel down and closes its tab, unsaved (no dialog)."""
    page.evaluate(
        """async () => {
             const widget = window.jupyterapp.shell.currentWidget;
             if (!widget || !widget.context) { return; }
             await widget.sessionContext.shutdown();
             widget.context.model.dirty = false;
             await widget.close();
           }"""
    )
