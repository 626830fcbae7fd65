"""The simulated broker: SNS topics fanning out to SQS queues, inside this Python process.

Built on moto's ``mock_aws``. It never reaches the network or a real AWS account: its boto3
clients carry fake credentials of their own and every request they make is answered by moto.
Only one simulated broker is live per process (moto's state is process-wide), so creating a
new one, e.g. by re-running a notebook cell, stops the old one first.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from moto import mock_aws

from melange_lab import limits, moto_internals, request_text, runtime
from melange_lab.arguments import (
    checked,
    choice,
    flag,
    number,
    serializer_registry,
    whole_number,
)
from melange_lab.backends.sqs import Subscription
from melange_lab.backends.sqs.simulated import SimulatedSQSBackend
from melange_lab.clock import CLOCK_MODES, BrokerClock, ClockMode
from melange_lab.errors import (
    BrokerStopped,
    InvalidParameter,
    MelangeLabError,
    UnknownOption,
    quoted,
)
from melange_lab.events import MAX_EVENTS, EventKind, EventLog, Observer
from melange_lab.faults import FaultInjector
from melange_lab.inspection import (
    PeekedMessage,
    PeekPage,
    QueueInfo,
    SimulatedInspector,
    TopicInfo,
)
from melange_lab.serializers import SerializerRegistry
from melange_lab.serving import BrokerServer, check_host, check_port
from melange_lab.simulated_environment import SimulatedEnvironment

if TYPE_CHECKING:
    from melange_lab.widgets.broker_view import BrokerView

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"  # moto's default account
DEFAULT_REGION = "us-east-1"
_FAKE_KEY = "melange-lab"  # the broker's own credentials; moto accepts any
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")


def check_region(parameter: str, value: object) -> str:
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        raise InvalidParameter(
            parameter, value, "an AWS region name such as 'us-east-1' or 'eu-west-1'"
        )
    return value


def _clock_mode(parameter: str, value: object) -> str:
    return choice(parameter, value, CLOCK_MODES)


SERVICES = ("sqs", "sns")  # what the simulated broker is; moto would answer others too


def _service(parameter: str, value: object) -> str:
    fix = "e.g. broker.client('sqs') or broker.client('sns')."
    if isinstance(value, str) and value.strip().lower() in SERVICES and value not in SERVICES:
        fix = f"Service names are lower case: broker.client({value.strip().lower()!r})."
    if not isinstance(value, str) or value not in SERVICES:
        raise InvalidParameter(parameter, value, "'sqs' or 'sns', the services this broker is", fix)
    return value


def _max_events(parameter: str, value: object) -> int:
    return whole_number(parameter, value, 1, MAX_EVENTS, fix="e.g. max_events=10_000.")


def _check_default_options(options: dict[str, Any]) -> None:
    """``SimulatedBroker.default``'s options checked as the constructor checks them, even when
    the live broker is shared: a misspelt option is named, not taken for another setting."""
    known = [p for p in inspect.signature(SimulatedBroker.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UnknownOption(
            "SimulatedBroker.default", f"unknown option(s) {quoted(unknown)}", known
        )
    for key, check in (("region", check_region), ("clock", _clock_mode)):
        if key in options:
            check(key, options[key])


class _Live:
    """The one live simulated broker of this process."""

    def __init__(self) -> None:
        self.broker: SimulatedBroker | None = None
        self.lock = threading.RLock()


_live = _Live()


def _checked_latency(seconds: float) -> float:
    return number(
        "delivery_latency",
        seconds,
        0,
        3_600,
        unit="seconds on the broker's clock",
        fix="e.g. SimulatedBroker(delivery_latency=0.5), or 0 to deliver inside publish.",
    )


class _LateDeliveries:
    """While the clock runs in real time, delivers SNS to SQS copies when their latency has
    passed: in a background thread normally, as an asyncio task in a browser tab
    (``melange_lab.runtime``), where deliveries happen while the notebook is idle or awaiting.
    On a manual clock it waits (``clock.advance`` delivers); switching the clock's mode either
    way keeps every copy in transit on its way."""

    POLL_SECONDS = 0.01
    MANUAL_POLL_SECONDS = 0.1

    def __init__(self, clock: BrokerClock) -> None:
        self._clock = clock
        self._stopping = threading.Event()
        self._job = runtime.run_in_background(
            self._step, stop=self._stopping, name="melange-lab-late-deliveries"
        )

    def _step(self) -> float:
        if self._clock.mode == "manual":
            return self.MANUAL_POLL_SECONDS
        try:
            moto_internals.deliver_due()
        except Exception:  # each delivery reports its own failure; this is a bug's last guard
            logger.exception("a late SNS to SQS delivery failed")
        return self.POLL_SECONDS

    @property
    def alive(self) -> bool:
        return self._job.alive

    def stop(self) -> None:
        self._stopping.set()
        self._job.join(timeout=5)


class SimulatedBroker:
    """An in-process SNS/SQS broker with melange's backend on top.

    Use it as a context manager, or keep it for a whole notebook (``start()``, ``stop()``,
    ``reset()``). ``broker.backend`` is what publishers and dispatchers take;
    ``broker.events`` logs everything; ``topics()``, ``queues()``, ``subscriptions()`` and
    ``peek()`` look inside without changing anything. ``delivery_latency`` (seconds on the
    broker's clock) delivers SNS to SQS that long after publish, as AWS does asynchronously;
    0 delivers inside publish. ``client("sqs")``/``session`` are plain boto3 on this broker.
    """

    @checked(
        region=check_region,
        clock=_clock_mode,
        max_receive_count=limits.MAX_RECEIVE_COUNT.check,
        max_events=_max_events,
        start=flag,
    )
    def __init__(
        self,
        *,
        region: str = DEFAULT_REGION,
        clock: ClockMode = "real",
        max_receive_count: int = 4,
        max_events: int = 10_000,
        delivery_latency: float = 0.0,
        start: bool = True,
    ) -> None:
        self.region = region
        self.account_id = ACCOUNT_ID
        self.clock = BrokerClock(clock, on_advance=self._clock_advanced)
        self.events = EventLog(self.clock.now, max_events)
        self._max_receive_count = max_receive_count
        self._mock: Any = None
        self._backend: SimulatedSQSBackend | None = None
        self._inspector: SimulatedInspector | None = None
        self._stopped_because = "it has not been started"
        self._shutting_down = False  # set before the mock goes: the guard refuses from then on
        self._delivery_latency = _checked_latency(delivery_latency)
        self._environment = SimulatedEnvironment(region)
        self._late_deliveries: _LateDeliveries | None = None
        self._servers: list[BrokerServer] = []
        self._stop_observers: list[Callable[[SimulatedBroker | None], None]] = []
        if start:
            self.start()

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._mock is not None

    def start(self) -> SimulatedBroker:
        """Starts the broker (empty), stopping any other simulated broker of this process."""
        with _live.lock:
            if self.running:
                return self
            previous = _live.broker
            if previous is not None and previous is not self:
                previous._shut_down("a newer SimulatedBroker replaced it in this process")
            moto_internals.check_supported()
            self._mock = mock_aws(
                config={"core": {"mock_credentials": False, "reset_boto3_session": False}}
            )
            self._mock.start()
            moto_internals.install_lab_layers(self.clock.now, lambda: self.clock.mode == "manual")
            moto_internals.install_broker_events(self.events, self._last_failure)
            self._start_delivery_latency()
            request_text.turn_on()
            self._environment.enter()
            self._backend = self._new_backend()
            self._inspector = SimulatedInspector(self._backend, self.account_id, self.region)
            _live.broker = self
        if previous is not None and previous is not self:
            previous._tell_stopped(self)
        return self

    @classmethod
    def default(cls, **options: Any) -> SimulatedBroker:
        """The live broker of this process, started (with ``options``) if there is none.

        Several scripts or modules of one program share it, as melange programs share one
        ElasticMQ: where each wrote ``LocalSQSBackend(...)``, write
        ``SimulatedBroker.default().backend``. Options that differ from the live broker's
        raise instead of silently giving another broker.
        """
        with _live.lock:
            live = _live.broker
            if live is None or not live.running:
                return cls(**options)
            _check_default_options(options)
            wanted = {key: options[key] for key in ("region", "clock") if key in options}
            actual = {"region": live.region, "clock": live.clock.mode}
            differing = {k: v for k, v in wanted.items() if actual[k] != v}
            if differing or set(options) - {"region", "clock"}:
                raise MelangeLabError(
                    f"SimulatedBroker.default({quoted(options)}) asks for other settings than "
                    f"the live broker's ({actual}). Call SimulatedBroker.default() without "
                    "options to share it, or stop it first (broker.stop()) to start one with new "
                    "settings."
                )
            return live

    @staticmethod
    def current() -> SimulatedBroker | None:
        """The live broker of this process, or None; never starts one."""
        with _live.lock:
            live = _live.broker
            return live if live is not None and live.running else None

    def _new_backend(self) -> SimulatedSQSBackend:
        session = boto3.session.Session(
            aws_access_key_id=_FAKE_KEY, aws_secret_access_key=_FAKE_KEY, region_name=self.region
        )
        config = Config(retries={"max_attempts": 1, "mode": "standard"})
        return SimulatedSQSBackend(
            self,
            session.client("sqs", config=config),
            session.client("sns", config=config),
            max_receive_count=self._max_receive_count,
        )

    def stop(self) -> None:
        """Stops the broker and drops its state; other boto3 code in the process is unaffected."""
        if self._shut_down("it was stopped"):
            self._tell_stopped(None)

    def when_stopped(
        self, observer: Callable[[SimulatedBroker | None], None]
    ) -> Callable[[], None]:
        """Calls ``observer`` once, when this broker stops: with the newer ``SimulatedBroker``
        that replaced it (a re-run cell made one), or with None after ``stop()``. A view uses
        it to follow the broker on screen. Returns a function that cancels."""
        self._stop_observers.append(observer)

        def cancel() -> None:
            if observer in self._stop_observers:
                self._stop_observers.remove(observer)

        return cancel

    def _tell_stopped(self, successor: SimulatedBroker | None) -> None:
        observers, self._stop_observers = self._stop_observers, []
        for observer in observers:
            try:
                observer(successor)
            except Exception:  # like an event observer: a broken view never breaks a broker
                logger.exception("stop observer %r failed; ignored", observer)

    def _shut_down(self, reason: str) -> bool:
        """Stops the mock; False if the broker was not running."""
        with _live.lock:
            if not self.running:
                return False
            # first, so that a call from another thread refuses before the mock is gone
            self._stopped_because = reason
            self._shutting_down = True
            for server in list(self._servers):
                server.stop()
            self._stop_delivery_latency()
            moto_internals.uninstall_broker_events()
            self._environment.exit()
            request_text.turn_off()
            moto_internals.uninstall_lab_layers()
            self._mock.stop()
            self._mock = None
            self._shutting_down = False  # stopped now: the guard looks at the mock again
            if _live.broker is self:
                _live.broker = None
        return True

    def reset(self) -> None:
        """Deletes every topic, queue and message and clears the event log; keeps running."""
        self._ensure_running()
        moto_internals.drop_pending("the broker was reset while the copy was on its way")
        self._mock.reset()
        self.backend.forget_cache()
        self.events.clear()
        self.events.emit(EventKind.RESET)

    def __enter__(self) -> SimulatedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _ensure_running(self) -> None:
        if self._shutting_down or not self.running:
            raise BrokerStopped(self._stopped_because)

    # -- what learners use --------------------------------------------------------------------

    @property
    def backend(self) -> SimulatedSQSBackend:
        """melange's messaging backend for this broker: give it to publishers and dispatchers."""
        self._ensure_running()
        assert self._backend is not None
        return self._backend

    @property
    def session(self) -> boto3.session.Session:
        """A boto3 session on this broker (fake credentials, its region): for plain boto3 code.

        Plain ``boto3.client("sqs")`` works too while the broker runs, and never reaches AWS.
        """
        self._ensure_running()
        return boto3.session.Session(
            aws_access_key_id=_FAKE_KEY, aws_secret_access_key=_FAKE_KEY, region_name=self.region
        )

    @checked(service=_service)
    def client(self, service: Literal["sqs", "sns"]) -> Any:
        """A plain boto3 client of this broker, e.g. ``broker.client("sqs").list_queues()``.

        Once the broker stops, its calls raise ``BrokerStopped`` instead of reaching AWS.
        """
        client = self.session.client(service)
        client.meta.events.register_first("before-send", self._refuse_request)
        client.meta.events.register_last("before-send", self._refuse_request)
        return client

    def _refuse_request(self, **_: Any) -> None:
        self._ensure_running()

    @checked(port=check_port, host=check_host)
    def serve(self, port: int = 0, host: str = "127.0.0.1") -> BrokerServer:
        """Answers SNS and SQS over HTTP at ``host:port``, for programs outside this kernel.

        Another notebook, a terminal (``aws --endpoint-url <url> sqs list-queues``), or a
        service in any language then reach this broker's topics and queues; what they do is
        on ``broker.events`` and in the view. Returns a handle with ``.url`` and ``.stop()``
        (or use ``with broker.serve() as server:``); it stops with the broker. ``port=0``
        picks a free port. Only this machine can reach it unless ``host`` names another
        address (then anyone on that network can, and a warning says so).
        """
        self._ensure_running()
        server = BrokerServer(self, host, port)
        with _live.lock:
            self._servers.append(server)
        return server

    def _server_stopped(self, server: BrokerServer) -> None:
        with _live.lock:
            if server in self._servers:
                self._servers.remove(server)

    @property
    def delivery_latency(self) -> float:
        """Seconds (on the broker's clock) between an SNS publish and its SQS deliveries."""
        return self._delivery_latency

    def pending_deliveries(self) -> int:
        """SNS to SQS deliveries published but not yet delivered (with ``delivery_latency``)."""
        self._ensure_running()
        return moto_internals.pending_deliveries()

    def _start_delivery_latency(self) -> None:
        if self._delivery_latency <= 0:
            return
        moto_internals.install_delivery_latency(self._delivery_latency, self.clock.now)
        self._late_deliveries = _LateDeliveries(self.clock)

    def _stop_delivery_latency(self) -> None:
        """Copies still in transit are reported as dropped (``delivery_failed``), never lost
        without a word."""
        if self._late_deliveries is not None:
            self._late_deliveries.stop()
            self._late_deliveries = None
        moto_internals.drop_pending(
            "the broker stopped while the copy was on its way (delivery_latency); it was "
            "never delivered"
        )
        moto_internals.uninstall_delivery_latency()

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Calls ``observer(event)`` for every future event; returns an unsubscribe function."""
        return self.events.subscribe(observer)

    def topics(self) -> list[TopicInfo]:
        return self._inspect().topics()

    def queues(self) -> list[QueueInfo]:
        return self._inspect().queues()

    def subscriptions(self) -> list[Subscription]:
        return self._inspect().subscriptions()

    @checked(registry=serializer_registry)
    def peek(self, queue: str, registry: SerializerRegistry | None = None) -> list[PeekedMessage]:
        """Every message in ``queue`` with its state, without receiving or changing any."""
        return self._inspect().peek(queue, registry)

    @checked(registry=serializer_registry)
    def peek_page(
        self,
        queue: str,
        offset: int = 0,
        limit: int = 20,
        registry: SerializerRegistry | None = None,
    ) -> PeekPage:
        """One page of ``queue``'s messages (``offset``, ``limit``) and the total, decoding only
        that page: what the broker view shows of a deep queue."""
        return self._inspect().peek_page(queue, offset, limit, registry)

    @checked()
    def redrive(self, dead_letter_queue: str, to_queue: str | None = None) -> list[str]:
        """Moves every message of ``dead_letter_queue`` back to its source queue (one call).

        Returns the new message ids; each move is a ``redriven`` event. ``to_queue`` is needed
        only when several queues share this dead-letter queue.
        """
        if to_queue is not None and to_queue == dead_letter_queue:
            raise InvalidParameter(
                "to_queue",
                to_queue,
                "a queue other than the dead-letter queue being redriven (moving its messages "
                "into itself would never end)",
                "Name the source queue, or leave to_queue out to use the queue whose redrive "
                "policy names this dead-letter queue.",
            )
        backend = self.backend
        target = None if to_queue is None else backend.get_queue(to_queue)
        return backend.redrive(backend.get_queue(dead_letter_queue), target)

    # -- seeing it ----------------------------------------------------------------------------

    @checked(registry=serializer_registry)
    def view(self, registry: SerializerRegistry | None = None, **options: Any) -> BrokerView:
        """A live widget of this broker: each message travelling the topology into its queues,
        the queues' cards, Publish, Consume, Inspect and a replayable timeline.

        ``registry`` decodes payloads and lists message classes to publish; ``options`` go to
        ``melange_lab.widgets.BrokerView`` (``page_size``, ``refresh_interval``, ...).
        """
        from melange_lab.widgets.broker_view import BrokerView  # anywidget only when asked

        return BrokerView(self, registry=registry, **options)

    def _repr_html_(self) -> str:
        """Static HTML of the broker, for notebook previews and kernels without widgets."""
        from melange_lab.widgets.html import esc, render_broker

        if not self.running:
            return f"<p>{esc(self)}: stopped</p>"
        return render_broker(self)

    # -- faults on purpose --------------------------------------------------------------------

    @checked()
    def faults(
        self,
        *,
        duplicate_rate: float = 0.0,
        reorder_rate: float = 0.0,
        crash_before_ack_rate: float = 0.0,
        seed: int = 0,
    ) -> FaultInjector:
        """Turns on seeded faults (replacing any before): see ``melange_lab.faults``.

        ``duplicate_rate``: chance a received message is handed out twice; ``reorder_rate``:
        chance a received batch is shuffled (both on standard queues only);
        ``crash_before_ack_rate``: chance a dispatcher stops between processing a message and
        acknowledging it. Turn off with ``clear_faults()``, or use ``with broker.faults(...):``.
        """
        injector = FaultInjector(
            self.events,
            duplicate_rate=duplicate_rate,
            reorder_rate=reorder_rate,
            crash_before_ack_rate=crash_before_ack_rate,
            seed=seed,
            on_turn_off=self._fault_injector_off,
        )
        backend = self.backend
        if backend.faults is not None:
            backend.faults.enabled = False
        backend.faults = injector
        return injector

    def clear_faults(self) -> None:
        """Turns every injected fault off."""
        if self._backend is not None and self._backend.faults is not None:
            self._backend.faults.turn_off()

    def _fault_injector_off(self, injector: FaultInjector) -> None:
        if self._backend is not None and self._backend.faults is injector:
            self._backend.faults = None

    def _inspect(self) -> SimulatedInspector:
        self._ensure_running()
        assert self._inspector is not None
        return self._inspector

    # -- moto's side --------------------------------------------------------------------------

    def _last_failure(self, message_id: str) -> str | None:
        """Why the message last failed, so its dead-lettering says why (a poison message)."""
        for event in reversed(list(self.events)):
            if event.kind is EventKind.FAILED and event.message_id == message_id:
                return event.reason
        return None

    def _clock_advanced(self, seconds: float) -> None:
        self.events.emit(EventKind.CLOCK_ADVANCED, detail={"seconds": seconds})
        if self.running:
            moto_internals.expire_messages()
        if self._delivery_latency > 0 and self.running:
            moto_internals.deliver_due()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SimulatedBroker {state} region={self.region} clock={self.clock.mode}>"
