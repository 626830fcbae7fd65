"""Fixtures for the browser tests: one JupyterLab and one Chromium per session, a page per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from . import lab_harness
from .lab_harness import Lab, LabServer, launch_chromium, new_context, run_lab

SaveScreenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab serving a fresh temporary folder; tests write notebooks into its root_dir."""
    root_dir = tmp_path_factory.mktemp("lab-root")
    state_dir = tmp_path_factory.mktemp("lab-state")
    with run_lab(root_dir, state_dir) as server:
        yield server


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium, closed after the browser tests: Playwright's sync API runs an
    asyncio loop in the main thread while it is open, and later tests (the Lite site's own
    Playwright, anything calling ``asyncio.run``) need the thread without one."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def lab(lab_server: LabServer, chromium: Browser) -> Iterator[Lab]:
    """A fresh browser context and page on the session's lab, closed after the test."""
    context = new_context(chromium)
    try:
        yield Lab(server=lab_server, page=context.new_page())
    finally:
        context.close()


@pytest.fixture
def save_screenshot(request: pytest.FixtureRequest) -> SaveScreenshot:
    """Save ``page`` as ``test-output/<test name>/<name>.png`` under the repository root."""
    test_name = lab_harness.safe_filename(request.node.name)
    directory = request.config.rootpath / "test-output" / test_name

    def save(page: Page, name: str) -> Path:
        return lab_harness.save_screenshot(page, directory, name)

    return save


@pytest.fixture
def console_errors(lab: Lab) -> list[str]:
    """Every console error and uncaught exception of this test's page, as text."""
    errors: list[str] = []
    lab.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    lab.page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    return errors
