"""The event timeline: the broker's event log as a filterable list, newest last."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as widgets

from melange_lab.events import Event, EventKind
from melange_lab.widgets.html import events_html

ANY = "any"


class EventTimeline(widgets.VBox):  # type: ignore[misc]
    """Events filtered by kind, queue and topic; ``export()`` gives them as dicts.

    Draws at most ``limit`` rows (the newest) and counts the older matches, so a log of
    10,000 events stays light in the page.
    """

    def __init__(self, events: Callable[[], Iterable[Event]], *, limit: int = 60) -> None:
        self._events = events
        self.limit = limit
        self.active = True
        self._stale = True
        self.kind = widgets.Dropdown(
            description="Kind", options=[ANY, *[k.value for k in EventKind]], value=ANY
        )
        self.queue = widgets.Dropdown(description="Queue", options=[ANY], value=ANY)
        self.topic = widgets.Dropdown(description="Topic", options=[ANY], value=ANY)
        self.rows = widgets.HTML()
        for box in (self.kind, self.queue, self.topic):
            box.observe(lambda _: self.refresh(force=True), names="value")
        super().__init__(
            [
                widgets.HBox(
                    [self.kind, self.queue, self.topic], layout=widgets.Layout(flex_flow="row wrap")
                ),
                self.rows,
            ]
        )
        self.add_class("ml-timeline")

    def set_names(self, topics: list[str], queues: list[str]) -> None:
        for box, names in ((self.topic, topics), (self.queue, queues)):
            current = box.value
            box.options = [ANY, *names]
            box.value = current if current in names else ANY

    def matching(self) -> list[Event]:
        """Every logged event that passes the filters, oldest first."""
        kind, queue, topic = self.kind.value, self.queue.value, self.topic.value
        return [
            event
            for event in self._events()
            if (kind == ANY or event.kind.value == kind)
            and (queue == ANY or event.queue == queue)
            and (topic == ANY or event.topic == topic)
        ]

    def export(self) -> list[dict[str, Any]]:
        """The matching events as plain dicts (``Event.as_dict``), e.g. for a DataFrame."""
        return [event.as_dict() for event in self.matching()]

    def refresh(self, force: bool = False) -> None:
        """Redraws if shown (or ``force``); otherwise remembers to redraw when shown."""
        self._stale = True
        if not (self.active or force):
            return
        found = self.matching()
        shown = found[-self.limit :] if self.limit else found
        self.rows.value = events_html(shown, len(found) - len(shown))
        self._stale = False

    def show(self) -> None:
        self.active = True
        if self._stale:
            self.refresh()
