"""The broker view: an anywidget whose front end (``static/view.js``, ``static/view.css``)
draws the topology, the queues, the Publish / Consume / Inspect / Timeline panels, and animates
what the event log says happened. ``SimulatedBroker.view()`` returns one.

Python is the source of truth: the broker's state and its event log are synced traits; the
front end only draws them and sends intents back ("publish this", "receive one from billing").
The view learns what changed only from the broker's events. A burst of events (10,000
publishes in one cell) only marks what is stale; one redraw follows on the kernel's event
loop once the cell has finished (no thread of its own: Pyodide has none).
"""

from __future__ import annotations

import asyncio
import json
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
from melange_lab.backends.sqs import Subscription
from melange_lab.clock import BrokerClock
from melange_lab.errors import MelangeLabError, QueueNotFound, ViewIsReadOnly
from melange_lab.events import Event
from melange_lab.inspection import (
    PeekedMessage,
    PeekNotSupported,
    PeekPage,
    QueueInfo,
    payload_text,
    readable,
)
from melange_lab.serializers import SerializerRegistry
from melange_lab.widgets import intents
from melange_lab.widgets.actions import ConsumerDesk, PublishForm, default_registry
from melange_lab.widgets.source import BrokerSource, broker_source

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_PAGE_SIZE = 1_000  # cards per queue a page may hold
EVENT_LIMIT = 150  # events the front end keeps for animation and the timeline
MAX_EVENT_LIMIT = 10_000
PREVIEW_CHARS = 120
_FILTERED_SHOWN = 3
_STATIC = Path(__file__).parent / "static"
_STRUCTURE = {"topic_declared", "queue_declared", "subscribed", "queue_deleted",
              "topic_deleted", "reset"}  # fmt: skip


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _policy_text(subscription: Subscription) -> str:
    policy = subscription.filter_policy
    if policy is None:
        return "no filter: every message"
    scope = "" if policy.scope.value == "MessageAttributes" else " on the body"
    return f"filter{scope}: {json.dumps(policy.rules, separators=(',', ':'))}"


def _event_dict(event: Event, published_of: dict[str, str]) -> dict[str, Any]:
    """An event as the front end reads it (None fields left out, detail kept JSON-safe)."""
    kind = getattr(event.kind, "value", str(event.kind))
    data: dict[str, Any] = {"seq": event.seq, "at": event.at, "kind": kind}
    for name in ("queue", "topic", "message_id", "reason"):
        value = getattr(event, name)
        if value is not None:
            data[name] = value
    published = event.published_id or published_of.get(event.message_id or "")
    if published:
        data["published_id"] = published
    detail = {k: v for k, v in event.detail.items() if k != "body"}
    if detail:
        data["detail"] = json.loads(json.dumps(detail, default=str))
    return data


