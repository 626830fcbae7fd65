"""The broker view in the real tutorials, as a learner runs them in JupyterLab.

Each tutorial that shows a view runs with Run All (and tutorial 2 also cell by cell); then each
of its views must be live (its queues and totals are the live broker's, as the kernel reports),
stick out nowhere sideways at 1280x900, have no two labels overlapping, align the inspector's
rows, and give axe-core nothing to report in any tab, replaying the timeline included.
Tutorials 2 and 9 also run at 1024x768 and at 150% zoom, where publishing must bring the
travelling message into sight.

Pictures of each tutorial's view at rest go to ``test-output/``; with
``MELANGE_LAB_DOCS_IMAGES=1`` (``make pictures``) they also replace ``docs/images/tutorial-*.png``,
the README's pictures, so those always show the tutorials as they run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from . import lab_harness
from .axe import axe_violations, describe
from .conftest import SaveScreenshot
from .lab_harness import DARK_THEME, LIGHT_THEME, LabServer, run_all_cells
from .view_checks import (
    in_sight,
    misaligned_inspector_rows,
    overlapping_labels,
    sideways_overflow,
    timeline_fits,
    wait_until_live,
    wait_until_still,
)

REPOSITORY = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPOSITORY / "notebooks"
DOCS_IMAGES = REPOSITORY / "docs" / "images"
FOLDER = "tutorials"
DARK_TOO = {"05", "09"}  # tutorials whose view is also checked, and pictured, in the dark theme
CONSUME_CHECKED = "04"  # the Consume tab is the same in every tutorial: axe checks it in one
PICTURED_VIEW = {"10": 0}  # the view pictured, if not the last: 10's first is the simulated one
INSPECTOR_PICTURED = "07"  # the inspector open on a card, pictured: FIFO's group and ordering
SCREENS = {  # name -> viewport and device pixel ratio (150% zoom: 1280x900 seen at 1.5x)
    "1280x900": (lab_harness.VIEWPORT, 1.0),
    "1024x768": ({"width": 1024, "height": 768}, 1.0),
    "zoom150": ({"width": 853, "height": 600}, 1.5),
}
SMALL_SCREENS = ("1024x768", "zoom150")


def tutorials_with_a_view() -> list[str]:
    found = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        if any(".view(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code"):
            found.append(path.name)
    return found


TUTORIALS = tutorials_with_a_view()


def number(name: str) -> str:
    return name[:2]


@pytest.fixture(scope="session")
def tutorial_folder(lab_server: LabServer) -> Path:
    """The tutorials, copied into the lab's folder as a learner gets them."""
    folder = lab_server.root_dir / FOLDER
    shutil.copytree(NOTEBOOKS, folder, dirs_exist_ok=True)
    return folder


@dataclass
class Screen:
    """One browser window on the lab, loaded once; each tutorial opens in it as a learner
    opens it from the file browser, and is closed (its kernel shut down) after its test."""

    page: Page
    errors: list[str]

    def open(self, tutorial: str) -> Page:
        lab_harness.open_in_lab(self.page, f"{FOLDER}/{tutorial}")
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        return self.page


