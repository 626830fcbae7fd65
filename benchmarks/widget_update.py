"""What one broker-view update costs, and whether a 1,000-message burst keeps it responsive.

Run: .venv/bin/python benchmarks/widget_update.py [--sizes 10 10000] [--repeat 7] [--no-browser]

Part 1, Python: for each queue depth it fills a queue with ``publish_to_queue_batch`` while a
view watches, then publishes one more message and times ``view.flush()``, the redraw that
message triggers, and the bytes the widget sends (captured by a recording comm, as
ipywidgets' tests do), and one page turn (the intent the Next button sends).

Part 2, a burst: 1,000 messages published to a topic with three subscriptions (4,000 events)
while a view watches: what the view adds to the burst (its observer runs once per event), the
one redraw after it, and the bytes. Then the front end (``view.js`` in headless Chromium, fed
the very update the kernel would send, see ``tests/browser/frontend.py``): how long applying
that update takes, the longest task, and the longest gap between two animation frames in the
three seconds after it. Prints tables; medians over --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from melange_lab import MessagingBackendFactory, QueuePublisher, SimulatedBroker
from melange_lab.models import Message, MessageDto
from melange_lab.widgets.actions import default_registry
from melange_lab.widgets.broker_view import BrokerView
from melange_lab.widgets.comm_recorder import CommRecorder, recording_comms

QUEUE = "bulk"
BURST = 1_000
SUBSCRIBERS = ("billing", "shipping", "analytics")


def fill(broker: SimulatedBroker, view: BrokerView, size: int) -> tuple[float, int]:
    """Publishes ``size`` messages in batches; returns the seconds taken and redraws caused."""
    backend = broker.backend
    queue = backend.get_queue(QUEUE)
    before = view.renders
    started = time.perf_counter()
    backend.publish_to_queue_batch(
        [MessageDto(Message.create(f'{{"n": {i}}}', "json", 1)) for i in range(size)], queue
    )
    seconds = time.perf_counter() - started
    view.flush()  # in a kernel, the one redraw the event loop runs after the cell
    return seconds, view.renders - before


def one_update(
    view: BrokerView, publisher: QueuePublisher, comms: CommRecorder, repeat: int
) -> tuple[float, int, int]:
    """Median ms, bytes and comm messages of the redraw after publishing one message."""
    times, sizes, counts = [], [], []
    for n in range(repeat):
        publisher.publish(QUEUE, {"extra": n})
        comms.clear()
        started = time.perf_counter()
        view.flush()
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(comms.bytes_sent)
        counts.append(len(comms.messages))
    return statistics.median(times), int(statistics.median(sizes)), int(statistics.median(counts))


def page_turn(view: BrokerView, comms: CommRecorder) -> tuple[float, int]:
    comms.clear()
    started = time.perf_counter()
    view._handle_custom_msg({"intent": "page", "queue": QUEUE, "page": 1}, [])
    return (time.perf_counter() - started) * 1000, comms.bytes_sent


def depths(sizes: list[int], repeat: int) -> None:
    rows = []
    with recording_comms() as comms, SimulatedBroker(clock="manual") as broker:
        publisher = QueuePublisher(default_registry(), broker.backend)
        for size in sizes:
            broker.backend.declare_queue(QUEUE)
            view = broker.view(refresh_interval=None)
            fill_s, redraws = fill(broker, view, size)
            ms, sent, messages = one_update(view, publisher, comms, repeat)
            turn_ms, turn_bytes = page_turn(view, comms)
            rows.append((size, fill_s, redraws, ms, sent, messages, turn_ms, turn_bytes))
            view.close()
            broker.reset()
    print(
        "messages | fill (s) | redraws during fill | one update (ms) | bytes sent | comm msgs "
        "| page turn (ms) | page turn bytes"
    )
    print("---|---|---|---|---|---|---|---")
    for size, fill_s, redraws, ms, sent, messages, turn_ms, turn_bytes in rows:
        print(
            f"{size:,} | {fill_s:.1f} | {redraws} | {ms:.1f} | {sent:,} | {messages} "
            f"| {turn_ms:.1f} | {turn_bytes:,}"
        )
    if len(rows) >= 2:
        ratio = rows[-1][3] / rows[0][3]
        print(f"\nupdate at {rows[-1][0]:,} / update at {rows[0][0]:,}: {ratio:.2f}x")


def burst_broker() -> SimulatedBroker:
    broker = SimulatedBroker(clock="manual")
    factory = MessagingBackendFactory(broker.backend)
    for name in SUBSCRIBERS:
        factory.init_queue(name, ["orders"])
    return broker


def publish_burst(broker: SimulatedBroker) -> float:
    """Publishes BURST messages to the topic, one call each; returns the seconds it took."""
    backend = broker.backend
    topic = backend.declare_topic("orders")
    started = time.perf_counter()
    for i in range(BURST):
        backend.publish_to_topic(Message.create(f'{{"n": {i}}}', "json", 1), topic)
    return time.perf_counter() - started


def burst(repeat: int, browser: bool) -> None:
    without, with_view, redraw_ms, sent, events = [], [], [], [], 0
    front: dict[str, list[float]] = {"apply": [], "longest task": [], "longest frame gap": []}
    for _ in range(repeat):
        with burst_broker() as broker:
            without.append(publish_burst(broker))
        with recording_comms() as comms, burst_broker() as broker:
            view = broker.view(refresh_interval=None)
            initial = view_state(view)
            before = len(broker.events)
            with_view.append(publish_burst(broker))
            events = len(broker.events) - before
            comms.clear()
            started = time.perf_counter()
            view.flush()
            redraw_ms.append((time.perf_counter() - started) * 1000)
            sent.append(comms.bytes_sent)
            update = [m["state"] for m in comms.messages if m.get("method") == "update"]
            if browser:
                for name, value in front_end_costs(initial, update).items():
                    front[name].append(value)
            view.close()
    added = (statistics.median(with_view) - statistics.median(without)) / events * 1e6
    print(f"\nburst: {BURST:,} messages to a topic with {len(SUBSCRIBERS)} subscriptions, "
          f"{events:,} events")  # fmt: skip
    print("publishing (s) without a view | with a view | the view's cost per event (us) "
          "| the redraw after it (ms) | bytes sent")  # fmt: skip
    print("---|---|---|---|---")
    print(f"{statistics.median(without):.2f} | {statistics.median(with_view):.2f} | {added:.1f} "
          f"| {statistics.median(redraw_ms):.1f} | {int(statistics.median(sent)):,}")  # fmt: skip
    if browser:
        print("\nfront end: applying the burst's update (ms) | longest task (ms) "
              "| longest gap between animation frames in the next 3 s (ms)")  # fmt: skip
        print("---|---|---")
        print(" | ".join(f"{statistics.median(front[k]):.0f}" for k in front))


def view_state(view: BrokerView) -> dict[str, Any]:
    return {k: v for k, v in view.get_state().items() if not k.startswith("_")}


_MEASURE_JS = """
async (updates) => {
  const longest = { task: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longest.task = Math.max(longest.task, e.duration);
  }).observe({ type: "longtask", buffered: false });
  const started = performance.now();
  for (const update of updates) window.mlvModel.push(update);
  await new Promise((resolve) => queueMicrotask(resolve));
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const applied = performance.now() - started;
  let last = performance.now(), gap = 0;
  await new Promise((resolve) => {
    const frame = (now) => {
      gap = Math.max(gap, now - last); last = now;
      if (now - started < 3000) requestAnimationFrame(frame); else resolve();
    };
    requestAnimationFrame(frame);
  });
  return { apply: applied, "longest task": longest.task, "longest frame gap": gap };
}
"""


def front_end_costs(initial: dict[str, Any], updates: list[dict[str, Any]]) -> dict[str, float]:
    """The front end's cost of one burst update, in headless Chromium (no Jupyter)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.frontend import _MOUNT_JS, VIEW_CSS, VIEW_JS
    from tests.browser.lab_harness import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_content("<!doctype html><html><body></body></html>")
            page.evaluate(_MOUNT_JS, [VIEW_JS, {**initial, "_css": VIEW_CSS}])
            page.wait_for_timeout(500)
            found: dict[str, float] = page.evaluate(_MEASURE_JS, updates)
            return found
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 10_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-browser", action="store_true", help="skip the front-end part")
    args = parser.parse_args()
    depths(args.sizes, args.repeat)
    burst(max(1, args.repeat // 2), browser=not args.no_browser)


if __name__ == "__main__":
    main()
