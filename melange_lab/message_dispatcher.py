"""The dispatcher: receives messages from a queue, decodes them and hands them to consumers.

melange's rules: each message goes to every attached consumer that accepts it; it is
acknowledged when all of them succeeded (``always_ack``: even when one failed;
``early_ack``: before processing); a dedup cache skips a consumer that already processed
the message id. Where the lab differs, on purpose:

- Loops end. ``consume_loop`` returns when the queue has no visible message left, or after
  ``max_messages`` or ``time_limit`` (real seconds), with a ``ConsumeSummary``. Its
  ``idle_limit`` says how long an empty queue is waited on: by default not at all on the main
  thread (a notebook cell ends by itself), and without limit on any other thread, as in
  melange's testing recipe, until the broker stops (see ``consume_loop``).
  ``start()``/``stop()`` run it in a daemon thread that polls in real time.
- A message that cannot be decoded is never acknowledged, whatever the ack mode: it stays
  invisible for its visibility timeout, comes back, and after ``maxReceiveCount`` receives
  moves to the dead-letter queue. A ``failed`` event says why.
- A failed message is left to its visibility timeout (not released at once), as on AWS.
  A message received but not handed to a consumer (a limit was hit, or ``stop()`` was
  called) is released, so it is visible again at once; none is ever half-acknowledged.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from melange_lab.arguments import checked, flag, number, optional, whole_number
from melange_lab.backends.backend_manager import resolve_backend
from melange_lab.backends.base import MessagingBackend
from melange_lab.backends.sqs.consuming import DECODE_ERROR
from melange_lab.consumers import Consumer
from melange_lab.errors import (
    BrokerStopped,
    DeserializationFailed,
    InvalidParameter,
    MelangeLabError,
    QueueNotFound,
)
from melange_lab.events import EventKind, EventLog
from melange_lab.infrastructure.cache import NullCache, ProcessedCache, cache_key
from melange_lab.models import Message, QueueWrapper
from melange_lab.runtime import BackgroundJob, run_in_background
from melange_lab.serializers import SerializerRegistry

logger = logging.getLogger(__name__)

OnException = Callable[[BaseException], Any]
AfterConsume = Callable[[], Any]
IDLE_POLL_INTERVAL = 0.05  # real seconds between polls of an empty queue while waiting
_RECEIVE_BATCH = 10  # SQS hands out at most 10 messages per receive


def _callable(parameter: str, value: object) -> None:
    if value is not None and not callable(value):
        raise InvalidParameter(parameter, value, "a function, or None", f"e.g. {parameter}=print.")


def _check_consumer(consumer: object) -> None:
    if not (
        callable(getattr(consumer, "accepts", None))
        and callable(getattr(consumer, "process", None))
    ):
        raise InvalidParameter(
            "consumer",
            consumer,
            "a Consumer (something with accepts() and process())",
            "e.g. attach_consumer(Consumer(on_message=handle)), or subclass Consumer.",
        )


def _backend(parameter: str, value: object) -> None:
    if value is not None and not callable(getattr(value, "retrieve_messages", None)):
        raise InvalidParameter(
            parameter,
            value,
            "a messaging backend, or None for the default one",
            "e.g. MessageDispatcher(registry, backend=broker.backend).",
        )


def _count(parameter: str, value: object) -> int:
    return whole_number(
        parameter, value, 1, 10**9, fix=f"e.g. {parameter}=10, or None for no limit."
    )


def _seconds(parameter: str, value: object) -> float:
    return number(parameter, value, 0, 10**6, unit="real seconds", fix=f"e.g. {parameter}=5.")


def _poll_interval(parameter: str, value: object) -> float:
    return number(
        parameter, value, 0.001, 3_600, unit="real seconds", fix="e.g. poll_interval=0.2."
    )


class Outcome(str, enum.Enum):
    """What became of one delivered message."""

    PROCESSED = "processed"  # every accepting consumer succeeded (or had already)
    FAILED = "failed"  # a consumer raised, or the message could not be decoded
    UNHANDLED = "unhandled"  # no consumer accepts it
    CRASHED = "crashed"  # an injected crash between processing and acknowledging


@dataclasses.dataclass
class ConsumeSummary:
    """Counts for one loop, batch or background run; ``stopped_because`` says why it ended."""

    received: int = 0
    processed: int = 0
    failed: int = 0
    unhandled: int = 0
    crashed: int = 0
    acknowledged: int = 0
    duplicates_skipped: int = 0
    released: int = 0
    stopped_because: str = ""

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def add(self, other: ConsumeSummary) -> None:
        for field in dataclasses.fields(self):
            mine = getattr(self, field.name)
            if isinstance(mine, int):
                setattr(self, field.name, mine + getattr(other, field.name))
        self.stopped_because = other.stopped_because


class _Hooks:
    """The caller's callbacks: ``on_exception(error)`` per failure, ``after_consume()`` per
    message handled."""

    def __init__(self, on_exception: OnException | None, after_consume: AfterConsume | None):
        self.on_exception = on_exception
        self.after_consume = after_consume


class MessageDispatcher:
    """Feeds the messages of a queue to the attached consumers (melange's dispatcher)."""

    @checked(backend=_backend, always_ack=flag, early_ack=flag)
    def __init__(
        self,
        serializer_registry: SerializerRegistry,
        cache: ProcessedCache | None = None,
        backend: MessagingBackend | None = None,
        always_ack: bool = False,
        early_ack: bool = False,
    ) -> None:
        if always_ack and early_ack:
            raise MelangeLabError(
                "Choose one of always_ack (acknowledge after processing, even on failure) and "
                "early_ack (acknowledge before processing), not both."
            )
        self.serializer_registry = serializer_registry
        self.cache: ProcessedCache = cache if cache is not None else NullCache()
        self._backend = resolve_backend(backend)
        remember = getattr(self._backend, "remember_registry", None)  # absent on melange's
        if remember is not None:
            remember(serializer_registry)
        self.always_ack = always_ack
        self.early_ack = early_ack
        events = getattr(self._backend, "events", None)
        self.events: EventLog = events if isinstance(events, EventLog) else EventLog(time.time)
        self._consumers: list[Consumer] = []
        self._lock = threading.Lock()
        self._job: BackgroundJob | None = None
        self._stop = threading.Event()
        self._background = ConsumeSummary()
        self._interrupted_batch: ConsumeSummary | None = None

    # -- consumers ----------------------------------------------------------------------------

    def attach_consumer(self, consumer: Consumer) -> None:
        _check_consumer(consumer)
        with self._lock:
            if consumer not in self._consumers:
                self._consumers.append(consumer)

    def unattach_consumer(self, consumer: Consumer) -> None:
        with self._lock:
            if consumer in self._consumers:
                self._consumers.remove(consumer)

    @property
    def consumers(self) -> list[Consumer]:
        with self._lock:
            return list(self._consumers)

    # -- consuming until done -----------------------------------------------------------------

    @checked(
        on_exception=_callable,
        after_consume=_callable,
        max_messages=optional(_count),
        time_limit=optional(_seconds),
    )
    def consume_loop(
        self,
        queue_name: str,
        on_exception: OnException | None = None,
        after_consume: AfterConsume | None = None,
        *,
        max_messages: int | None = None,
        time_limit: float | None = None,
        idle_limit: float | None = None,
    ) -> ConsumeSummary:
        """Consumes until the queue has stayed empty for ``idle_limit`` real seconds, or
        ``max_messages`` were handled, or ``time_limit`` real seconds passed; returns what
        happened.

        ``idle_limit=None`` (the default) depends on the calling thread: 0 on the main thread,
        so a notebook cell returns as soon as the queue is drained; no limit on any other
        thread, so melange's recipe (``consume_loop`` started in a thread, then a publish)
        sees every message however late it comes. Such a loop ends when the simulated broker
        stops (or is replaced) or its queue is deleted, at ``time_limit``, or with the process
        (make the thread a daemon). Messages left invisible by a failure do not keep a
        main-thread loop running: they come back after their visibility timeout (on a manual
        clock: after ``broker.clock.advance``). On a backend that does not promise to drain
        (``MessagingBackend.drains``, e.g. one written for melange) it is melange's
        ``consume_event``: one pass over ``yield_messages``.
        """
        if getattr(self._backend, "drains", False) is not True:
            return self.consume_event(queue_name, on_exception, after_consume)
        queue = self._backend.get_queue(queue_name)
        hooks = _Hooks(on_exception, after_consume)
        deadline = None if time_limit is None else time.monotonic() + time_limit
        summary = ConsumeSummary()
        idle = _idle_limit(idle_limit)
        idle_since: float | None = None
        while True:
            if max_messages is not None and summary.received >= max_messages:
                summary.stopped_because = "max_messages"
                return summary
            if deadline is not None and time.monotonic() >= deadline:
                summary.stopped_because = "time_limit"
                return summary
            remaining = None if max_messages is None else max_messages - summary.received
            try:
                batch = self._consume_batch(queue, hooks, remaining, None, deadline)
            except (BrokerStopped, QueueNotFound) as gone:
                if idle == 0:
                    raise
                # a waiting loop's normal end: its broker stopped or its queue was deleted
                logger.info("consume_loop on '%s' ends: %s", queue_name, gone)
                summary.stopped_because = (
                    "broker_stopped" if isinstance(gone, BrokerStopped) else "queue_deleted"
                )
                return summary
            summary.add(batch)
            if batch.stopped_because != "drained":
                idle_since = None
                continue
            idle_since = time.monotonic() if idle_since is None else idle_since
            if time.monotonic() - idle_since >= idle:
                summary.stopped_because = "drained" if idle == 0 else "idle_limit"
                return summary
            _wait_idle(deadline)

    def consume_event(
        self,
        queue_name: str,
        on_exception: OnException | None = None,
        after_consume: AfterConsume | None = None,
    ) -> ConsumeSummary:
        """melange's one pass: handles every message ``yield_messages`` gives, then returns.

        ``link_synchronously`` calls it on each publish. On the lab's backends (which drain)
        it is ``consume_loop(..., idle_limit=0)``, FIFO group order kept; on a backend written
        for melange, the backend's ``yield_messages`` decides when the pass ends.
        """
        if getattr(self._backend, "drains", False) is True:
            return self.consume_loop(queue_name, on_exception, after_consume, idle_limit=0)
        queue = self._backend.get_queue(queue_name)
        hooks = _Hooks(on_exception, after_consume)
        summary = ConsumeSummary(stopped_because="drained")
        messages = self._backend.yield_messages(queue)
        for message in messages:
            summary.received += 1
            try:
                summary.count(self._handle(queue, message, hooks, summary))
                if hooks.after_consume is not None:
                    hooks.after_consume()
            except BaseException as error:
                # as _consume_batch: say why, hand back what the backend received and nobody
                # started, and let it propagate
                self._interrupted(
                    queue, [message], _received_after(messages, message), summary, error
                )
                _close(messages)
                raise
        return summary

    @checked(on_exception=_callable, after_consume=_callable, max_messages=optional(_count))
    def consume_once(
        self,
        queue_name: str,
        on_exception: OnException | None = None,
        after_consume: AfterConsume | None = None,
        *,
        max_messages: int | None = None,
    ) -> ConsumeSummary:
        """Receives one batch (up to ``max_messages``, at most 10) and handles it."""
        queue = self._backend.get_queue(queue_name)
        return self._consume_batch(queue, _Hooks(on_exception, after_consume), max_messages, None)

    # -- consuming in the background ----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.alive

    @checked(on_exception=_callable, after_consume=_callable, poll_interval=_poll_interval)
    def start(
        self,
        queue_name: str,
        on_exception: OnException | None = None,
        after_consume: AfterConsume | None = None,
        *,
        poll_interval: float = 0.2,
    ) -> None:
        """Consumes ``queue_name`` in a daemon thread until ``stop()``; in a browser tab
        (Pyodide, no threads) in an asyncio task, which runs while the notebook is idle or
        awaiting (``await asyncio.sleep(1)``), not during ``time.sleep``.

        It polls without long polling (so it never blocks on the broker clock) and rests
        ``poll_interval`` real seconds whenever the queue has nothing visible.
        """
        if self.running:
            raise MelangeLabError(
                "This dispatcher is already consuming in the background; call stop() first."
            )
        queue = self._backend.get_queue(queue_name)
        hooks = _Hooks(on_exception, after_consume)
        self._stop.clear()
        self._background = ConsumeSummary()
        self._interrupted_batch = None
        self._job = run_in_background(
            lambda: self._step(queue, hooks, poll_interval),
            stop=self._stop,
            name=f"dispatcher:{queue_name}",
        )

    @checked(timeout=_seconds)
    def stop(self, timeout: float = 10.0) -> ConsumeSummary:
        """Stops the background consumer and returns what it did.

        The message being processed finishes (and is acknowledged or not as usual); messages
        received but not started are released. Raises if the consumer is still busy after
        ``timeout`` real seconds (it will still stop after that message).
        """
        job = self._job
        was_running = job is not None and job.alive  # else it ended by itself, for its reason
        self._stop.set()
        if job is None:
            return self._background
        if not job.join(timeout):
            raise MelangeLabError(
                f"The background consumer is still processing a message after {timeout}s; it "
                "stops as soon as that message is done. Call stop() again to wait longer."
            )
        self._job = None
        if was_running and not self._background.stopped_because.startswith("error:"):
            self._background.stopped_because = "stopped"
        return self._background

    @property
    def stop_requested(self) -> bool:
        """True from ``stop()`` until the next ``start()``."""
        return self._stop.is_set()

    @property
    def background_summary(self) -> ConsumeSummary:
        """What the background consumer has done so far."""
        return self._background

    def _step(self, queue: QueueWrapper, hooks: _Hooks, poll_interval: float) -> float | None:
        """One batch of the background consumer; returns how long to rest, None when done."""
        summary = self._background
        try:
            batch = self._consume_batch(queue, hooks, None, 0, stop=self._stop)
        except Exception as error:  # the job's last word: report it instead of dying silently
            logger.exception("background consumer of '%s' stopped", _name_of(queue))
            summary.stopped_because = f"error: {error}"
            return None
        except BaseException as error:  # sys.exit() or an interrupt: recorded, then it goes on
            interrupted = self._interrupted_batch
            if interrupted is not None:
                summary.add(interrupted)
            summary.stopped_because = (
                interrupted.stopped_because if interrupted is not None else repr(error)
            )
            if not isinstance(error, SystemExit):  # a thread ends quietly on SystemExit anyway
                raise
            return None
        summary.add(batch)
        return poll_interval if batch.stopped_because == "drained" else 0.0

    # -- one batch ----------------------------------------------------------------------------

    def _consume_batch(
        self,
        queue: QueueWrapper,
        hooks: _Hooks,
        max_messages: int | None,
        wait_time_seconds: float | None,
        deadline: float | None = None,
        stop: threading.Event | None = None,
    ) -> ConsumeSummary:
        summary = ConsumeSummary(stopped_because="batch")
        batch = self._backend.retrieve_messages(
            queue,
            max_messages=None if max_messages is None else min(max_messages, _RECEIVE_BATCH),
            wait_time_seconds=wait_time_seconds,
        )
        if not batch:
            summary.stopped_because = "drained"
            return summary
        try:
            return self._handle_batch(queue, batch, hooks, summary, max_messages, deadline, stop)
        except BaseException as error:
            # a handler called sys.exit(), Ctrl-C arrived, or a hook raised: say so, hand back
            # what nobody started, and let it propagate
            started = summary.received
            self._interrupted(queue, batch[:started], batch[started:], summary, error)
            raise

    def _handle_batch(
        self,
        queue: QueueWrapper,
        batch: list[Message],
        hooks: _Hooks,
        summary: ConsumeSummary,
        max_messages: int | None,
        deadline: float | None,
        stop: threading.Event | None,
    ) -> ConsumeSummary:
        held_groups: set[str] = set()
        for index, message in enumerate(batch):
            limit = self._limit_reached(summary, max_messages, deadline, stop)
            if limit is not None:
                self._release_unstarted(batch[index:], batch[:index], summary, limit)
                summary.stopped_because = limit
                return summary
            summary.received += 1
            group = _group_of(message) if _is_fifo(queue) else None
            if group in held_groups:
                # A FIFO batch can hold several messages of one group: once one failed, the
                # rest must wait for its retry, or the group's order would be broken.
                self._backend.release(
                    message, reason=f"an earlier message of group '{group}' failed; kept in order"
                )
                summary.released += 1
                continue
            outcome = self._handle(queue, message, hooks, summary)
            summary.count(outcome)
            if group is not None and outcome in (Outcome.FAILED, Outcome.CRASHED):
                held_groups.add(group)
            if hooks.after_consume is not None:
                hooks.after_consume()
        return summary

    def _interrupted(
        self,
        queue: QueueWrapper,
        started: list[Message],
        unstarted: list[Message],
        summary: ConsumeSummary,
        error: BaseException,
    ) -> None:
        """Releases the received messages not yet started, records why consuming stopped."""
        name = getattr(queue, "name", str(queue))
        why = f"{type(error).__name__}" + (f": {error}" if str(error) else "")
        summary.stopped_because = f"interrupted ({why})"
        released_before = summary.released
        try:
            self._release_unstarted(unstarted, started, summary, summary.stopped_because)
        except Exception:  # the queue may be gone; the interrupt matters more, and propagates
            logger.exception("could not release the unstarted messages of '%s'", name)
        released = summary.released - released_before
        self.events.emit(
            EventKind.DISPATCHER_STOPPED,
            queue=name,
            message_id=started[-1].message_id if started else None,
            reason=(
                f"consuming stopped: {why} while handling this message, which is left as it "
                f"was (unacknowledged messages come back after their visibility timeout); "
                f"{released} unstarted message(s) of its batch were released"
            ),
            detail={"error": type(error).__name__, "released": released},
        )
        self._interrupted_batch = summary

    @staticmethod
    def _limit_reached(
        summary: ConsumeSummary,
        max_messages: int | None,
        deadline: float | None,
        stop: threading.Event | None,
    ) -> str | None:
        if stop is not None and stop.is_set():
            return "stopped"
        if max_messages is not None and summary.received >= max_messages:
            return "max_messages"
        if deadline is not None and time.monotonic() >= deadline:
            return "time_limit"
        return None

    def _release_unstarted(
        self,
        unstarted: Iterable[Message],
        handled: Iterable[Message],
        summary: ConsumeSummary,
        why: str,
    ) -> None:
        """Hands back messages nobody started; a copy of a handled one (an injected duplicate)
        needs nothing: the handled copy already decided its fate."""
        done = {message.message_id for message in handled}
        for message in unstarted:
            if message.message_id in done:
                continue
            done.add(message.message_id)
            self._backend.release(message, reason=f"received but not processed ({why})")
            summary.released += 1

    def _handle(
        self, queue: QueueWrapper, message: Message, hooks: _Hooks, summary: ConsumeSummary
    ) -> Outcome:
        try:
            data = self._decode(message)
            accepting = [consumer for consumer in self.consumers if consumer.accepts(data)]
        except DeserializationFailed as error:
            self._emit(
                EventKind.FAILED,
                queue,
                message,
                f"could not be decoded: {error.reason}; not acknowledged, so it is retried after "
                "its visibility timeout and dead-lettered after maxReceiveCount receives",
                {"stage": "decode", "error": type(error).__name__},
            )
            self._report(hooks, error)
            return Outcome.FAILED
        except Exception as error:  # a consumer's accepts() failed: this message's failure only
            self._emit(
                EventKind.FAILED,
                queue,
                message,
                f"accepts() raised {type(error).__name__}: {error}; not acknowledged",
                {"stage": "accepts", "error": type(error).__name__},
            )
            self._report(hooks, error)
            return Outcome.FAILED
        if not accepting:
            self._emit(
                EventKind.UNHANDLED,
                queue,
                message,
                f"no attached consumer accepts a {type(data).__qualname__} "
                f"(manifest {message.manifest!r}); acknowledged, as melange does",
            )
            self._acknowledge(message, summary)
            return Outcome.UNHANDLED
        if self.early_ack:
            self._acknowledge(message, summary)
        succeeded = all(
            [
                self._process(queue, consumer, data, message, hooks, summary)
                for consumer in accepting
            ]
        )
        if self.early_ack:
            return Outcome.PROCESSED if succeeded else Outcome.FAILED
        if succeeded or self.always_ack:
            faults = getattr(self._backend, "faults", None)
            if faults is not None and faults.crash_before_ack(_name_of(queue), message):
                return Outcome.CRASHED
            self._acknowledge(message, summary)
        return Outcome.PROCESSED if succeeded else Outcome.FAILED

    def _process(
        self,
        queue: QueueWrapper,
        consumer: Consumer,
        data: Any,
        message: Message,
        hooks: _Hooks,
        summary: ConsumeSummary,
    ) -> bool:
        name = consumer.qualified_name
        key = cache_key(name, message.message_id)
        if key in self.cache:
            summary.duplicates_skipped += 1
            self._emit(
                EventKind.SKIPPED_DUPLICATE,
                queue,
                message,
                f"{name} already processed this message id (deduplication cache)",
                {"consumer": name},
            )
            return True
        try:
            consumer.process(data, message_id=message.message_id)
        except Exception as error:  # any consumer failure is this message's failure, reported
            self._emit(
                EventKind.FAILED,
                queue,
                message,
                f"{name} raised {type(error).__name__}: {error}",
                {"stage": "process", "consumer": name, "error": type(error).__name__},
            )
            self._report(hooks, error)
            return False
        self.cache.store(key)
        self._emit(EventKind.PROCESSED, queue, message, None, {"consumer": name})
        return True

    def _decode(self, message: Message) -> Any:
        """The message's object, by its serializer id, else by the registry's default."""
        registry = self.serializer_registry
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        if metadata.get(DECODE_ERROR):
            raise DeserializationFailed(
                message.message_id,
                f"its body or attributes cannot be read ({metadata[DECODE_ERROR]})",
            )
        if message.serializer_id is not None:
            try:
                serializer = registry.serializer_instance_by_id(message.serializer_id)
            except Exception as error:  # an id no serializer in the registry has
                raise DeserializationFailed(
                    message.message_id,
                    f"no serializer with id {message.serializer_id!r} in the registry ({error})",
                ) from None
        else:
            default = registry.default_serializer()
            if default is None:
                raise DeserializationFailed(
                    message.message_id,
                    "it has no serializer_id attribute and the registry names no default "
                    "serializer",
                )
            serializer = default
        content = message.content
        # a body that is itself JSON (raw delivery of JSON content) arrives already parsed
        text = content if isinstance(content, str) else json.dumps(content)
        try:
            return serializer.deserialize(text, message.manifest)
        except DeserializationFailed:
            raise
        except Exception as error:  # a user's serializer may raise anything on bad input
            raise DeserializationFailed(
                message.message_id, f"{type(serializer).__name__} raised {error!r}"
            ) from error

    def _acknowledge(self, message: Message, summary: ConsumeSummary) -> None:
        self._backend.acknowledge(message)
        summary.acknowledged += 1

    @staticmethod
    def _report(hooks: _Hooks, error: BaseException) -> None:
        if hooks.on_exception is not None:
            hooks.on_exception(error)

    def _emit(
        self,
        kind: EventKind,
        queue: QueueWrapper,
        message: Message,
        reason: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        attributes = metadata.get("Attributes", {})
        self.events.emit(
            kind,
            queue=_name_of(queue),
            message_id=message.message_id,
            reason=reason,
            detail={
                "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
                "manifest": message.manifest,
                **(detail or {}),
            },
        )


def _idle_limit(idle_limit: float | None) -> float:
    """Seconds a loop waits on an empty queue: the given limit, else 0 on the main thread
    (a notebook's cells run there) and no limit elsewhere."""
    if idle_limit is not None:
        if idle_limit < 0:
            raise MelangeLabError(
                f"idle_limit must be 0 or more seconds (got {idle_limit}); use None for the "
                "default, or math.inf to wait on an empty queue until the broker stops."
            )
        return idle_limit
    return 0.0 if threading.current_thread() is threading.main_thread() else math.inf


def _wait_idle(deadline: float | None) -> None:
    pause = IDLE_POLL_INTERVAL
    if deadline is not None:
        pause = max(0.0, min(pause, deadline - time.monotonic()))
    time.sleep(pause)


def _name_of(queue: Any) -> str:
    """A queue's name for events and logs, whatever object the backend gave for it."""
    name = getattr(queue, "name", None)
    return name if isinstance(name, str) else str(queue)


def _is_fifo(queue: Any) -> bool:
    return _name_of(queue).endswith(".fifo")


def _group_of(message: Message) -> str | None:
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    group = metadata.get("Attributes", {}).get("MessageGroupId")
    return None if group is None else str(group)


class SimpleMessageDispatcher(MessageDispatcher):
    """A dispatcher with exactly one consumer, given up front."""

    def __init__(
        self,
        consumer: Consumer,
        serializer_registry: SerializerRegistry,
        cache: ProcessedCache | None = None,
        backend: MessagingBackend | None = None,
        always_ack: bool = False,
        early_ack: bool = False,
    ) -> None:
        super().__init__(serializer_registry, cache, backend, always_ack, early_ack)
        self.attach_consumer(consumer)


def _received_after(messages: Iterator[Message], current: Message) -> list[Message]:
    """The messages a ``yield_messages`` generator received and holds after ``current``,
    not yet handed out: the rest of its batch, found without asking it for more (asking
    could receive new messages, or wait forever on a backend written for melange)."""
    found: list[Message] = []
    seen: set[int] = set()
    layer: Any = messages
    while layer is not None and id(layer) not in seen:
        seen.add(id(layer))
        frame = getattr(layer, "gi_frame", None)
        for value in list(frame.f_locals.values()) if frame is not None else []:
            if isinstance(value, list) and any(m is current for m in value):
                index = next(i for i, m in enumerate(value) if m is current)
                found += [m for m in value[index + 1 :] if isinstance(m, Message)]
        inner = getattr(layer, "gi_yieldfrom", None)
        if inner is not None and type(inner).__name__ == "list_iterator":
            _, (items,), position = inner.__reduce__()
            found += [m for m in items[position:] if isinstance(m, Message)]
            break
        layer = inner
    unique: dict[int, Message] = {id(m): m for m in found if m is not current}
    return list(unique.values())


def _close(messages: Iterator[Message]) -> None:
    close = getattr(messages, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # the interrupt that stopped consuming matters more
            logger.exception("could not close the message generator")