@pytest.fixture(scope="module")
def screens(
    lab_server: LabServer, chromium: Browser, tutorial_folder: Path
) -> Iterator[dict[str, Screen]]:
    """Per window size, one window on the lab (made when first asked for)."""
    made: dict[str, Screen] = {}
    contexts: list[BrowserContext] = []

    class Screens(dict[str, Screen]):
        def __missing__(self, size: str) -> Screen:
            viewport, scale = SCREENS[size]
            context = chromium.new_context(viewport=viewport, device_scale_factor=scale)  # type: ignore[arg-type]
            contexts.append(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
            lab_harness.open_lab(page, lab_server)
            self[size] = Screen(page, errors)
            return self[size]

    yield Screens(made)
    for context in contexts:
        context.close()


@pytest.fixture
def screen(screens: dict[str, Screen]) -> Iterator[object]:
    """The window of a given size; the tutorial opened in it is closed afterwards and it must
    have logged no console error meanwhile."""
    used: list[Screen] = []

    def get(size: str = "1280x900") -> Screen:
        found = screens[size]
        found.errors.clear()
        used.append(found)
        return found

    yield get
    for found in used:
        logged = list(found.errors)
        lab_harness.close_notebook(found.page)  # shutting a kernel down logs errors of its own
        assert logged == []


def views(page: Page) -> list[Locator]:
    hosts = page.locator(".mlv-host")
    return [hosts.nth(i).locator(".mlv") for i in range(hosts.count())]


def show(view: Locator) -> None:
    view.evaluate("(el) => el.scrollIntoView({block: 'start'})")


_CELL_JS = """(root) => {
  const cell = root.getRootNode().host.closest('.jp-Cell');
  const notebook = cell.closest('.jp-NotebookPanel').getBoundingClientRect();
  const outer = cell.closest('.jp-WindowedPanel-outer') || cell.closest('.jp-Notebook');
  const r = cell.getBoundingClientRect();
  return {top: r.top, height: r.height, left: notebook.left, width: notebook.width,
          chrome: window.innerHeight - outer.clientHeight};
}"""


def picture(page: Page, view: Locator, save: SaveScreenshot, name: str) -> None:
    """A picture of the notebook cell that shows ``view`` (its code and the whole view, at rest),
    as wide as the notebook; also written to ``docs/images`` with ``MELANGE_LAB_DOCS_IMAGES=1``."""
    wait_until_still(view)
    size = page.viewport_size
    assert size is not None
    cell = view.evaluate(_CELL_JS)
    tall = int(cell["height"] + cell["chrome"] + 40)
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], tall)})
    view.evaluate("(root) => root.getRootNode().host.closest('.jp-Cell').scrollIntoView()")
    page.wait_for_timeout(300)
    cell = view.evaluate(_CELL_JS)
    path = save(page, name)
    clip = {"x": cell["left"], "y": cell["top"] - 4, "width": cell["width"],
            "height": cell["height"] + 8}  # fmt: skip
    page.screenshot(path=str(path), clip=clip)
    if os.environ.get("MELANGE_LAB_DOCS_IMAGES") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        target = DOCS_IMAGES / f"{name}.png"
        shutil.copyfile(path, target)
        if shutil.which("optipng"):  # lossless, about a third smaller
            subprocess.run(["optipng", "-quiet", "-o2", str(target)], check=True)
    page.set_viewport_size(size)
    show(view)
    page.wait_for_timeout(300)  # the view lays itself out again for the window's size


def expect_reads_cleanly(view: Locator, where: str, *, timeline: bool = True) -> None:
    assert sideways_overflow(view) == [], where
    assert overlapping_labels(view) == [], where
    if timeline:
        assert timeline_fits(view), f"{where}: the timeline's lanes do not all fit"


def expect_no_violations(page: Page, view: Locator, where: str) -> None:
    violations = axe_violations(page, view)
    assert violations == [], f"{where}: {describe(violations)}"


def open_a_card(view: Locator) -> bool:
    """Clicks the first message card (if any) and waits for the inspector to show it."""
    cards = view.locator(".mlv-card:not(.mlv-leaving) button.mlv-card-main")
    if not cards.count():
        return False
    cards.first.click()
    expect(view.locator(".mlv-inspector h4")).to_contain_text("Message ")
    return True


@pytest.mark.browser
@pytest.mark.parametrize("tutorial", TUTORIALS, ids=number)
def test_after_run_all_every_view_is_live_fits_reads_cleanly_and_passes_axe(
    tutorial: str,
    screen: object,
    save_screenshot: SaveScreenshot,
) -> None:
    page = screen().open(tutorial)  # type: ignore[operator]

    run_all_cells(page)

    shown = views(page)
    assert shown, f"{tutorial} displayed no view"
    for index, view in enumerate(shown):
        where = f"{tutorial}, view {index + 1}"
        wait_until_live(page, view)
        expect(view.locator(".mlv-status.mlv-stopped")).to_have_count(0)
        show(view)
        expect_reads_cleanly(view, where)
    view = shown[PICTURED_VIEW.get(number(tutorial), -1)]
    picture(page, view, save_screenshot, f"tutorial-{number(tutorial)}")
    expect_no_violations(page, view, f"{tutorial}, Publish tab")
    if number(tutorial) == CONSUME_CHECKED:
        view.get_by_role("tab", name="Consume").click()
        expect_no_violations(page, view, f"{tutorial}, Consume tab")
    if open_a_card(view):
        assert misaligned_inspector_rows(view) == [], tutorial
        if number(tutorial) == INSPECTOR_PICTURED:
            picture(page, view, save_screenshot, f"tutorial-{number(tutorial)}-inspector")
    timeline = view.locator('[data-section="timeline"]')
    timeline.get_by_role("button", name="Step").click()
    expect(timeline.locator(".mlv-seq-current")).to_have_count(1)
    expect_no_violations(page, view, f"{tutorial}, inspector and timeline replay")
    if number(tutorial) in DARK_TOO:
        lab_harness.set_theme(page, DARK_THEME)
        try:
            expect_no_violations(page, view, f"{tutorial}, dark")
            picture(page, view, save_screenshot, f"tutorial-{number(tutorial)}-dark")
        finally:
            lab_harness.set_theme(page, LIGHT_THEME)
    expect_the_publish_defaults_to_publish(view)


