"""The broker view: topology, one panel per queue, and tabs to publish, consume, inspect and
read the event timeline. ``SimulatedBroker.view()`` returns one.

It learns what changed only from the broker's events and redraws only what they touched.
A burst of events (10,000 publishes in one cell) marks panels dirty; a timer redraws them at
most every ``refresh_interval`` seconds (stretched to three times the last redraw's cost), so
the page keeps up without redrawing once per message.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import ipywidgets as widgets

from melange_lab.backends.base import MessagingBackend
from melange_lab.backends.sqs import Subscription
from melange_lab.clock import BrokerClock
from melange_lab.errors import MelangeLabError
from melange_lab.events import Event, EventKind
from melange_lab.inspection import PeekedMessage, PeekNotSupported, QueueInfo, TopicInfo
from melange_lab.runtime import Cancellable, call_later
from melange_lab.serializers import SerializerRegistry
from melange_lab.widgets.consumer_controls import ConsumerControls
from melange_lab.widgets.html import (
    PAGE_SIZE,
    clock_time,
    display_order,
    esc,
    plural,
    style_tag,
)
from melange_lab.widgets.inspector import MessageInspector
from melange_lab.widgets.publish_panel import PublishPanel, default_registry
from melange_lab.widgets.queue_panel import QueuePanel
from melange_lab.widgets.source import BrokerSource
from melange_lab.widgets.timeline import EventTimeline
from melange_lab.widgets.topology import TopologyDiagram

_STRUCTURE = {
    EventKind.TOPIC_DECLARED,
    EventKind.QUEUE_DECLARED,
    EventKind.SUBSCRIBED,
    EventKind.QUEUE_DELETED,
    EventKind.TOPIC_DELETED,
    EventKind.RESET,
}
_FILTERED_SHOWN = 3  # newest filter notes listed per queue; older ones are only counted


class BrokerView(widgets.VBox):  # type: ignore[misc]
    """A live picture of a broker that follows its events.

    ``source``: any object with ``events``, ``subscribe``, ``topics``, ``queues``,
    ``subscriptions`` and ``peek`` (a ``SimulatedBroker``, or a read-only observer of a real
    endpoint). If it also has ``backend`` (and ``clock``), the publish and consumer tabs work.
    ``refresh_interval=None`` redraws only on ``flush()``.
    """

    def __init__(
        self,
        source: BrokerSource,
        *,
        registry: SerializerRegistry | None = None,
        page_size: int = PAGE_SIZE,
        refresh_interval: float | None = 0.2,
        timeline_limit: int = 60,
    ) -> None:
        self.source = source
        self.page_size = page_size
        self.refresh_interval = refresh_interval
        self.renders = 0
        self._lock = threading.RLock()  # guards what is pending
        self._render_lock = threading.RLock()  # one redraw at a time
        self._timer: Cancellable | None = None
        self._wait = refresh_interval or 0.0
        self._last_flush = 0.0
        self._structure_dirty = True
        self._all_dirty = True
        self._timeline_dirty = True
        self._dirty_queues: set[str] = set()
        self._filtered: dict[str, deque[Event]] = {}
        self._filtered_total: dict[str, int] = {}
        self._topics: list[TopicInfo] = []
        self._subscriptions: list[Subscription] = []
        self.panels: dict[str, QueuePanel] = {}

        backend = _backend_of(source)
        self._clock: BrokerClock | None = getattr(source, "clock", None)
        chosen = registry or getattr(backend, "serializer_registry", None) or default_registry()
        self.title = widgets.HTML()
        self.status = widgets.HTML()
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="redraw everything now"
        )
        self.refresh_button.on_click(lambda _: self.refresh())
        self.topology = TopologyDiagram()
        self.panel_grid = widgets.GridBox(
            layout=widgets.Layout(
                grid_template_columns="repeat(auto-fill, minmax(300px, 1fr))",
                grid_gap="8px",
                width="100%",
            )
        )
        self.inspector = MessageInspector()
        self.timeline = EventTimeline(lambda: list(self.source.events), limit=timeline_limit)
        self.publish_panel: PublishPanel | None = None
        self.consumer_controls: ConsumerControls | None = None
        tabs: list[tuple[str, widgets.Widget]] = []
        if backend is not None:
            self.publish_panel = PublishPanel(
                backend, chosen, topic_names=lambda: [t.name for t in self.source.topics()]
            )
            self.consumer_controls = ConsumerControls(backend, chosen, self._clock)
            tabs += [("Publish", self.publish_panel), ("Consume", self.consumer_controls)]
        else:
            tabs.append(("Publish", widgets.HTML(
                '<div class="ml-note">This broker is watched read-only: publish and consume '
                "from your own code; the view follows what happens.</div>"
            )))  # fmt: skip
        tabs += [("Inspect", self.inspector), ("Timeline", self.timeline)]
        self.tabs = widgets.Tab(
            children=[widget for _, widget in tabs], titles=[title for title, _ in tabs]
        )
        self._inspector_tab = len(tabs) - 2
        self._timeline_tab = len(tabs) - 1
        self.timeline.active = False
        self.tabs.observe(self._tab_changed, names="selected_index")
        topology_box = widgets.Box(
            [self.topology], layout=widgets.Layout(overflow="auto", width="100%")
        )
        super().__init__(
            [
                widgets.HTML(style_tag()),
                widgets.HBox(
                    [self.title, self.refresh_button], layout=widgets.Layout(align_items="center")
                ),
                self.status,
                topology_box,
                self.panel_grid,
                self.tabs,
            ]
        )
        self.add_class("ml-view")
        self.add_class("ml-broker-view")
        with self._lock:
            self._unsubscribe = source.subscribe(self._heard)
            history = list(source.events)
            for event in history:
                self._note(event)
            self._seen_up_to = history[-1].seq if history else 0
        self.flush()

    # -- hearing events -------------------------------------------------------------------------

    def _heard(self, event: Event) -> None:
        with self._lock:
            if event.seq <= self._seen_up_to:
                return  # already read from the log when the view was built
            self._note(event)
        self._schedule()

    def _note(self, event: Event) -> None:
        """Marks what ``event`` changed; cheap, since it runs once per event."""
        self._timeline_dirty = True
        if event.kind in _STRUCTURE or event.kind is EventKind.CLOCK_ADVANCED:
            self._all_dirty = True
            self._structure_dirty = self._structure_dirty or event.kind in _STRUCTURE
        if event.kind is EventKind.RESET:
            self._filtered.clear()
            self._filtered_total.clear()
        if event.queue:
            self._dirty_queues.add(event.queue)
            if event.kind is EventKind.FILTERED:
                self._filtered.setdefault(event.queue, deque(maxlen=_FILTERED_SHOWN)).append(event)
                self._filtered_total[event.queue] = self._filtered_total.get(event.queue, 0) + 1
        other = event.detail.get("dead_letter_queue")
        if isinstance(other, str):
            self._dirty_queues.add(other)

    def _schedule(self) -> None:
        if self.refresh_interval is None:
            return
        with self._lock:
            if self._timer is not None:
                return
            delay = max(0.0, self._last_flush + self._wait - time.monotonic())
            self._timer = call_later(delay, self._timer_fired)

    def _timer_fired(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()

    # -- drawing ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraws everything now (e.g. after a visibility timeout ended on a real clock)."""
        with self._lock:
            self._structure_dirty = self._all_dirty = self._timeline_dirty = True
        self.flush()

    def flush(self) -> None:
        """Redraws whatever events made stale since the last redraw; a no-op if nothing is."""
        with self._render_lock:
            with self._lock:
                structure, everything = self._structure_dirty, self._all_dirty
                queues, timeline = set(self._dirty_queues), self._timeline_dirty
                self._structure_dirty = self._all_dirty = self._timeline_dirty = False
                self._dirty_queues.clear()
            if not (structure or everything or queues or timeline):
                return
            started = time.perf_counter()
            try:
                self._draw(structure, everything, queues, timeline)
                self.status.value = ""
            except MelangeLabError as error:
                self.status.value = f'<div class="ml-error">{esc(error)}</div>'
            cost = time.perf_counter() - started
            self._last_flush = time.monotonic()
            self._wait = max(self.refresh_interval or 0.0, 3 * cost)
            self.renders += 1

    def _draw(self, structure: bool, everything: bool, dirty: set[str], timeline: bool) -> None:
        queues = self.source.queues()
        if structure:
            self._topics = self.source.topics()
            self._subscriptions = self.source.subscriptions()
        self.topology.update(self._topics, self._subscriptions, queues)
        new = self._sync_panels(queues)
        for info in queues:
            if everything or info.name in dirty or info.name in new:
                self._draw_queue(self.panels[info.name], info)
        if structure:
            topic_names = [t.name for t in self._topics]
            queue_names = [q.name for q in queues]
            self.timeline.set_names(topic_names, queue_names)
            if self.publish_panel is not None:
                self.publish_panel.set_names(topic_names, queue_names)
            if self.consumer_controls is not None:
                self.consumer_controls.set_queues(queue_names)
        if timeline:
            self.timeline.refresh()
        self.title.value = self._title(queues)

    def _draw_queue(self, panel: QueuePanel, info: QueueInfo) -> None:
        messages: list[PeekedMessage] | PeekNotSupported
        try:
            messages = self.source.peek(info.name)
        except PeekNotSupported as error:
            messages = error
        panel.update(info, messages)
        panel.set_filtered(
            list(self._filtered.get(info.name, ())), self._filtered_total.get(info.name, 0)
        )
        if not isinstance(messages, PeekNotSupported):
            self.inspector.follow(info.name, messages)

    def _sync_panels(self, queues: list[QueueInfo]) -> set[str]:
        """Adds a panel per new queue and drops deleted ones; returns the new names."""
        names = [q.name for q in display_order(queues)]
        new = {name for name in names if name not in self.panels}
        for name in new:
            panel = QueuePanel(name, page_size=self.page_size)
            panel.on_inspect = self._inspect
            self.panels[name] = panel
        for name in set(self.panels) - set(names):
            self.panels.pop(name).close()
        children = tuple(self.panels[name] for name in names)
        if children != tuple(self.panel_grid.children):
            self.panel_grid.children = children
        return new

    def _title(self, queues: list[QueueInfo]) -> str:
        parts = [plural(len(self._topics), "topic"), plural(len(queues), "queue")]
        if self._clock is not None:
            parts.append(f"broker clock {clock_time(self._clock.now())} UTC ({self._clock.mode})")
        said = esc(" \u00b7 ".join(parts))
        return f'<div class="ml-title">Broker <span class="ml-muted">{said}</span></div>'

    # -- tabs ---------------------------------------------------------------------------------

    def _inspect(self, queue: str, message: PeekedMessage, in_dead_letter_queue: bool) -> None:
        self.inspector.show(queue, message, in_dead_letter_queue)
        self.tabs.selected_index = self._inspector_tab

    def _tab_changed(self, change: dict[str, Any]) -> None:
        if change["new"] == self._timeline_tab:
            self.timeline.show()
        else:
            self.timeline.active = False

    def close(self) -> None:
        """Stops listening to the broker (and any background consumer), then closes."""
        self._unsubscribe()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self.consumer_controls is not None:
            self.consumer_controls.stop_background()
        super().close()


def _backend_of(source: object) -> MessagingBackend | None:
    """The source's backend, if it has one that can publish (a read-only observer has none)."""
    try:
        backend = getattr(source, "backend", None)
    except MelangeLabError:
        return None
    return backend if isinstance(backend, MessagingBackend) else None
