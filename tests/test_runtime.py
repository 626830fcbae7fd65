"""Background work runs as a thread normally and as an asyncio task in a browser tab (Pyodide),
where threads cannot start; the dispatcher's start()/stop() are the same in both."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from melange_lab import (
    Consumer,
    MessagingBackendFactory,
    QueuePublisher,
    SimpleMessageDispatcher,
    SimulatedBroker,
    TopicPublisher,
)
from melange_lab.runtime import call_later, in_pyodide, run_in_background
from melange_lab.serializers import SerializerRegistry


@pytest.fixture
def pyodide(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Makes this interpreter look like Pyodide: the platform says so and threads refuse to
    start, as they do in a browser tab."""

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr("sys.platform", "emscripten")
    monkeypatch.setattr(threading.Thread, "start", refuse)
    yield


def test_in_pyodide_is_false_on_a_normal_interpreter() -> None:
    assert not in_pyodide()


def test_in_pyodide_is_true_on_emscripten(pyodide: None) -> None:
    assert in_pyodide()


class Counter:
    """A step that counts its calls and asks to rest ``rest`` seconds after each."""

    def __init__(self, rest: float | None = 0.0, limit: int | None = None) -> None:
        self.calls = 0
        self.rest = rest
        self.limit = limit

    def __call__(self) -> float | None:
        self.calls += 1
        if self.limit is not None and self.calls >= self.limit:
            return None
        return self.rest


@pytest.mark.timeout(20)
def test_a_job_runs_in_a_daemon_thread_until_stopped() -> None:
    stop = threading.Event()
    step = Counter(rest=0.01)
    job = run_in_background(step, stop=stop, name="counting")
    names = {thread.name: thread.daemon for thread in threading.enumerate()}
    assert names.get("counting") is True
    assert job.alive
    stop.set()
    assert job.join(5)
    assert not job.alive and step.calls >= 1


@pytest.mark.timeout(20)
def test_a_job_ends_when_its_step_says_it_is_done() -> None:
    step = Counter(limit=3)
    job = run_in_background(step, stop=threading.Event(), name="three")
    assert job.join(5)
    assert step.calls == 3


@pytest.mark.timeout(20)
def test_a_step_that_raises_ends_the_job_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> float | None:
        raise ValueError("boom")

    job = run_in_background(broken, stop=threading.Event(), name="broken")
    assert job.join(5)
    assert "background job broken stopped" in caplog.text and "boom" in caplog.text


@pytest.mark.timeout(20)
def test_in_pyodide_a_job_is_an_asyncio_task_that_runs_while_the_notebook_awaits(
    pyodide: None,
) -> None:
    async def scenario() -> tuple[int, int, bool, bool]:
        stop = threading.Event()
        step = Counter(rest=0.01)
        job = run_in_background(step, stop=stop, name="task")  # no thread: it would raise
        before = step.calls  # nothing runs until this coroutine awaits
        await asyncio.sleep(0.2)
        stop.set()
        joined = job.join(0)
        return before, step.calls, joined, job.alive

    before, after, joined, alive = asyncio.run(scenario())
    assert before == 0 and after >= 2
    assert joined and not alive


@pytest.mark.timeout(20)
def test_in_pyodide_a_finished_task_is_not_alive(pyodide: None) -> None:
    async def scenario() -> bool:
        job = run_in_background(Counter(limit=2), stop=threading.Event(), name="two")
        await asyncio.sleep(0.05)
        return job.alive

    assert asyncio.run(scenario()) is False


@pytest.mark.timeout(30)
def test_in_pyodide_the_background_dispatcher_consumes_while_the_notebook_awaits(
    pyodide: None, registry: SerializerRegistry
) -> None:
    seen: list[object] = []

    async def scenario() -> tuple[int, str, bool]:
        with SimulatedBroker() as broker:
            broker.backend.declare_queue("inbox")
            dispatcher = SimpleMessageDispatcher(
                Consumer(on_message=seen.append), registry, backend=broker.backend
            )
            dispatcher.start("inbox", poll_interval=0.01)
            assert dispatcher.running
            for n in range(3):
                QueuePublisher(registry, broker.backend).publish("inbox", {"n": n})
            for _ in range(100):
                if len(seen) == 3:
                    break
                await asyncio.sleep(0.02)
            summary = dispatcher.stop()
            return summary.acknowledged, summary.stopped_because, dispatcher.running

    acknowledged, why, running = asyncio.run(scenario())
    assert (acknowledged, why, running) == (3, "stopped", False)
    assert seen == [{"n": 0}, {"n": 1}, {"n": 2}]


@pytest.mark.timeout(30)
def test_in_pyodide_late_deliveries_arrive_while_the_notebook_awaits(
    pyodide: None, registry: SerializerRegistry
) -> None:
    """``delivery_latency`` on the real clock needs no thread: the copy is in transit until the
    notebook awaits, then the event loop delivers it."""

    async def scenario() -> tuple[int, int, bool]:
        with SimulatedBroker(delivery_latency=0.05) as broker:
            MessagingBackendFactory(broker.backend).init_queue("billing", ["orders"])
            TopicPublisher(registry, broker.backend).publish("orders", {"n": 1})
            in_transit = broker.pending_deliveries()
            for _ in range(200):
                if broker.peek("billing"):
                    break
                await asyncio.sleep(0.02)
            delivered = len(broker.peek("billing"))
            late = broker._late_deliveries
            assert late is not None
        return in_transit, delivered, late.alive

    in_transit, delivered, alive = asyncio.run(scenario())
    assert (in_transit, delivered) == (1, 1)
    assert not alive, "stopping the broker ends its late-deliveries task"


@pytest.mark.timeout(20)
def test_late_deliveries_on_a_normal_interpreter_run_in_a_daemon_thread(
    registry: SerializerRegistry,
) -> None:
    with SimulatedBroker(delivery_latency=0.05) as broker:
        names = {thread.name: thread.daemon for thread in threading.enumerate()}
        assert names.get("melange-lab-late-deliveries") is True
        late = broker._late_deliveries
        assert late is not None and late.alive
    assert not late.alive


@pytest.mark.timeout(20)
def test_call_later_calls_back_from_a_timer_thread() -> None:
    called = threading.Event()
    call_later(0.01, called.set)
    assert called.wait(5)


@pytest.mark.timeout(20)
def test_call_later_can_be_cancelled() -> None:
    called = threading.Event()
    call_later(0.2, called.set).cancel()
    assert not called.wait(0.5)


@pytest.mark.timeout(20)
def test_in_pyodide_call_later_runs_on_the_event_loop(pyodide: None) -> None:
    calls: list[str] = []

    async def scenario() -> tuple[list[str], list[str]]:
        call_later(0.01, lambda: calls.append(threading.current_thread().name))
        before = list(calls)
        await asyncio.sleep(0.1)
        return before, list(calls)

    before, after = asyncio.run(scenario())
    assert before == [] and after == [threading.main_thread().name]