def expect_the_publish_defaults_to_publish(view: Locator) -> None:
    """Publish, pressed as the form comes, publishes; a FIFO target's group id, left empty, is
    refused naming the form's field."""
    panel = view.locator('[data-panel="publish"]')
    view.get_by_role("tab", name="Publish").click()
    group = panel.get_by_label("Group id")
    if group.is_visible():
        default = group.input_value()
        group.fill("")
        panel.get_by_role("button", name="Publish").click()
        expect(panel.locator(".mlv-error")).to_contain_text("Group id")
        group.fill(default)
    panel.get_by_role("button", name="Publish").click()
    expect(panel.locator(".mlv-ok")).to_contain_text("Published")


@pytest.mark.browser
@pytest.mark.parametrize("size", SMALL_SCREENS)
@pytest.mark.parametrize(
    "tutorial", [t for t in TUTORIALS if number(t) in ("02", "09")], ids=number
)
def test_on_a_small_screen_the_view_fits_and_publishing_brings_the_flow_into_sight(
    tutorial: str, size: str, screen: object, save_screenshot: SaveScreenshot
) -> None:
    page = screen(size).open(tutorial)  # type: ignore[operator]
    run_all_cells(page)
    view = views(page)[-1]
    wait_until_live(page, view)
    show(view)
    expect_reads_cleanly(view, f"{tutorial} at {size}", timeline=False)
    publish = view.locator('[data-panel="publish"]').get_by_role("button", name="Publish")
    publish.scroll_into_view_if_needed()  # where a learner scrolls to press it

    publish.click()

    diagram = view.locator(".mlv-topology svg")
    deadline = time.monotonic() + 5
    while not in_sight(page, diagram) and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # a smooth scroll
    assert in_sight(page, diagram), f"{tutorial} at {size}: the diagram stays out of sight"
    if number(tutorial) == "09":  # 02 ends on a broker whose deliveries wait for its clock
        token = view.locator('.mlv-token[data-phase="travelling"]').first
        expect(token).to_be_attached()
        assert in_sight(page, token), f"{tutorial} at {size}: the message travels out of sight"
    save_screenshot(page, f"tutorial-{number(tutorial)}-{size}-publishing")
    expect(view.locator('[data-panel="publish"] .mlv-ok')).to_contain_text("Published")


@pytest.mark.browser
def test_tutorial_2_run_cell_by_cell_ends_with_a_live_view(screen: object) -> None:
    tutorial = next(t for t in TUTORIALS if number(t) == "02")
    page = screen().open(tutorial)  # type: ignore[operator]

    lab_harness.run_cell_by_cell(page, pause_s=0.4)

    for view in views(page):
        wait_until_live(page, view)
        expect(view.locator(".mlv-status.mlv-stopped")).to_have_count(0)
        expect_reads_cleanly(view, f"{tutorial}, cell by cell")


@pytest.mark.browser
def test_the_checks_see_an_overlap_an_overflow_and_a_stale_total(screen: object) -> None:
    """The measurements above are not blind: each reports a fault put into a real view."""
    page = screen().open(TUTORIALS[0])  # type: ignore[operator]
    run_all_cells(page)
    view = views(page)[-1]
    wait_until_live(page, view)

    view.evaluate(
        """(root) => {
             const title = root.querySelector('.mlv-topology .mlv-node text.mlv-t-title');
             const copy = title.cloneNode(true);
             copy.setAttribute('x', Number(title.getAttribute('x')) + 6);
             title.parentNode.append(copy);
             root.querySelector('.mlv-queues').append(
               Object.assign(document.createElement('div'), {style: 'width: 4000px; height: 2px'}));
             root.querySelector('.mlv-queue').dataset.total = '999';
           }"""
    )

    assert any("overlaps" in fault for fault in overlapping_labels(view))
    assert any("4000" in fault or "sideways" in fault for fault in sideways_overflow(view))
    with pytest.raises(AssertionError, match="999"):
        wait_until_live(page, view, timeout_s=1)
