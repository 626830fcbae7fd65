"""The benchmark cases. Each returns table rows: what was measured, the figure, the target.

Every case starts its own ``SimulatedBroker`` (real clock, fixes installed as in the lab), so
the cases do not share queues or depth. Timings are wall-clock ``perf_counter`` seconds.
"""

from __future__ import annotations

import functools
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass

import boto3

from melange_lab import (
    Consumer,
    MessageDispatcher,
    QueuePublisher,
    SimulatedBroker,
    TopicPublisher,
)
from melange_lab.models import Message, MessageDto
from melange_lab.serializers import JsonSerializer, SerializerRegistry

BLOCK = 1_000
ORDER = {"order_id": 1, "customer": "ada", "items": ["tea", "scones"], "total": 12.5}


@dataclass(frozen=True)
class Row:
    """One line of the table; ``met`` is None when the row has no target."""

    case: str
    figure: str
    target: str = ""
    met: bool | None = None


@dataclass(frozen=True)
class Sizes:
    """How much each case does: ``full`` is what docs/performance.md reports."""

    compare_rounds: int
    compare_block: int
    depth: int
    fifo_depth: int
    drain: int
    fan_out_publishes: int
    start_up_runs: int
    view_depth: int
    view_repeat: int


FULL = Sizes(100, 50, 20_000, 20_000, 20_000, 200, 3, 10_000, 7)
QUICK = Sizes(20, 25, 4_000, 4_000, 4_000, 40, 1, 1_000, 3)
FAN_OUT_ROUNDS = 20  # each round publishes a block to every fan-out topic in turn
FAN_OUT_PER_QUEUE_MS = 0.14  # issue #20: an added queue at 50, before the broker's events


def _registry() -> SerializerRegistry:
    return SerializerRegistry(
        {"serializers": {"json": JsonSerializer}, "serializer_bindings": {dict: "json"}}
    )


def _timed(step: Callable[[], object], times: int) -> float:
    """Seconds per call of ``step`` over ``times`` calls."""
    started = time.perf_counter()
    for _ in range(times):
        step()
    return (time.perf_counter() - started) / times


