"""One queue's panel: its counts, a page of message cards, and what its filter kept out.

A queue may hold 10,000 messages; the panel draws at most ``page_size`` cards, counts the
rest, and pages with Previous / Next, so the front end never receives more than one page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as widgets

from melange_lab.events import Event
from melange_lab.inspection import PeekedMessage, PeekNotSupported, QueueInfo
from melange_lab.widgets.html import (
    PAGE_SIZE,
    cards_html,
    esc,
    filtered_html,
    page_summary,
    peek_unavailable_html,
    queue_header_html,
)

_PICK = "pick a message"
# Called with (queue name, message, whether the queue is a dead-letter queue).
InspectCallback = Callable[[str, PeekedMessage, bool], None]


class QueuePanel(widgets.VBox):  # type: ignore[misc]
    """Cards for one queue's stored messages, a page at a time."""

    def __init__(self, name: str, *, page_size: int = PAGE_SIZE) -> None:
        self.name = name
        self.page_size = page_size
        self.page = 0
        self.info: QueueInfo | None = None
        self.messages: list[PeekedMessage] = []
        self.peek_error: PeekNotSupported | None = None
        self.on_inspect: InspectCallback | None = None
        self.header = widgets.HTML()
        self.summary = widgets.HTML()
        self.cards = widgets.HTML()
        self.filtered = widgets.HTML()
        self.previous_button = widgets.Button(
            description="Previous", icon="chevron-left", layout=widgets.Layout(width="auto")
        )
        self.next_button = widgets.Button(
            description="Next", icon="chevron-right", layout=widgets.Layout(width="auto")
        )
        self.pick = widgets.Dropdown(
            description="Inspect", options=[(_PICK, "")], value="",
            layout=widgets.Layout(width="auto", flex="1 1 auto"),
        )  # fmt: skip
        self.previous_button.on_click(lambda _: self.turn(-1))
        self.next_button.on_click(lambda _: self.turn(1))
        self.pick.observe(self._picked, names="value")
        self.paging = widgets.HBox([self.previous_button, self.next_button])
        self.controls = widgets.HBox(
            [self.paging, self.pick],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        super().__init__([self.header, self.summary, self.cards, self.controls, self.filtered])
        self.add_class("ml-panel")
        self.add_class("ml-queue-panel")
        self.layout = widgets.Layout(padding="6px 8px", min_width="0")

    @property
    def in_dead_letter_queue(self) -> bool:
        return self.info is not None and self.info.is_dead_letter_queue

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.messages) // self.page_size))

    def update(self, info: QueueInfo, messages: Sequence[PeekedMessage] | PeekNotSupported) -> None:
        """Takes the queue's fresh counts and stored messages (or why they cannot be seen)."""
        self.info = info
        self.header.value = queue_header_html(info)
        if isinstance(messages, PeekNotSupported):
            self.peek_error, self.messages = messages, []
        else:
            self.peek_error, self.messages = None, list(messages)
        self._draw_page()

    def set_filtered(self, recent: Sequence[Event], total: int) -> None:
        self.filtered.value = filtered_html(recent, total)

    def turn(self, pages: int) -> None:
        """Moves ``pages`` pages forward (negative: back), staying within the queue."""
        self.page = min(max(0, self.page + pages), self.page_count - 1)
        self._draw_page()

    def page_messages(self) -> list[PeekedMessage]:
        start = self.page * self.page_size
        return self.messages[start : start + self.page_size]

    def _draw_page(self) -> None:
        self.page = min(self.page, self.page_count - 1)
        if self.peek_error is not None:
            self.summary.value = ""
            self.cards.value = peek_unavailable_html(self.peek_error)
            self._set_paging(False, False, [])
            return
        shown = self.page_messages()
        start = self.page * self.page_size
        summary = page_summary(len(self.messages), start, len(shown))
        if self.page_count > 1:
            summary += f" \u00b7 page {self.page + 1:,} of {self.page_count:,}"
        self.summary.value = f'<div class="ml-muted ml-page">{esc(summary)}</div>'
        self.cards.value = cards_html(shown, self.in_dead_letter_queue)
        self._set_paging(self.page > 0, self.page < self.page_count - 1, shown)

    def _set_paging(self, back: bool, forward: bool, shown: Sequence[PeekedMessage]) -> None:
        self.previous_button.disabled = not back
        self.next_button.disabled = not forward
        options = [(_PICK, "")] + [
            (f"{m.short_id} \u00b7 {m.manifest or 'no manifest'}", m.message_id) for m in shown
        ]
        if list(self.pick.options) != options:
            self.pick.options = options
        self.pick.disabled = not shown
        self.paging.layout.display = None if (back or forward) else "none"
        self.controls.layout.display = None if shown else "none"

    def _picked(self, change: dict[str, object]) -> None:
        message_id = change["new"]
        if not message_id:
            return
        message = next((m for m in self.messages if m.message_id == message_id), None)
        self.pick.value = ""
        if message is not None and self.on_inspect is not None:
            self.on_inspect(self.name, message, self.in_dead_letter_queue)
