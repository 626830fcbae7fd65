"""The publish panel: send a JSON payload (or a registered message class) to a queue or topic.

It publishes through ``QueuePublisher`` / ``TopicPublisher``, the same classes a learner uses in
code. Bad input ends as the lab's own error text in the panel, never as a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from melange_lab.backends.base import MessagingBackend
from melange_lab.errors import InvalidInput, MelangeLabError, TopicNotFound
from melange_lab.publishers import QueuePublisher, TopicPublisher
from melange_lab.serializers import JsonSerializer, SerializerRegistry
from melange_lab.widgets.html import esc

PLAIN_JSON = "plain JSON (dict, list, value)"


def default_registry() -> SerializerRegistry:
    """JSON for any payload: what the panel uses when neither the view nor the backend has one."""
    return SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"The {what} is not valid JSON: {error.msg} at line {error.lineno}, column "
            f'{error.colno}. Example: {{"order_id": "A1", "amount": 3}}.'
        ) from None


def parse_attributes(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    attributes = parse_json(text, "attributes field")
    if not isinstance(attributes, dict) or not all(
        isinstance(v, (str, int, float, list)) and not isinstance(v, bool)
        for v in attributes.values()
    ):
        raise InvalidInput(
            "Attributes must be a JSON object of names to strings, numbers or lists of strings, "
            'e.g. {"priority": "high", "retries": 2}.'
        )
    return attributes


class PublishPanel(widgets.VBox):  # type: ignore[misc]
    """Pick a queue or topic, type a payload and attributes, press Publish."""

    def __init__(
        self,
        backend: MessagingBackend,
        registry: SerializerRegistry | None = None,
        *,
        topic_names: Callable[[], list[str]] = list,
    ) -> None:
        self._backend = backend
        self._registry = (
            registry or getattr(backend, "serializer_registry", None) or default_registry()
        )
        self._topic_names = topic_names
        self.kind = widgets.ToggleButtons(options=["topic", "queue"], value="topic")
        self.target = widgets.Combobox(
            description="Name", placeholder="topic or queue name", ensure_option=False
        )
        classes = [c for c in self._registry.bindings if c not in (dict, list, str, int, float)]
        self.message_class = widgets.Dropdown(
            description="Message",
            options=[(PLAIN_JSON, None)] + [(c.__qualname__, c) for c in classes],
            value=None,
        )
        self.message_class.layout.display = None if classes else "none"
        self.payload = widgets.Textarea(
            value='{"order_id": "A1", "amount": 3}', description="Payload",
            layout=widgets.Layout(width="95%", height="70px"),
        )  # fmt: skip
        self.attributes = widgets.Textarea(
            placeholder='topic only: {"priority": "high"}', description="Attributes",
            layout=widgets.Layout(width="95%", height="48px"),
        )  # fmt: skip
        self.group_id = widgets.Text(description="Group id", placeholder="FIFO only")
        self.publish_button = widgets.Button(
            description="Publish", button_style="primary", icon="paper-plane"
        )
        self.status = widgets.HTML()
        self.publish_button.on_click(lambda _: self.publish())
        self.kind.observe(lambda _: self._offer_names(), names="value")
        self._names: dict[str, list[str]] = {"topic": [], "queue": []}
        super().__init__(
            [
                widgets.HBox([self.kind, self.target]),
                self.message_class,
                self.payload,
                self.attributes,
                widgets.HBox([self.group_id, self.publish_button]),
                self.status,
            ]
        )
        self.add_class("ml-publish")

    def set_names(self, topics: list[str], queues: list[str]) -> None:
        """The names offered in the name box (any other name may still be typed)."""
        self._names = {"topic": topics, "queue": queues}
        self._offer_names()

    def _offer_names(self) -> None:
        self.target.options = self._names[self.kind.value]

    def publish(self) -> str | None:
        """Publishes what the form says; returns the message id, or None and shows why not."""
        try:
            message_id = self._publish()
        except MelangeLabError as error:
            self.status.value = f'<div class="ml-error">{esc(error)}</div>'
            return None
        where = f"{self.kind.value} '{self.target.value.strip()}'"
        said = f"Published <code>{esc(message_id[:8])}</code> to {esc(where)}."
        self.status.value = f'<div class="ml-ok">{said}</div>'
        return message_id

    def _publish(self) -> str:
        name = self.target.value.strip()
        if not name:
            raise InvalidInput(f"Type the name of the {self.kind.value} to publish to.")
        data = self._data()
        attributes = parse_attributes(self.attributes.value)
        fifo = (
            {"message_group_id": self.group_id.value.strip()} if self.group_id.value.strip() else {}
        )
        if self.kind.value == "queue":
            if attributes:
                raise InvalidInput(
                    "Attributes can only be added when publishing to a topic: melange's "
                    "QueuePublisher sends only the manifest and serializer id. Clear the field."
                )
            return QueuePublisher(self._registry, self._backend).publish(name, data, **fifo)
        existing = self._topic_names()
        if name not in existing:
            raise TopicNotFound(name, existing)
        extra: dict[str, Any] = dict(fifo)
        if attributes:
            extra["message_attributes"] = attributes
        return TopicPublisher(self._registry, self._backend).publish(name, data, **extra)

    def _data(self) -> Any:
        payload = parse_json(self.payload.value, "payload")
        message_class = self.message_class.value
        if message_class is None:
            return payload
        if not isinstance(payload, dict):
            raise InvalidInput(
                f"To build a {message_class.__qualname__}, give its fields as a JSON object, "
                'e.g. {"order_id": "A1"}.'
            )
        try:
            return message_class(**payload)
        except TypeError as error:
            raise InvalidInput(
                f"{message_class.__qualname__}(**payload) failed: {error}. Give exactly the "
                "fields its constructor takes."
            ) from None