def _timed_both(step: Callable[[], object], times: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) per call of ``step`` over ``times`` calls.
    The CPU time moves far less with what else the machine runs."""
    cpu = time.process_time()
    wall = _timed(step, times)
    return wall, (time.process_time() - cpu) / times


def _rate(seconds_per_message: float) -> str:
    return f"{1 / seconds_per_message:,.0f}/s"


def _ratio_row(case: str, first: float, last: float, limit: float) -> Row:
    ratio = last / first
    figure = f"{ratio:.2f} (first {_rate(first)}, last {_rate(last)})"
    return Row(case, figure, f"<= {limit}", ratio <= limit)


# --- publishing -----------------------------------------------------------------------------


def publisher_vs_boto3(sizes: Sizes) -> list[Row]:
    """QueuePublisher.publish against plain boto3 send_message in alternating small blocks.

    The ratio is the median of each pair of neighbouring blocks' ratio: on a shared machine
    whatever else runs slows both blocks of a pair alike, so it cancels out of their ratio.
    """
    with SimulatedBroker() as broker:
        backend = broker.backend
        backend.declare_queue("via-publisher")
        backend.declare_queue("via-boto3")
        publisher = QueuePublisher(_registry(), backend)
        sqs = boto3.client(
            "sqs", region_name=broker.region, aws_access_key_id="x", aws_secret_access_key="x"
        )
        url = backend.get_queue("via-boto3").url
        body = JsonSerializer().serialize(ORDER)
        via_lab = functools.partial(publisher.publish, "via-publisher", ORDER)
        via_boto3 = functools.partial(sqs.send_message, QueueUrl=url, MessageBody=body)
        pairs = [
            (_timed(via_lab, sizes.compare_block), _timed(via_boto3, sizes.compare_block))
            for _ in range(sizes.compare_rounds)
        ]
    lab_cost = statistics.median(lab for lab, _ in pairs)
    plain_cost = statistics.median(plain for _, plain in pairs)
    ratio = statistics.median(lab / plain for lab, plain in pairs)
    total = sizes.compare_rounds * sizes.compare_block
    return [
        Row(f"queue publish, QueuePublisher ({total:,} msgs)", _rate(lab_cost), "~800/s", None),
        Row(f"queue publish, plain boto3 send_message ({total:,} msgs)", _rate(plain_cost)),
        Row("QueuePublisher cost / boto3 cost", f"{ratio:.2f}x", "<= 1.25x", ratio <= 1.25),
    ]


def _blocks(step: Callable[[], object], total: int) -> tuple[float, float]:
    """Seconds per call over the first and the last BLOCK of ``total`` calls."""
    first = _timed(step, BLOCK)
    _timed(step, total - 2 * BLOCK)
    return first, _timed(step, BLOCK)


def publish_depth(sizes: Sizes) -> list[Row]:
    """The last 1,000 of ``depth`` publishes to one queue over the first 1,000."""
    with SimulatedBroker() as broker:
        broker.backend.declare_queue("deep")
        publisher = QueuePublisher(_registry(), broker.backend)
        first, last = _blocks(lambda: publisher.publish("deep", ORDER), sizes.depth)
    case = f"publish depth scaling, last/first 1,000 of {sizes.depth:,}"
    return [_ratio_row(case, first, last, 1.3)]


def fifo_publish_depth(sizes: Sizes) -> list[Row]:
    """The same on a FIFO queue, where moto looks for duplicates among the queued messages."""
    counter = iter(range(10**9))
    with SimulatedBroker() as broker:
        broker.backend.declare_queue("deep.fifo")
        publisher = QueuePublisher(_registry(), broker.backend)

        def publish() -> None:
            publisher.publish("deep.fifo", ORDER, message_group_id=f"g{next(counter) % 10}")

        first, last = _blocks(publish, sizes.fifo_depth)
    case = f"FIFO publish depth scaling, last/first 1,000 of {sizes.fifo_depth:,}"
    return [_ratio_row(case, first, last, 1.3)]


# --- consuming ------------------------------------------------------------------------------


def drain(sizes: Sizes) -> list[Row]:
    """MessageDispatcher.consume_loop over ``drain`` messages, timed per block of 1,000."""
    with SimulatedBroker() as broker:
        backend = broker.backend
        queue, _ = backend.declare_queue("backlog")
        registry = _registry()
        json_serializer = JsonSerializer()
        message = Message.create(
            json_serializer.serialize(ORDER),
            json_serializer.manifest(ORDER),
            json_serializer.identifier(),
        )
        for _ in range(0, sizes.drain, 100):
            backend.publish_to_queue_batch([MessageDto(message)] * 100, queue)
        dispatcher = MessageDispatcher(registry, backend=backend)
        handled: list[int] = []
        dispatcher.attach_consumer(Consumer(on_message=lambda order: handled.append(1)))

        def block() -> float:
            started = time.perf_counter()
            summary = dispatcher.consume_loop("backlog", max_messages=BLOCK)
            assert summary.acknowledged == BLOCK, summary
            return (time.perf_counter() - started) / BLOCK

        costs = [block() for _ in range(sizes.drain // BLOCK)]
        assert len(handled) == sizes.drain and broker.queues()[0].visible == 0
    first, last = costs[0], costs[-1]
    worst = max(costs)
    return [
        _ratio_row(
            f"drain through MessageDispatcher, last/first 1,000 of {sizes.drain:,}",
            first,
            last,
            1.3,
        ),
        Row("drain, slowest block of 1,000", _rate(worst), "~400/s", 1 / worst >= 400),
    ]


# --- fan-out --------------------------------------------------------------------------------


def fan_out(sizes: Sizes) -> list[Row]:
    """Publish to topics with 1, 10 and 50 subscribed queues, on one broker, in turn.

    Each round publishes a small block to each topic; a round's cost per added queue is
    (50-queue block - 1-queue block) / 49, and the figures are medians over the rounds, so
    whatever else the machine runs slows the blocks of one round alike and cancels out. The
    same in CPU time (the whole process: moto runs in it) is compared with the issue's figure
    from a quiet machine.
    """
    counts = (1, 10, 50)
    with SimulatedBroker() as broker:
        backend = broker.backend
        publisher = TopicPublisher(_registry(), backend)
        for n in counts:
            topic = backend.declare_topic(f"fan-{n}")
            for i in range(n):
                backend.declare_queue(f"fan-{n}-subscriber-{i}", topic)
            publisher.publish(topic.name, ORDER)  # the first delivery makes the signing key
        block = max(1, sizes.fan_out_publishes // FAN_OUT_ROUNDS)
        both = [
            {
                n: _timed_both(functools.partial(publisher.publish, f"fan-{n}", ORDER), block)
                for n in counts
            }
            for _ in range(FAN_OUT_ROUNDS)
        ]
        assert broker.queues()[0].visible == block * FAN_OUT_ROUNDS + 1
    rounds = [{n: wall for n, (wall, _) in r.items()} for r in both]
    cpu_per_queue_50 = statistics.median((r[50][1] - r[1][1]) / 49 for r in both)
    costs = {n: statistics.median(r[n] for r in rounds) for n in counts}
    per_queue_10 = statistics.median((r[10] - r[1]) / 9 for r in rounds)
    per_queue_50 = statistics.median((r[50] - r[1]) / 49 for r in rounds)
    rows = [
        Row(
            f"topic publish, {n} subscribed queue{'s' * (n > 1)}",
            f"{costs[n] * 1000:.1f} ms ({costs[n] / n * 1000:.2f} ms per queue)",
        )
        for n in counts
    ]
    rows.append(
        Row(
            "fan-out: cost per added queue, 1->50",
            f"{per_queue_50 * 1000:.2f} ms",
            "no worse than before the broker reported events",
        )
    )
    rows.append(
        Row(
            "fan-out: CPU time per added queue, 1->50",
            f"{cpu_per_queue_50 * 1000:.2f} ms",
            f"<= {FAN_OUT_PER_QUEUE_MS} ms (issue #20, a quiet machine)",
            cpu_per_queue_50 * 1000 <= FAN_OUT_PER_QUEUE_MS,
        )
    )
    growth = per_queue_50 / per_queue_10
    rows.append(
        Row(
            "fan-out: cost per added queue, 1->50 over 1->10",
            f"{growth:.2f} ({per_queue_10 * 1000:.2f} vs {per_queue_50 * 1000:.2f} ms)",
            "<= 1.3 (linear)",
            growth <= 1.3,
        )
    )
    return rows


# --- start-up -------------------------------------------------------------------------------

_START_UP = textwrap.dedent(
    """
    import time
    started = time.perf_counter()
    from melange_lab import QueuePublisher, SimulatedBroker
    from melange_lab.serializers import JsonSerializer, SerializerRegistry
    imported = time.perf_counter()
    broker = SimulatedBroker()
    broker.backend.declare_queue("hello")
    registry = SerializerRegistry(
        {"serializers": {"json": JsonSerializer}, "serializer_bindings": {dict: "json"}}
    )
    QueuePublisher(registry, broker.backend).publish("hello", {"n": 1})
    assert broker.backend.retrieve_messages(broker.backend.get_queue("hello"))[0].content
    print(imported - started, time.time())
    """
)


def start_up(sizes: Sizes) -> list[Row]:
    """A fresh interpreter: import the lab, start a broker, publish and receive one message.

    Measured from spawning the process to the moment the message was received (wall clock in
    both processes); the interpreter's own shutdown afterwards is shown apart.
    """
    totals: list[float] = []
    imports: list[float] = []
    shutdowns: list[float] = []
    for _ in range(sizes.start_up_runs):
        spawned = time.time()
        done = subprocess.run([sys.executable, "-c", _START_UP], capture_output=True, text=True)
        ended = time.time()
        if done.returncode != 0:
            raise RuntimeError(f"the start-up script failed:\n{done.stderr}")
        imported, delivered = (float(part) for part in done.stdout.split())
        totals.append(delivered - spawned)
        imports.append(imported)
        shutdowns.append(ended - delivered)
    total, imported = statistics.median(totals), statistics.median(imports)
    return [
        Row(
            "start-up: fresh process to first delivered message",
            f"{total:.2f} s (imports {imported:.2f} s; exit {statistics.median(shutdowns):.2f} s)",
            "< 1.5 s",
            total < 1.5,
        )
    ]


# --- the broker view ------------------------------------------------------------------------


def broker_view(sizes: Sizes) -> list[Row]:
    """One broker-view update at 10 and at ``view_depth`` messages, via widget_update."""
    from benchmarks import widget_update as wu
    from melange_lab.widgets.actions import default_registry
    from melange_lab.widgets.comm_recorder import recording_comms

    rows: list[Row] = []
    with recording_comms() as comms, SimulatedBroker(clock="manual") as broker:
        publisher = QueuePublisher(default_registry(), broker.backend)
        for depth in (10, sizes.view_depth):
            broker.backend.declare_queue(wu.QUEUE)
            view = broker.view(refresh_interval=None)
            wu.fill(broker, view, depth)
            ms, sent, _ = wu.one_update(view, publisher, comms, sizes.view_repeat)
            rows.append(
                Row(f"broker view, one update at {depth:,} messages", f"{ms:.1f} ms, {sent:,} B")
            )
            view.close()
            broker.reset()
    return rows


CASES: list[Callable[[Sizes], list[Row]]] = [
    publisher_vs_boto3,
    publish_depth,
    fifo_publish_depth,
    drain,
    fan_out,
    start_up,
    broker_view,
]
