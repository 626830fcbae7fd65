"""The broker view: an anywidget whose front end (``static/view.js``, ``static/view.css``)
draws the topology, the queues, the Publish / Consume / Inspect panels and a timeline, and
animates what the event log says happened. ``SimulatedBroker.view()`` returns one.

Python is the source of truth: what the view shows is computed by ``picture`` and
``topology`` and synced as traits; the front end only draws it and sends intents back
("publish this", "receive one from billing"). The view learns what changed only from the
broker's events, and which publish a queue copy belongs to only from their ids. A burst of
events (10,000 publishes in one cell) only marks what is stale; one redraw follows on the
kernel's event loop once the cell has finished (no thread of its own: Pyodide has none).
Each update sends only its new events; a front end asks for the earlier ones once.

When a newer ``SimulatedBroker`` replaces the one on screen (a re-run cell), the view
follows it; when its broker is stopped, it keeps its last picture and says so.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from melange_lab.arguments import checked, optional, ranged, serializer_registry
from melange_lab.backends.base import MessagingBackend
from melange_lab.clock import BrokerClock
from melange_lab.errors import (
    BrokerStopped,
    InvalidParameter,
    MelangeLabError,
    QueueNotFound,
    ViewIsReadOnly,
)
from melange_lab.events import Event
from melange_lab.inspection import PeekedMessage, PeekNotSupported, PeekPage, QueueInfo
from melange_lab.serializers import SerializerRegistry
from melange_lab.widgets import intents, picture
from melange_lab.widgets.actions import DEFAULT_GROUP, ConsumerDesk, PublishForm, default_registry
from melange_lab.widgets.source import BrokerSource, broker_source

logger = logging.getLogger(__name__)

PAGE_SIZE = picture.PAGE_SIZE
MAX_PAGE_SIZE = 1_000  # cards per queue a page may hold
EVENT_BATCH = 200  # the newest events one update sends; the timeline asks for the rest
EVENT_LIMIT = 2_000  # events kept for the timeline (and for a front end that asks for them)
MAX_EVENT_LIMIT = 10_000
COPIES = 20_000  # queue copy id -> published id pairs remembered from the events
_STATIC = Path(__file__).parent / "static"
_STRUCTURE = {"topic_declared", "queue_declared", "subscribed", "unsubscribed", "queue_deleted",
              "topic_deleted", "reset"}  # fmt: skip
_COPYING = {"delivered", "redriven"}  # events that name a new queue copy and its publish
_STOPPED = (
    "This broker was stopped; the picture shows it as it was then. Create or start a broker "
    "and a new view to go on."
)


def _message_id(parameter: str, value: object) -> str:
    """A message id as ``select`` and ``inspect`` take it: text, as long as an id can be."""
    if not isinstance(value, str) or len(value) > intents.MAX_ID_CHARS:
        raise InvalidParameter(
            parameter,
            value,
            f"a message id: text of at most {intents.MAX_ID_CHARS} characters",
            "e.g. view.select(message_id), with an id from broker.peek(queue).",
        )
    return value


class BrokerView(anywidget.AnyWidget):
    """A live picture of a broker that follows its events.

    ``source``: any object with ``events``, ``subscribe``, ``topics``, ``queues``,
    ``subscriptions`` and ``peek`` (a ``SimulatedBroker``, or a read-only observer of a real
    endpoint). If it also has ``backend`` (and ``clock``), the Publish and Consume panels work;
    if it has ``when_stopped``, the view follows the broker that replaces it.
    ``refresh_interval=None`` redraws only on ``flush()`` (and after the view's own actions).
    """

    _esm = _STATIC / "view.js"
    _css = _STATIC / "view.css"

    structure = traitlets.Dict(
        help="Topics, subscriptions, queues in the diagram's order, the laid-out diagram, and "
        "the same in words (picture.structure)."
    ).tag(sync=True)
    queue_pages = traitlets.Dict(
        help="Per queue: counts, the shown page of message cards, paging, filter notes."
    ).tag(sync=True)
    events: traitlets.List[dict[str, Any]] = traitlets.List(
        help="The events this update adds (at most EVENT_BATCH), oldest first: what the front "
        "end animates and appends to its timeline."
    ).tag(sync=True)
    status = traitlets.Dict(
        help="Which broker is shown: 'epoch' (counts the brokers followed), 'first_seq' (events "
        "after it happened on screen: animate them), 'live', a one-line 'text', and 'view' (this "
        "widget's model id, so a page can tell its views apart)."
    ).tag(sync=True)
    clock = traitlets.Dict(help="Broker time (epoch s) when sent, and the clock mode.").tag(
        sync=True
    )
    forms = traitlets.Dict(
        help="What Publish and Consume offer: targets, message classes, templates, held messages."
    ).tag(sync=True)
    inspected = traitlets.Dict(help="The message the inspector shows (picture.inspected).").tag(
        sync=True
    )
    selected = traitlets.Unicode(
        "", help="The published id of the message selected everywhere (empty: none)."
    ).tag(sync=True)
    result = traitlets.Dict(
        help="The last action's outcome: {'ok', 'text', 'panel', 'request' (the front end's "
        "number for it), 'n' (a counter)}."
    ).tag(sync=True)
    compact = traitlets.Bool(False, help="Cards without their fields, for small screens.").tag(
        sync=True
    )
    read_only = traitlets.Bool(False, help="True when the source cannot publish or consume.").tag(
        sync=True
    )

    @checked(
        source=broker_source,
        registry=serializer_registry,
        page_size=ranged(1, MAX_PAGE_SIZE, whole=True, unit="cards", fix="e.g. page_size=20."),
        refresh_interval=optional(
            ranged(0, 60, unit="seconds", fix="e.g. 0.2, or None to redraw only on flush().")
        ),
        event_limit=ranged(1, MAX_EVENT_LIMIT, whole=True, fix="e.g. event_limit=2000."),
    )
    def __init__(
        self,
        source: BrokerSource,
        *,
        registry: SerializerRegistry | None = None,
        page_size: int = PAGE_SIZE,
        refresh_interval: float | None = 0.2,
        event_limit: int = EVENT_LIMIT,
    ) -> None:
        super().__init__()
        self.page_size = page_size
        self.refresh_interval = refresh_interval
        self.renders = 0
        self._lock = threading.RLock()
        self._pending: deque[Event] = deque(maxlen=event_limit)
        self._recent: deque[dict[str, Any]] = deque(maxlen=event_limit)
        self._flush_scheduled = False
        self._loop = _running_loop()
        self._epoch = 0
        backend = _backend_of(source)
        chosen = registry or getattr(backend, "serializer_registry", None) or default_registry()
        self.registry = chosen
        self._form = PublishForm(chosen)
        self.on_msg(self._intent)
        self._watch(source, "")
        self.flush()

    # -- which broker -------------------------------------------------------------------------

    def _watch(self, source: BrokerSource, text: str) -> None:
        """Shows ``source`` from now on: forgets the last broker's pages and notes."""
        self.source = source
        self._backend = _backend_of(source)
        self._clock: BrokerClock | None = getattr(source, "clock", None)
        self._desk = (
            None
            if self._backend is None
            else ConsumerDesk(self._backend, self.registry, self._clock)
        )
        self.read_only = self._backend is None
        with self._lock:
            self._stopped = False
            self._structure_dirty = self._all_dirty = True
            self._dirty_queues: set[str] = set()
            self._pages: dict[str, int] = {}
            self._page_cache: dict[str, tuple[int, list[dict[str, Any]]]] = {}
            self._filtered: dict[str, deque[dict[str, str]]] = {}
            self._filtered_total: dict[str, int] = {}
            self._published_of: dict[str, str] = {}  # queue copy id -> id it was published under
            self._pending.clear()
            self._recent.clear()
            self._unsubscribe = source.subscribe(self._heard)
            history = list(source.events)
            for event in history:
                self._note(event)
            self._first_seq = history[-1].seq if history else 0
            self._status: dict[str, Any] = {
                "epoch": self._epoch, "first_seq": self._first_seq, "live": True, "text": text,
                "view": self.model_id,
            }  # fmt: skip
        when_stopped = getattr(source, "when_stopped", None)
        self._cancel_follow: Callable[[], None] = (
            when_stopped(self._broker_stopped) if callable(when_stopped) else _nothing
        )

    def _broker_stopped(self, successor: Any) -> None:
        """The broker on screen stopped: follow the one that replaced it, or keep the picture."""
        self._unsubscribe()
        if self._desk is not None and self._desk.dispatcher is not None:
            self._desk.stop_background()
        if successor is not None:
            self._epoch += 1
            self._watch(successor, "Following a newer SimulatedBroker: the one this view showed "
                        "was replaced (a cell created a new one).")  # fmt: skip
        else:
            with self._lock:
                self._stopped = True
                self._status = {**self._status, "live": False, "text": _STOPPED}
        self._schedule()

    # -- hearing events -------------------------------------------------------------------------

    def _heard(self, event: Event) -> None:
        with self._lock:
            if event.seq <= self._first_seq:
                return  # already read from the log when the view was built
            self._note(event)
        self._schedule()

    def _schedule(self) -> None:
        """One redraw on the kernel's event loop, ``refresh_interval`` after the first change."""
        with self._lock:
            if self._flush_scheduled or self.refresh_interval is None or self._loop is None:
                return
            self._flush_scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._flush_later)
        except RuntimeError:  # the loop closed (kernel shutting down): nothing to draw on
            self._flush_scheduled = False

    def _flush_later(self) -> None:
        assert self._loop is not None
        self._loop.call_later(self.refresh_interval or 0.0, self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        with self._lock:
            self._flush_scheduled = False
        self.flush()

    def _note(self, event: Event) -> None:
        """Marks what ``event`` changed; cheap, since it runs once per event."""
        kind = getattr(event.kind, "value", str(event.kind))
        self._pending.append(event)
        if kind in _STRUCTURE or kind == "clock_advanced":
            self._all_dirty = True
            self._structure_dirty = self._structure_dirty or kind in _STRUCTURE
        if kind in ("reset", "clock_advanced"):
            self._page_cache.clear()
        if kind == "reset":
            self._filtered.clear()
            self._filtered_total.clear()
        if kind in _COPYING and event.message_id and event.published_id:
            self._published_of[event.message_id] = event.published_id
            _trim(self._published_of, COPIES)
        if event.queue:
            self._queue_changed(event, kind)
        other = event.detail.get("dead_letter_queue") or event.detail.get("to_queue")
        if isinstance(other, str):
            self._dirty_queues.add(other)
            self._page_cache.pop(other, None)

    def _queue_changed(self, event: Event, kind: str) -> None:
        queue = str(event.queue)
        self._dirty_queues.add(queue)
        if not (kind == "delivered" or (kind == "published" and not event.topic)):
            self._page_cache.pop(queue, None)  # a receive, ack... may change the shown page
        if kind == "filtered":
            notes = self._filtered.setdefault(queue, deque(maxlen=picture.FILTERED_SHOWN))
            notes.append(picture.filter_note(event))
            self._filtered_total[queue] = self._filtered_total.get(queue, 0) + 1

    # -- drawing ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraws everything now."""
        with self._lock:
            self._structure_dirty = self._all_dirty = True
            self._page_cache.clear()
        self.flush()

    def flush(self) -> None:
        """Sends whatever events made stale since the last redraw; a no-op if nothing is."""
        with self._lock:
            structure, everything = self._structure_dirty, self._all_dirty
            dirty, fresh = set(self._dirty_queues), list(self._pending)
            self._structure_dirty = self._all_dirty = False
            self._dirty_queues.clear()
            self._pending.clear()
            stopped, status = self._stopped, dict(self._status)
        if not (structure or everything or dirty or fresh) and status == self.status:
            if not stopped:
                self._send_clock()
            return
        with self.hold_sync():  # one message to the front end per redraw
            if status != self.status:
                self.status = status
            if fresh:
                added = [picture.event_dict(e) for e in fresh]
                self._recent.extend(added)
                self.events = added[-EVENT_BATCH:]
            if not stopped and (structure or everything or dirty):
                self._draw_safely(structure, everything, dirty)
            if stopped:
                self.forms = {**self.forms, "held": [], "background": None}
            else:
                self._send_clock()
        self.renders += 1

    def _draw_safely(self, structure: bool, everything: bool, dirty: set[str]) -> None:
        try:
            self._draw(structure, everything, dirty)
        except BrokerStopped:
            pass  # stopped while drawing: the stop itself says so on the next redraw
        except MelangeLabError as error:
            self._say(False, str(error), "view")

    def _send_clock(self) -> None:
        if self._clock is not None:
            self.clock = {"now": self._clock.now(), "mode": self._clock.mode}

    def _draw(self, structure: bool, everything: bool, dirty: set[str]) -> None:
        queues = self.source.queues()
        if structure:
            self.structure = picture.structure(
                self.source.topics(), self.source.subscriptions(), queues
            )
        pages = dict(self.queue_pages)
        names = {info.name for info in queues}
        for name in set(pages) - names:
            del pages[name]
        for info in queues:
            if everything or structure or info.name in dirty or info.name not in pages:
                pages[info.name] = self._queue_state(info)
        self.queue_pages = pages
        self.forms = self._forms_state()

    def _queue_state(self, info: QueueInfo) -> dict[str, Any]:
        pages = max(1, -(-info.total // self.page_size))
        page = min(self._pages.get(info.name, 0), pages - 1)
        self._pages[info.name] = page
        notes = list(self._filtered.get(info.name, ()))
        total_filtered = self._filtered_total.get(info.name, 0)
        try:
            cards = self._cards(info, page)
        except PeekNotSupported as error:
            return picture.queue_panel(info, [], 0, self.page_size, notes, total_filtered,
                                       str(error))  # fmt: skip
        return picture.queue_panel(info, cards, page, self.page_size, notes, total_filtered)

    def _cards(self, info: QueueInfo, page: int) -> list[dict[str, Any]]:
        """The shown page's cards; a publish that only appended behind a full page reuses it."""
        cached = self._page_cache.get(info.name)
        if cached is not None and cached[0] == page and len(cached[1]) == self.page_size:
            return cached[1]
        result = self._peek_page(info.name, page * self.page_size)
        in_dlq = info.is_dead_letter_queue
        cards = [picture.card(m, in_dlq, self._published_id(m)) for m in result.messages]
        self._page_cache[info.name] = (page, cards)
        return cards

    def _peek_page(self, queue: str, offset: int) -> PeekPage:
        paged: Callable[..., PeekPage] | None = getattr(self.source, "peek_page", None)
        if paged is not None:
            return paged(queue, offset, self.page_size, self.registry)
        everything = self.source.peek(queue)
        return PeekPage(
            queue, everything[offset : offset + self.page_size], len(everything), offset,
            self.page_size,
        )  # fmt: skip

    def _published_id(self, message: PeekedMessage) -> str:
        """The id the copy was published under: its SNS envelope says, or the events did."""
        if message.envelope is not None:
            return message.published_id
        return self._published_of.get(message.message_id, message.message_id)

    def _forms_state(self) -> dict[str, Any]:
        structure = self.structure
        return {
            "targets": {
                "topic": [
                    {"name": t["name"], "fifo": t["fifo"]} for t in structure.get("topics", [])
                ],
                "queue": [
                    {"name": q["name"], "fifo": q["fifo"]} for q in structure.get("queues", [])
                ],
            },
            "classes": self._form.choices(),
            "default_group": DEFAULT_GROUP,
            "held": [] if self._desk is None else self._desk.held_list(),
            "background": None if self._desk is None else self._desk.running_on(),
            "clock": self._clock is not None,
        }

    # -- intents from the front end (untrusted: checked in widgets/intents.py) -----------------

    def _intent(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Carries out one intent. Whatever a page sends, the panel that sent it gets an answer
        (naming the request the panel waits on) and no exception escapes (ipywidgets would only
        log it, leaving the panel busy)."""
        panel, request = intents.answer_panel(content), intents.request_of(content)
        try:
            if intents.spec_of(content)[1].changes_the_broker and self._desk is None:
                self._need_live()
                raise ViewIsReadOnly()
            intent = intents.read_intent(content)
            said = self._handlers()[intent.name](intent.fields)
        except MelangeLabError as error:
            self._say(False, str(error), panel, request)
        except Exception as error:  # a bug of the lab's: said in the panel, not lost in a log
            logger.exception("the broker view could not carry out an intent")
            self._say(False, intents.unexpected(error), panel, request)
        else:
            if said is not None:
                self._say(True, said, panel, request)
        self._redraw_after_intent(panel)

    def _redraw_after_intent(self, panel: str) -> None:
        try:
            self.flush()
            if not self._stopped:
                self.forms = self._forms_state()
        except Exception as error:  # as above: the learner sees it, the comm handler does not
            logger.exception("the broker view could not redraw")
            self._say(False, intents.unexpected(error), panel)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], str | None]]:
        return {
            "publish": self._publish,
            "receive": lambda f: self._need_desk().receive(f["queue"], f["hide_for"]),
            "finish": lambda f: self._need_desk().finish(f["id"], f["how"]),
            "background": lambda f: self._need_desk().background(f["queue"], f["on"]),
            "advance": lambda f: self._need_desk().advance(f["seconds"]),
            "page": self._turn,
            "inspect": lambda f: self.inspect(f["queue"], f["id"]),
            "select": lambda f: self.select(f["id"]),
            "tick": self._tick,
            "history": self._history,
        }

    def set_state(self, sync_data: Any) -> None:
        """Takes from the front end only the state it owns (``compact``): the rest is the
        kernel's truth, which a page must not overwrite."""
        super().set_state(intents.front_end_state(sync_data))

    def _need_live(self) -> None:
        if self._stopped:
            raise BrokerStopped("it was stopped; this view only shows its last picture")

    def _need_desk(self) -> ConsumerDesk:
        self._need_live()
        if self._desk is None:
            raise ViewIsReadOnly()
        return self._desk

    def _publish(self, fields: dict[str, Any]) -> str:
        self._need_live()
        if self._backend is None:
            raise ViewIsReadOnly()
        kind, target = fields["kind"], fields["target"]
        message_id = self._form.publish(
            self._backend,
            [t.name for t in self.source.topics()],
            kind=kind,
            target=target,
            choice=fields["choice"],
            payload=fields["payload"],
            attributes=fields["attributes"],
            group_id=fields["group_id"],
        )
        self.selected = message_id
        return f"Published {message_id[:8]} to {kind} {target.strip()}."

    def _turn(self, fields: dict[str, Any]) -> None:
        self._need_live()
        queue = fields["queue"]
        if queue not in self.queue_pages:  # only a shown queue has pages
            raise QueueNotFound(queue, self.queue_pages)
        self._pages[queue] = fields["page"]
        self._page_cache.pop(queue, None)
        with self._lock:
            self._dirty_queues.add(queue)

    def _tick(self, _content: dict[str, Any]) -> None:
        """The front end saw a timeout or delay end on the real clock: recount everything."""
        with self._lock:
            self._all_dirty = True
            self._page_cache.clear()

    def _history(self, _content: dict[str, Any]) -> None:
        """Sends a front end that was just drawn the events it missed, for its timeline."""
        with self._lock:
            earlier = list(self._recent)
        self.send({"history": earlier, "epoch": self._epoch})

    @checked(published_id=_message_id)
    def select(self, published_id: str) -> None:
        """Selects a message everywhere (by the id it was published under) and inspects a copy."""
        self.selected = published_id
        for name, state in self.queue_pages.items():
            for card in state.get("cards", []):
                if published_id in (card["published_id"], card["id"]):
                    if not self._stopped:  # a stopped broker's copy cannot be read again
                        self.inspect(name, card["id"])
                    return
        self.inspected = {"missing": published_id}

    @checked(message_id=_message_id)
    def inspect(self, queue: str, message_id: str) -> None:
        """Shows one stored message, whole, in the inspector (and selects it)."""
        self._need_live()
        try:
            found = next((m for m in self.source.peek(queue) if m.message_id == message_id), None)
        except PeekNotSupported as error:
            self.inspected = {"error": str(error)}
            return
        if found is None:
            self.inspected = {"missing": message_id, "queue": queue}
            return
        info = next((q for q in self.source.queues() if q.name == queue), None)
        in_dlq = info is not None and info.is_dead_letter_queue
        published = self._published_id(found)
        self.selected = published
        self.inspected = picture.inspected(found, queue, in_dlq, published)

    def _say(self, ok: bool, text: str, panel: str, request: Any = None) -> None:
        said: dict[str, Any] = {"ok": ok, "text": text, "panel": panel,
                                "n": self.result.get("n", 0) + 1}  # fmt: skip
        if isinstance(request, int) and not isinstance(request, bool):
            said["request"] = request
        self.result = said

    # -- reading back, for code and tests -------------------------------------------------------

    def timeline(self) -> list[dict[str, Any]]:
        """The events the view holds (the newest HISTORY), as dicts, oldest first."""
        with self._lock:
            return list(self._recent)

    def close(self) -> None:
        """Stops listening to the broker (and any background consumer), then closes."""
        if not hasattr(self, "_desk"):  # refused its options: never listened, nothing opened
            return
        self._unsubscribe()
        self._cancel_follow()
        if self._desk is not None and self._desk.dispatcher is not None:
            self._desk.stop_background()
        super().close()


def _nothing() -> None:
    """Nothing to cancel: the source cannot be replaced."""


def _trim(mapping: dict[Any, Any], limit: int) -> None:
    while len(mapping) > limit:
        del mapping[next(iter(mapping))]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The kernel's event loop (Jupyter, Voila and Pyodide all run one), if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if "pyodide" in sys.modules:  # JupyterLite: cells may run outside a coroutine; the
        return asyncio.get_event_loop()  # browser's loop (WebLoop) runs all the same
    return None


def _backend_of(source: object) -> MessagingBackend | None:
    """The source's backend, if it has one that can publish (a read-only observer has none)."""
    try:
        backend = getattr(source, "backend", None)
    except MelangeLabError:
        return None
    return backend if isinstance(backend, MessagingBackend) else None
