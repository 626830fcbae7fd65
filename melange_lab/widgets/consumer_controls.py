"""Consumer controls: receive one message, then acknowledge it, release it, or let it time out;
run a background consumer; move the broker clock.

Every button goes through the backend's public methods (or ``MessageDispatcher``), so each
action shows up as events, and the queue panels redraw from those events.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from melange_lab.backends.base import MessagingBackend
from melange_lab.clock import BrokerClock
from melange_lab.consumers import Consumer
from melange_lab.errors import InvalidInput, MelangeLabError
from melange_lab.message_dispatcher import MessageDispatcher
from melange_lab.models import Message
from melange_lab.serializers import SerializerRegistry
from melange_lab.widgets.html import esc


def _ignore(message: Any) -> None:
    """The background consumer's handler: accepts every message, so each is acknowledged."""


class ConsumerControls(widgets.VBox):  # type: ignore[misc]
    """Receive / acknowledge / release / forget, a background consumer, and the clock."""

    def __init__(
        self,
        backend: MessagingBackend,
        registry: SerializerRegistry,
        clock: BrokerClock | None = None,
    ) -> None:
        self._backend = backend
        self._registry = registry
        self._clock = clock
        self._held: dict[str, Message] = {}
        self._dispatcher: MessageDispatcher | None = None
        self.queue = widgets.Dropdown(description="Queue", options=[])
        self.hide_for = widgets.BoundedIntText(
            value=30, min=0, max=43_200, description="Hide for (s)",
            tooltip="visibility timeout given to the receive",
        )  # fmt: skip
        self.receive_button = widgets.Button(description="Receive one", icon="download")
        self.held = widgets.Dropdown(description="Received", options=[])
        self.ack_button = widgets.Button(description="Acknowledge", icon="check")
        self.release_button = widgets.Button(description="Release now", icon="undo")
        self.forget_button = widgets.Button(description="Let it time out", icon="clock-o")
        self.background_button = widgets.ToggleButton(
            description="Background consumer", icon="play"
        )
        self.seconds = widgets.BoundedFloatText(value=30.0, min=0.0, max=1e6, description="Seconds")
        self.advance_button = widgets.Button(description="Advance clock", icon="forward")
        self.status = widgets.HTML()
        self.receive_button.on_click(lambda _: self.receive())
        self.ack_button.on_click(lambda _: self.acknowledge())
        self.release_button.on_click(lambda _: self.release())
        self.forget_button.on_click(lambda _: self.let_time_out())
        self.advance_button.on_click(lambda _: self.advance_clock())
        self.background_button.observe(self._toggle_background, names="value")
        rows = [
            widgets.HBox([self.queue, self.hide_for, self.receive_button]),
            widgets.HBox([self.held, self.ack_button, self.release_button, self.forget_button]),
            widgets.HBox([self.background_button]),
        ]
        if clock is not None:
            rows.append(widgets.HBox([self.seconds, self.advance_button]))
        super().__init__([*rows, self.status])
        self.add_class("ml-consumer")
        self._refresh_held()

    def set_queues(self, names: list[str]) -> None:
        current = self.queue.value
        self.queue.options = names
        if current in names:
            self.queue.value = current

    # -- one message at a time ----------------------------------------------------------------

    def receive(self) -> Message | None:
        """Receives at most one message from the chosen queue and holds it here."""

        def run() -> str:
            queue = self._backend.get_queue(self._chosen_queue())
            received = self._backend.retrieve_messages(
                queue, max_messages=1, wait_time_seconds=0, visibility_timeout=self.hide_for.value
            )
            if not received:
                return f"Nothing visible in '{queue.name}' to receive."
            message = received[0]
            self._held[str(message.message_id)] = message
            self._refresh_held(str(message.message_id))
            return (
                f"Received {str(message.message_id)[:8]}: it is in flight (hidden from other "
                f"consumers) for {self.hide_for.value} s unless acknowledged or released."
            )

        self._do(run)
        return self._held.get(str(self.held.value)) if self.held.value else None

    def acknowledge(self) -> None:
        """Deletes the held message from its queue: it is done."""
        self._do(lambda: self._finish("acknowledged", self._backend.acknowledge))

    def release(self) -> None:
        """Hands the held message back: visible again at once."""
        self._do(
            lambda: self._finish("released", lambda m: self._backend.release(m, "released by hand"))
        )

    def let_time_out(self) -> None:
        """Drops the held message without telling the broker: it reappears after its timeout."""

        def run() -> str:
            message = self._take_held()
            return (
                f"Let {str(message.message_id)[:8]} go without acknowledging: it becomes visible "
                "again when its visibility timeout ends (advance the clock to see it)."
            )

        self._do(run)

    def _finish(self, verb: str, action: Any) -> str:
        message = self._take_held()
        action(message)
        return f"{verb.capitalize()} {str(message.message_id)[:8]}."

    def _take_held(self) -> Message:
        if not self.held.value:
            raise InvalidInput("No received message is selected: press 'Receive one' first.")
        message = self._held.pop(str(self.held.value))
        self._refresh_held()
        return message

    def _refresh_held(self, select: str | None = None) -> None:
        self.held.options = [
            (f"{key[:8]} \u00b7 {m.manifest or 'no manifest'}", key)
            for key, m in self._held.items()
        ]
        self.held.value = select if select in self._held else (next(iter(self._held), None))
        for button in (self.ack_button, self.release_button, self.forget_button):
            button.disabled = not self._held

    def _chosen_queue(self) -> str:
        if not self.queue.value:
            raise InvalidInput("No queue is chosen: declare a queue, then pick it here.")
        return str(self.queue.value)

    # -- background consumer and clock ----------------------------------------------------------

    def _toggle_background(self, change: dict[str, Any]) -> None:
        if not change["new"]:
            self._do(self._stop_background)
            return
        self._do(self._start_background)
        if self._dispatcher is None:  # it could not start: un-press without a second message
            self.background_button.unobserve(self._toggle_background, names="value")
            self.background_button.value = False
            self.background_button.observe(self._toggle_background, names="value")

    def _start_background(self) -> str:
        queue = self._chosen_queue()
        dispatcher = MessageDispatcher(self._registry, backend=self._backend)
        dispatcher.attach_consumer(Consumer(on_message=_ignore))
        dispatcher.start(queue)
        self._dispatcher = dispatcher
        self.background_button.icon = "stop"
        return f"A background consumer is acknowledging every message of '{queue}'."

    def _stop_background(self) -> str:
        dispatcher, self._dispatcher = self._dispatcher, None
        self.background_button.icon = "play"
        if dispatcher is None:
            return "No background consumer was running."
        summary = dispatcher.stop()
        return (
            f"Background consumer stopped: {summary.received} received, {summary.processed} "
            f"processed, {summary.failed} failed."
        )

    def stop_background(self) -> None:
        """Stops the background consumer, if one runs (the view calls this when closed)."""
        if self._dispatcher is not None:
            self.background_button.value = False

    def advance_clock(self) -> None:
        """Moves broker time forward: visibility timeouts and delays expire."""

        def run() -> str:
            if self._clock is None:
                raise InvalidInput("This broker has no clock to advance.")
            self._clock.advance(float(self.seconds.value))
            return f"Broker clock advanced {self.seconds.value:g} s."

        self._do(run)

    def _do(self, action: Any) -> None:
        try:
            said = action()
        except MelangeLabError as error:
            self.status.value = f'<div class="ml-error">{esc(error)}</div>'
            return
        self.status.value = f'<div class="ml-ok">{esc(said)}</div>'
