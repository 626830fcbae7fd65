"""axe-core in the browser tests: fetched from the npm registry into a cache on first use (never
committed), injected into the page, run on one element with the WCAG 2.1 AA and best-practice
rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page

AXE_VERSION = "4.10.3"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


class AxeUnavailable(RuntimeError):
    """axe-core could not be installed from the npm registry."""


def axe_script() -> Path:
    """``axe.min.js`` of ``AXE_VERSION``, installed with npm into the user's cache once."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = cache / "melange-lab" / f"axe-core-{AXE_VERSION}"
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        raise AxeUnavailable("npm is not installed: install Node.js to run the axe-core checks")
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder),
         f"axe-core@{AXE_VERSION}"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    if result.returncode != 0 or not script.exists():
        raise AxeUnavailable(f"npm install axe-core@{AXE_VERSION} failed: {result.stderr[-800:]}")
    return script


# JupyterLab's body is 0 px tall with overflow hidden: axe would silently skip contrast checks.
_GIVE_HEIGHT_JS = """
() => {
  for (const node of [document.documentElement, document.body]) {
    node.style.height = '100%';
  }
}
"""

# axe 4.10's colour-contrast rule throws ("getCellFromPoint of undefined", "Element midpoint
# exceeds the grid bounds") when a scroll box is scrolled, as the timeline is when it follows
# its newest row; a rule that throws is only "incomplete", so the check would pass blind. Every
# scroll box in the view is scrolled back while axe runs (what it holds is still checked) and
# restored after; a rule that still throws runs again without the one element it could not
# place (all others checked), and a rule that throws on fails the test.
_RUN_AXE_JS = """
async (element, tags) => {
  const boxes = [...element.querySelectorAll('*')].filter((box) => box.scrollTop || box.scrollLeft)
    .map((box) => [box, box.scrollTop, box.scrollLeft]);
  for (const [box] of boxes) { box.scrollTop = 0; box.scrollLeft = 0; }
  const results = await window.axe.run(
    element,
    { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] },
  );
  // A rule that threw is run again without the element it could not place, until it runs.
  let broken = results.incomplete.filter((r) => r.error);
  const skipped = [];
  for (let tries = 0; broken.length && tries < 5; tries++) {
    const nodes = broken.map((r) => r.error.errorNode && r.error.errorNode.selector);
    if (nodes.some((n) => !n)) break;
    skipped.push(...nodes);
    const again = await window.axe.run(
      { include: [element], exclude: skipped },
      { runOnly: { type: 'rule', values: broken.map((r) => r.id) }, resultTypes: ['violations'] },
    );
    results.violations.push(...again.violations);
    broken = again.incomplete.filter((r) => r.error);
  }
  for (const [box, top, left] of boxes) { box.scrollTop = top; box.scrollLeft = left; }
  if (broken.length) {
    const why = broken.map((r) => `${r.id}: ${r.error.message || r.error}`);
    throw new Error(`axe rules failed to run: ${why.join("; ")}`);
  }
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, summary: n.failureSummary })),
  }));
}
"""


def inject_axe(page: Page) -> None:
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(axe_script()))
    page.evaluate(_GIVE_HEIGHT_JS)


def axe_violations(page: Page, where: str | Locator) -> list[dict[str, Any]]:
    """axe's violations within the first element ``where`` finds (a CSS selector or a locator;
    the view's shadow root included), scrolled to the top of the screen first: axe skips the
    contrast of text an overflow box clips."""
    inject_axe(page)
    element = page.locator(where).first if isinstance(where, str) else where
    element.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    violations: list[dict[str, Any]] = element.evaluate(_RUN_AXE_JS, AXE_TAGS)
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)
