"""What the browser tests measure on a broker view, in the page: is it live (its totals are the
kernel's), does anything stick out sideways, do any two labels overlap, are the inspector's
rows aligned, is the flow in sight. Each returns what it found wrong, so an assertion shows it.

The view draws inside a shadow root: Playwright's CSS locators pierce it; the scripts here
start from the ``.mlv`` element a locator found.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

_CHECKS = (Path(__file__).parent / "view_checks.js").read_text()


def _check(name: str) -> str:
    """A function of the view's root that runs one check of ``view_checks.js``."""
    return f"(root) => ({_CHECKS}).{name}(root)"


# Each view's truth, printed by the notebook's own kernel: a view of a SimulatedBroker must show
# the live broker (the one it followed), a view of a real endpoint that endpoint.
_TRUTH = """
import gc as _gc, json as _j
from melange_lab import SimulatedBroker as _S
from melange_lab.widgets import BrokerView as _V
_live = _S.current()
print(_j.dumps({
    _v.model_id: None if (_t := _live if isinstance(_v.source, _S) else _v.source) is None
    else {_q.name: _q.total for _q in _t.queues()}
    for _v in _gc.get_objects() if isinstance(_v, _V) and _v.comm is not None
}))
del _gc, _j, _S, _V, _live
"""

_EXECUTE_JS = """
async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, silent: false, store_history: false });
  let out = "", error = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "stream") out += msg.content.text;
    if (msg.header.msg_type === "error") error = `${msg.content.ename}: ${msg.content.evalue}`;
  };
  await future.done;
  return { out, error };
}
"""


def kernel_print(page: Page, code: str) -> str:
    """Runs ``code`` in the open notebook's kernel (no cell is added) and returns its output."""
    answer: dict[str, Any] = page.evaluate(_EXECUTE_JS, code)
    if answer["error"]:
        raise AssertionError(f"the kernel could not run {code!r}: {answer['error']}")
    return str(answer["out"])


def live_totals(page: Page) -> dict[str, dict[str, int] | None]:
    """Per view (by model id): the queue totals of the broker it must show, from the kernel."""
    found: dict[str, dict[str, int] | None] = json.loads(
        kernel_print(page, _TRUTH).strip().splitlines()[-1]
    )
    return found


def shown_totals(view: Locator) -> dict[str, int | None]:
    shown: dict[str, int | None] = view.evaluate(_check("totals"))
    return shown


def wait_until_live(page: Page, view: Locator, timeout_s: float = 20.0) -> dict[str, int]:
    """Waits until the view shows the queues and totals of the broker it must show (the live
    one it followed, or its real endpoint) and no token travels; returns the totals. The view
    redraws a moment after the kernel goes idle."""
    deadline = time.monotonic() + timeout_s
    while True:
        model_id = view.evaluate("(root) => root.getRootNode().host.dataset.view")
        truth = live_totals(page).get(model_id)
        assert truth is not None, f"view {model_id}: no broker to show at the end of the notebook"
        shown = shown_totals(view)
        moving = view.locator('.mlv-token[data-phase="travelling"]').count()
        if shown == truth and not moving:
            return truth
        if time.monotonic() > deadline:
            raise AssertionError(f"the view shows {shown}, its broker has {truth}")
        time.sleep(0.5)


# What moves or fades after an update: tokens, a box's flash, a card's "new" or "changed" mark
# and the note of a card leaving.
_MOVING = '.mlv-token, .mlv-node[class*="mlv-flash-"], .mlv-new, .mlv-changed, .mlv-leaving'


def wait_until_still(view: Locator, timeout_s: float = 15.0) -> None:
    """Waits until nothing in the view moves or fades any more (for a picture at rest)."""
    expect(view.locator(_MOVING)).to_have_count(0, timeout=timeout_s * 1000)


def sideways_overflow(view: Locator) -> list[str]:
    """Everything that sticks out of the view (or makes the notebook scroll) sideways."""
    found: list[str] = view.evaluate(_check("overflow"))
    return found


def timeline_fits(view: Locator) -> bool:
    """Every lane of the timeline is in sight without scrolling it sideways."""
    wide, room = view.evaluate(_check("timelineFits"))
    return bool(wide <= room + 1)


def overlapping_labels(view: Locator) -> list[str]:
    """Every pair of labels that overlap, and every label outside its box."""
    found: list[str] = view.evaluate(_check("overlaps"))
    return found


def misaligned_inspector_rows(view: Locator) -> list[str]:
    found: list[str] = view.evaluate(_check("aligned"))
    return found


def in_sight(page: Page, part: Locator) -> bool:
    """Whether ``part`` lies wholly inside the browser window."""
    box = part.bounding_box()
    size = page.viewport_size
    assert size is not None
    return bool(
        box is not None
        and box["y"] >= -1
        and box["y"] + box["height"] <= size["height"] + 1
        and box["x"] >= -1
        and box["x"] + box["width"] <= size["width"] + 1
    )
