"""What one broker-view update costs: Python time and bytes sent to the front end.

Run: .venv/bin/python benchmarks/widget_update.py [--sizes 10 10000] [--repeat 7]

For each queue depth it fills a queue with ``publish_to_queue_batch`` while a view watches,
then publishes one more message and times ``view.flush()``, the redraw that message
triggers, and the bytes the widget sends (captured by a recording comm, as ipywidgets' tests
do). It ends with one page turn (the intent the Next button sends) at each depth. Prints a
table; medians over --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

from melange_lab import QueuePublisher, SimulatedBroker
from melange_lab.models import Message, MessageDto
from melange_lab.widgets.actions import default_registry
from melange_lab.widgets.broker_view import BrokerView
from melange_lab.widgets.comm_recorder import CommRecorder, recording_comms

QUEUE = "bulk"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 10_000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows = []
    with recording_comms() as comms, SimulatedBroker(clock="manual") as broker:
        publisher = QueuePublisher(default_registry(), broker.backend)
        for size in args.sizes:
            broker.backend.declare_queue(QUEUE)
            view = broker.view(refresh_interval=None)
            fill_s, redraws = fill(broker, view, size)
            ms, sent, messages = one_update(view, publisher, comms, args.repeat)
            turn_ms, turn_bytes = page_turn(view, comms)
            rows.append((size, fill_s, redraws, ms, sent, messages, turn_ms, turn_bytes))
            view.close()
            broker.reset()
    header = (
        "messages | fill (s) | redraws during fill | one update (ms) | bytes sent "
        "| comm msgs | page turn (ms) | page turn bytes"
    )
    print(header)
    print("|".join("---" for _ in header.split("|")))
    for size, fill_s, redraws, ms, sent, messages, turn_ms, turn_bytes in rows:
        print(
            f"{size:,} | {fill_s:.1f} | {redraws} | {ms:.1f} | {sent:,} | {messages} "
            f"| {turn_ms:.1f} | {turn_bytes:,}"
        )


if __name__ == "__main__":
    main()
