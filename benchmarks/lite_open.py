"""``python -m benchmarks.lite_open [--runs N] [--site DIR]``: how long a cold browser takes
from opening the Lite site's tutorial 2 to its fan-out on screen, measured as the Lite test
measures it (``--site``: another built site, e.g. to compare two builds).

The site is the one the Lite tests build (``tests/lite/harness.py``, reused while its inputs
are unchanged), served on 127.0.0.1 by Python's http.server; each run opens it in a new
browser context of headless Chromium (nothing cached) with every request outside the site
refused, runs tutorial 2 up to its fan-out (Run All above "On AWS, delivery takes a moment")
and waits until the broker view shows the message in its three subscriber queues. Each run
prints the load average (2 cores, shared), the time to an idle kernel and to the fan-out,
the CPU time the browser's processes used meanwhile (on all cores: what a quiet machine
needs), and the files and bytes the server sent.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.lite.harness import Network, build_site, open_first_notebook, run_cells, serve

TUTORIAL = "02-publishing-to-a-topic.ipynb"
TICKS = os.sysconf("SC_CLK_TCK")
UP_TO = "## On AWS, delivery takes a moment"
QUEUES = ("billing", "shipping", "analytics")


def browser_cpu_seconds() -> dict[int, float]:
    """User and system CPU seconds of each of this process's descendants (Playwright's
    driver, the browser and its renderers and workers) running now, by process id."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = int(fields[11]) + int(fields[12])
    me, found = os.getpid(), {}
    for pid in times:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, me):
            ancestor = parents.get(ancestor)
        if ancestor == me:
            found[pid] = times[pid] / TICKS
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings by the processes running at the second (a
    process that ended meanwhile, such as the last context's renderer, is left out)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lite_open", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--site", type=Path, help="a built site to open (default: the Lite tests' own, built)"
    )
    arguments = parser.parse_args()
    site = arguments.site or build_site()
    size = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
    print(f"site: {site} ({size / 1e6:.1f} MB)")
    served: list[tuple[str, int]] = []
    with serve(site, served) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        for run in range(1, arguments.runs + 1):
            served.clear()
            load = os.getloadavg()[0]
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            network = Network(origin=base)
            context.route("**/*", network.route)
            page = context.new_page()
            cpu_before = browser_cpu_seconds()
            started = time.monotonic()
            open_first_notebook(page, base, TUTORIAL, 240)
            idle = time.monotonic() - started
            ran = run_cells(page, 240, up_to=UP_TO)
            view = page.locator(".mlv").first
            for queue in QUEUES:
                card = view.locator(f'.mlv-queue[data-queue="{queue}"] .mlv-card').first
                expect(card).to_be_visible(timeout=240_000)
            fan_out = time.monotonic() - started
            cpu = cpu_used(cpu_before, browser_cpu_seconds())
            context.close()
            assert not ran.errors() and not network.refused, (ran.errors(), network.refused)
            sent = sum(length for _, length in served)
            print(
                f"run {run}: load average {load:.1f} (now {os.getloadavg()[0]:.1f}); "
                f"idle kernel {idle:.1f} s; fan-out on screen {fan_out:.1f} s "
                f"(browser CPU {cpu:.1f} s); "
                f"{len(served)} files, {sent / 1e6:.1f} MB sent"
            )
        browser.close()


if __name__ == "__main__":
    main()
