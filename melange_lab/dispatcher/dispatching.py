"""``MessageDispatcher``: the loops that feed a queue's messages to the attached consumers.

Where the lab differs from melange, on purpose: loops end. ``consume_loop`` returns when the
queue has no visible message left, or after ``max_messages`` or ``time_limit`` (real seconds),
with a ``ConsumeSummary``; its ``idle_limit`` says how long an empty queue is waited on: by
default not at all on the main thread (a notebook cell ends by itself), and without limit on
any other thread, as in melange's testing recipe, until the broker stops. ``start()`` and
``stop()`` run it in the background (``background.py``). One message's handling and the ack
modes are in ``handling.py``; one batch's in ``batches.py``.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from melange_lab.arguments import checked, flag, optional
from melange_lab.backends.backend_manager import resolve_backend
from melange_lab.backends.base import MessagingBackend
from melange_lab.consumers import Consumer
from melange_lab.dispatcher import checks
from melange_lab.dispatcher.background import BackgroundConsumer
from melange_lab.dispatcher.batches import BatchHandling, close, received_after
from melange_lab.dispatcher.handling import AfterConsume, Hooks, OnException, name_of
from melange_lab.dispatcher.summary import ConsumeSummary
from melange_lab.errors import BrokerStopped, MelangeLabError, QueueNotFound
from melange_lab.events import EventLog
from melange_lab.infrastructure.cache import NullCache, ProcessedCache
from melange_lab.serializers import SerializerRegistry

logger = logging.getLogger(__name__)

IDLE_POLL_INTERVAL = 0.05  # real seconds between polls of an empty queue while waiting


class MessageDispatcher(BatchHandling):
    """Feeds the messages of a queue to the attached consumers (melange's dispatcher)."""

    @checked(backend=checks.backend_or_none, always_ack=flag, early_ack=flag)
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
        self.cache = cache if cache is not None else NullCache()
        self._backend = resolve_backend(backend)
        remember = getattr(self._backend, "remember_registry", None)  # absent on melange's
        if remember is not None:
            remember(serializer_registry)
        self.always_ack = always_ack
        self.early_ack = early_ack
        events = getattr(self._backend, "events", None)
        self.events = events if isinstance(events, EventLog) else EventLog(time.time)
        self._consumers = []
        self._lock = threading.Lock()
        self._background = BackgroundConsumer()
        self._interrupted_batch = None

    # -- consuming until done -----------------------------------------------------------------

    @checked(
        **checks.HOOKS, max_messages=optional(checks.count), time_limit=optional(checks.seconds)
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
        hooks = Hooks(on_exception, after_consume)
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
        hooks = Hooks(on_exception, after_consume)
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
                    queue, [message], received_after(messages, message), summary, error
                )
                close(messages)
                raise
        return summary

    @checked(**checks.HOOKS, max_messages=optional(checks.count))
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
        return self._consume_batch(queue, Hooks(on_exception, after_consume), max_messages, None)

    # -- consuming in the background ----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._background.running

    @checked(**checks.HOOKS, poll_interval=checks.poll_interval)
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
        hooks = Hooks(on_exception, after_consume)
        self._interrupted_batch = None
        self._background.start(
            f"dispatcher:{queue_name}",
            name_of(queue),
            lambda stop: self._consume_batch(queue, hooks, None, 0, stop=stop),
            lambda: self._interrupted_batch,
            poll_interval,
        )

    @checked(timeout=checks.seconds)
    def stop(self, timeout: float = 10.0) -> ConsumeSummary:
        """Stops the background consumer and returns what it did.

        The message being processed finishes (and is acknowledged or not as usual); messages
        received but not started are released. Raises if the consumer is still busy after
        ``timeout`` real seconds (it will still stop after that message).
        """
        return self._background.stop(timeout)

    @property
    def stop_requested(self) -> bool:
        """True from ``stop()`` until the next ``start()``."""
        return self._background.stop_requested

    @property
    def background_summary(self) -> ConsumeSummary:
        """What the background consumer has done so far."""
        return self._background.summary


class SimpleMessageDispatcher(MessageDispatcher):
    """A dispatcher with exactly one consumer, given up front."""

    @checked()
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