class BrokerView(anywidget.AnyWidget):
    """A live picture of a broker that follows its events.

    ``source``: any object with ``events``, ``subscribe``, ``topics``, ``queues``,
    ``subscriptions`` and ``peek`` (a ``SimulatedBroker``, or a read-only observer of a real
    endpoint). If it also has ``backend`` (and ``clock``), the Publish and Consume panels work.
    ``refresh_interval=None`` redraws only on ``flush()`` (and after the view's own actions).
    """

    _esm = _STATIC / "view.js"
    _css = _STATIC / "view.css"

    structure = traitlets.Dict(
        help="Topics, subscriptions (with filter text) and queues (with dead-letter links)."
    ).tag(sync=True)
    queue_pages = traitlets.Dict(
        help="Per queue: counts, the shown page of message cards, paging, filter notes."
    ).tag(sync=True)
    events: traitlets.List[dict[str, Any]] = traitlets.List(
        help="The newest events of the broker's log, oldest first; what the front end animates."
    ).tag(sync=True)
    first_seq = traitlets.Int(
        0, help="Events after this sequence number happened while the view existed: animate them."
    ).tag(sync=True)
    clock = traitlets.Dict(help="Broker time (epoch s) when sent, and the clock mode.").tag(
        sync=True
    )
    forms = traitlets.Dict(
        help="What Publish and Consume offer: targets, message classes, templates, held messages."
    ).tag(sync=True)
    inspected = traitlets.Dict(help="The message the inspector shows, whole.").tag(sync=True)
    selected = traitlets.Unicode(
        "", help="The published id of the message selected everywhere (empty: none)."
    ).tag(sync=True)
    result = traitlets.Dict(
        help="The last action's outcome: {'ok': bool, 'text': ..., 'n': counter, 'panel': ...}."
    ).tag(sync=True)
    compact = traitlets.Bool(False, help="One line per card, smaller topology.").tag(sync=True)
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
        event_limit=ranged(1, MAX_EVENT_LIMIT, whole=True, fix="e.g. event_limit=150."),
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
        self.source = source
        self.page_size = page_size
        self.refresh_interval = refresh_interval
        self.renders = 0
        self._event_limit = event_limit
        self._lock = threading.RLock()
        self._pending: deque[Event] = deque(maxlen=event_limit)
        self._recent: deque[dict[str, Any]] = deque(maxlen=event_limit)
        self._structure_dirty = self._all_dirty = True
        self._dirty_queues: set[str] = set()
        self._pages: dict[str, int] = {}
        self._page_cache: dict[str, tuple[int, int, list[dict[str, Any]]]] = {}
        self._filtered: dict[str, deque[dict[str, Any]]] = {}
        self._filtered_total: dict[str, int] = {}
        self._published_of: dict[str, str] = {}  # queue copy id -> id it was published under
        self._raw_copies: dict[tuple[str, str], deque[tuple[float, str]]] = {}
        self._bodies: dict[str, str] = {}
        self._flush_scheduled = False
        self._loop = _running_loop()
        backend = _backend_of(source)
        self._clock: BrokerClock | None = getattr(source, "clock", None)
        chosen = registry or getattr(backend, "serializer_registry", None) or default_registry()
        self.registry = chosen
        self._form = PublishForm(chosen)
        self._desk = None if backend is None else ConsumerDesk(backend, chosen, self._clock)
        self._backend = backend
        self.read_only = backend is None
        self.on_msg(self._intent)
        with self._lock:
            self._unsubscribe = source.subscribe(self._heard)
            history = list(source.events)
            for event in history:
                self._note(event)
            self.first_seq = history[-1].seq if history else 0
        self.flush()

    # -- hearing events -------------------------------------------------------------------------

    def _heard(self, event: Event) -> None:
        with self._lock:
            if event.seq <= self.first_seq:
                return  # already read from the log when the view was built
            self._note(event)
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
        if kind == "published" and event.topic and event.message_id:
            self._bodies[event.message_id] = str(event.detail.get("body", ""))
            _trim(self._bodies, self._event_limit)
        if event.message_id and event.published_id and event.published_id != event.message_id:
            self._published_of[event.message_id] = event.published_id  # the broker says so
            _trim(self._published_of, 20 * self._event_limit)
        if event.queue:
            self._queue_changed(event, kind)
        other = event.detail.get("dead_letter_queue")
        if isinstance(other, str):
            self._dirty_queues.add(other)
            self._page_cache.pop(other, None)

    def _queue_changed(self, event: Event, kind: str) -> None:
        queue = str(event.queue)
        self._dirty_queues.add(queue)
        appended = kind in ("delivered",) or (kind == "published" and not event.topic)
        if not appended:
            self._page_cache.pop(queue, None)  # a receive, ack... may change the shown page
        if kind == "filtered":
            note = {"id": event.published_id or event.message_id or "", "topic": event.topic or "",
                    "reason": event.reason or "the filter policy did not match"}  # fmt: skip
            self._filtered.setdefault(queue, deque(maxlen=_FILTERED_SHOWN)).append(note)
            self._filtered_total[queue] = self._filtered_total.get(queue, 0) + 1
        if kind == "delivered" and event.detail.get("raw_message_delivery") and event.message_id:
            body = self._bodies.get(event.message_id)
            if body is not None:
                copies = self._raw_copies.setdefault((queue, body), deque(maxlen=50))
                copies.append((event.at, event.message_id))
                _trim(self._raw_copies, self._event_limit)

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
        if not (structure or everything or dirty or fresh):
            self._send_clock()
            return
        with self.hold_sync():  # one message to the front end per redraw
            if fresh:
                self._recent.extend(_event_dict(e, self._published_of) for e in fresh)
                self.events = list(self._recent)
            try:
                self._draw(structure, everything, dirty)
            except MelangeLabError as error:
                self._say(False, str(error), "view")
            self._send_clock()
        self.renders += 1

    def _send_clock(self) -> None:
        if self._clock is not None:
            self.clock = {"now": self._clock.now(), "mode": self._clock.mode}

    def _draw(self, structure: bool, everything: bool, dirty: set[str]) -> None:
        queues = self.source.queues()
        if structure:
            self.structure = self._structure_state(queues)
        pages = dict(self.queue_pages)
        names = {info.name for info in queues}
        for name in set(pages) - names:
            del pages[name]
        for info in queues:
            if everything or info.name in dirty or info.name not in pages:
                pages[info.name] = self._queue_state(info)
        self.queue_pages = pages
        self.forms = self._forms_state()

    def _structure_state(self, queues: list[QueueInfo]) -> dict[str, Any]:
        topics = self.source.topics()
        subscriptions = self.source.subscriptions()
        return {
            "topics": [{"name": t.name, "fifo": t.fifo} for t in topics],
            "subscriptions": [
                {
                    "topic": s.topic,
                    "queue": s.queue,
                    "filter": _policy_text(s),
                    "filtered": s.filter_policy is not None,
                    "raw": s.raw_message_delivery,
                }
                for s in sorted(subscriptions, key=lambda s: (s.topic, s.queue))
            ],
            "queues": [
                {
                    "name": q.name,
                    "fifo": q.fifo,
                    "dead_letter_queue": q.dead_letter_queue,
                    "max_receive_count": q.max_receive_count,
                    "is_dlq": q.is_dead_letter_queue,
                    "dead_letter_sources": list(q.dead_letter_sources),
                }
                for q in queues
            ],
        }

    def _queue_state(self, info: QueueInfo) -> dict[str, Any]:
        state: dict[str, Any] = {
            "visible": info.visible,
            "in_flight": info.in_flight,
            "delayed": info.delayed,
            "total": info.total,
            "is_dlq": info.is_dead_letter_queue,
            "filtered_total": self._filtered_total.get(info.name, 0),
            "filtered": list(self._filtered.get(info.name, ())),
            "page_size": self.page_size,
        }
        page = self._pages.get(info.name, 0)
        pages = max(1, -(-info.total // self.page_size))
        page = min(page, pages - 1)
        self._pages[info.name] = page
        try:
            cards = self._cards(info, page)
        except PeekNotSupported as error:
            state.update(cards=[], page=0, pages=1, peek_error=str(error))
            return state
        state.update(cards=cards, page=page, pages=pages)
        return state

    def _cards(self, info: QueueInfo, page: int) -> list[dict[str, Any]]:
        """The shown page's cards; a publish that only appended behind a full page reuses it."""
        cached = self._page_cache.get(info.name)
        if cached is not None and cached[0] == page and len(cached[2]) == self.page_size:
            return cached[2]
        result = self._peek_page(info.name, page * self.page_size)
        cards = [self._card(message, info) for message in result.messages]
        self._page_cache[info.name] = (page, result.total, cards)
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

    def _published_id(self, queue: str, message: PeekedMessage) -> str:
        if message.envelope is not None:
            return message.published_id
        known = self._published_of.get(message.message_id)
        if known is not None:
            return known
        copies = self._raw_copies.get((queue, message.body))
        if copies:
            _, found = min(copies, key=lambda c: abs(c[0] - message.sent_at))
            return found
        return message.message_id

    def _card(self, message: PeekedMessage, info: QueueInfo) -> dict[str, Any]:
        published = self._published_id(info.name, message)
        if published != message.message_id:
            self._published_of[message.message_id] = published
            _trim(self._published_of, 20 * self._event_limit)
        preview = (
            f"cannot decode: {message.decode_error}"
            if message.decode_error
            else payload_text(message.payload)
        )
        return {
            "id": message.message_id,
            "published_id": published,
            "state": "dead_lettered" if info.is_dead_letter_queue else message.state,
            "sqs_state": message.state,
            "receive_count": message.receive_count,
            "type": message.type_name,
            "preview": _short(preview, PREVIEW_CHARS),
            "decode_error": message.decode_error,
            "sent_at": message.sent_at,
            "visible_at": message.visible_at,
            "delayed_until": message.delayed_until,
            "group": message.message_group_id,
        }

    def _forms_state(self) -> dict[str, Any]:
        return {
            "topics": [t["name"] for t in self.structure.get("topics", [])],
            "queues": [q["name"] for q in self.structure.get("queues", [])],
            "classes": self._form.choices(),
            "held": [] if self._desk is None else self._desk.held_list(),
            "background": None if self._desk is None else self._desk.background_queue,
            "clock": self._clock is not None,
        }

    # -- intents from the front end (untrusted: checked in widgets/intents.py) -----------------

    def _intent(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Carries out one intent. Whatever a page sends, the panel that sent it gets an answer
        and no exception escapes (ipywidgets would only log it, leaving the panel busy)."""
        panel = intents.answer_panel(content)
        try:
            if intents.spec_of(content)[1].changes_the_broker and self._desk is None:
                raise ViewIsReadOnly()
            intent = intents.read_intent(content)
            said = self._handlers()[intent.name](intent.fields)
        except MelangeLabError as error:
            self._say(False, str(error), panel)
        except Exception as error:  # a bug of the lab's: said in the panel, not lost in a log
            logger.exception("the broker view could not carry out an intent")
            self._say(False, intents.unexpected(error), panel)
        else:
            if said is not None:
                self._say(True, said, panel)
        self._redraw_after_intent(panel)

    def _redraw_after_intent(self, panel: str) -> None:
        try:
            self.flush()
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
        }

    def set_state(self, sync_data: Any) -> None:
        """Takes from the front end only the state it owns (``compact``): the rest is the
        kernel's truth, which a page must not overwrite."""
        super().set_state(intents.front_end_state(sync_data))

    def _need_desk(self) -> ConsumerDesk:
        if self._desk is None:
            raise ViewIsReadOnly()
        return self._desk

    def _publish(self, fields: dict[str, Any]) -> str:
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

    def select(self, published_id: str) -> None:
        """Selects a message everywhere (by the id it was published under) and inspects a copy."""
        self.selected = published_id
        for name, state in self.queue_pages.items():
            for card in state.get("cards", []):
                if card["published_id"] == published_id or card["id"] == published_id:
                    self.inspect(name, card["id"])
                    return
        self.inspected = {"missing": published_id}

    def inspect(self, queue: str, message_id: str) -> None:
        """Shows one stored message, whole, in the inspector (and selects it)."""
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
        published = self._published_id(queue, found)
        self.selected = published
        self.inspected = {
            "queue": queue,
            "id": found.message_id,
            "published_id": published,
            "state": "dead_lettered" if in_dlq else found.state,
            "receive_count": found.receive_count,
            "sent_at": found.sent_at,
            "visible_at": found.visible_at,
            "delayed_until": found.delayed_until,
            "manifest": found.manifest,
            "serializer_id": found.serializer_id,
            "group": found.message_group_id,
            "deduplication_id": found.deduplication_id,
            "type": found.type_name,
            "fields": None if found.decode_error else readable(found.payload),
            "payload_text": None if found.decode_error else payload_text(found.payload, 2),
            "decode_error": found.decode_error,
            "attributes": found.envelope_attributes,
            "envelope": None if found.envelope is None else json.dumps(found.envelope, indent=2),
            "body": found.body,
        }

    def _say(self, ok: bool, text: str, panel: str) -> None:
        self.result = {"ok": ok, "text": text, "panel": panel, "n": self.result.get("n", 0) + 1}

    # -- reading back, for code and tests -------------------------------------------------------

    def timeline(self) -> list[dict[str, Any]]:
        """The events the view holds, as dicts, oldest first (what its timeline draws)."""
        return list(self.events)

    def close(self) -> None:
        """Stops listening to the broker (and any background consumer), then closes."""
        if not hasattr(self, "_desk"):  # refused its options: never listened, nothing opened
            return
        self._unsubscribe()
        if self._desk is not None and self._desk.dispatcher is not None:
            self._desk.stop_background()
        super().close()


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
