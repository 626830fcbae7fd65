"""The message inspector: one stored message, whole (envelope, attributes, decoded payload)."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets

from melange_lab.inspection import PeekedMessage
from melange_lab.widgets.html import esc, message_html

_HINT = (
    '<div class="ml-empty">Pick a message id in a queue panel\'s <b>Inspect</b> list to see '
    "it whole here.</div>"
)


class MessageInspector(widgets.VBox):  # type: ignore[misc]
    """Shows the message picked in a queue panel and follows it as its state changes."""

    def __init__(self) -> None:
        self.detail = widgets.HTML(_HINT)
        super().__init__([self.detail])
        self.add_class("ml-inspector")
        self.queue: str | None = None
        self.message: PeekedMessage | None = None
        self._in_dead_letter_queue = False

    def show(self, queue: str, message: PeekedMessage, in_dead_letter_queue: bool = False) -> None:
        self.queue, self.message = queue, message
        self._in_dead_letter_queue = in_dead_letter_queue
        self.detail.value = message_html(queue, message, in_dead_letter_queue)

    def follow(self, queue: str, messages: Sequence[PeekedMessage]) -> None:
        """Called with a queue's fresh messages: redraws the shown one, or says it is gone."""
        if self.message is None or queue != self.queue:
            return
        wanted = self.message.message_id
        fresh = next((m for m in messages if m.message_id == wanted), None)
        if fresh is not None:
            self.show(queue, fresh, self._in_dead_letter_queue)
            return
        self.detail.value = (
            f'<div class="ml-note">Message <code>{esc(wanted[:8])}</code> is no longer in '
            f"<b>{esc(queue)}</b>: it was acknowledged, moved to a dead-letter queue or "
            f"redriven (see the timeline).</div>"
        )
        self.message = None
