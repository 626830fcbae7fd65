"""What the view's Publish and Consume panels do, as plain Python (no widget, no front end).

The front end sends an intent ("publish these fields", "receive one from billing"); these
functions carry it out through the same classes a learner uses in code (``TopicPublisher``,
``QueuePublisher``, the backend's receive / acknowledge / release), so every action shows up
as events. Bad input ends as a ``MelangeLabError`` whose text the panel shows.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from dataclasses import dataclass, field
from typing import Any

from melange_lab.backends.base import MessagingBackend
from melange_lab.clock import BrokerClock
from melange_lab.consumers import Consumer
from melange_lab.errors import (
    InvalidInput,
    InvalidParameter,
    MelangeLabError,
    MissingMessageGroupId,
    QueueNotFound,
    TopicNotFound,
    quoted,
    shortened,
)
from melange_lab.message_dispatcher import MessageDispatcher
from melange_lab.models import Message
from melange_lab.publishers import QueuePublisher, TopicPublisher
from melange_lab.serializers import JsonSerializer, SerializerRegistry

PLAIN_JSON = "plain JSON (dict, list, value)"
DEFAULT_GROUP = "group-1"  # what the Group id field holds for a FIFO target until changed
# the Publish form's fields, by the keyword the publishers take: errors name the field
FORM_FIELDS = {"message_group_id": "Group id", "message_attributes": "Attributes",
               "message_deduplication_id": "Deduplication id"}  # fmt: skip
PLAIN_TEMPLATE: dict[str, Any] = {"order_id": "A1", "amount": 3}
_BUILTINS = (dict, list, str, int, float, bool)
_EXAMPLES: dict[Any, Any] = {str: "text", int: 0, float: 0.0, bool: False, "str": "text",
                             "int": 0, "float": 0.0, "bool": False}  # fmt: skip


def default_registry() -> SerializerRegistry:
    """JSON for any payload: what the view uses when neither it nor the backend has one."""
    return SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})


_EXAMPLE = 'Example: {"order_id": "A1", "amount": 3}.'


def _refuse_constant(name: str) -> Any:
    raise InvalidInput(f"JSON has no {name}: a number must be finite. {_EXAMPLE}")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: too large for any number a message can carry
        raise InvalidInput(f"The JSON number {shortened(text, 40)} is too large. {_EXAMPLE}")
    return value


def parse_json(text: str, what: str) -> Any:
    """What the learner typed, read as strict JSON: no NaN or Infinity, finite numbers."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"The {what} is not valid JSON: {error.msg} at line {error.lineno}, column "
            f"{error.colno}. {_EXAMPLE}"
        ) from None
    except RecursionError:
        raise InvalidInput(
            f"The {what} is JSON nested too deeply to read: keep it to a few levels. {_EXAMPLE}"
        ) from None
    except ValueError as error:  # an integer of more digits than Python converts (4,300)
        raise InvalidInput(
            f"The {what} holds a number too long to read ({shortened(str(error), 80)}). {_EXAMPLE}"
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


def field_template(message_class: type) -> dict[str, Any]:
    """A JSON object of the class's fields with example values: the Publish form's default."""
    if dataclasses.is_dataclass(message_class):
        return {
            f.name: _example(f.default, f.type) for f in dataclasses.fields(message_class) if f.init
        }
    try:
        parameters = inspect.signature(message_class).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {
        p.name: _example(p.default, p.annotation)
        for p in parameters
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _example(default: Any, annotation: Any) -> Any:
    if default not in (dataclasses.MISSING, inspect.Parameter.empty):
        try:
            json.dumps(default)
        except (TypeError, ValueError):
            return None
        return default
    return _EXAMPLES.get(annotation, "text" if annotation is inspect.Parameter.empty else None)


def accepts_plain_json(registry: SerializerRegistry) -> bool:
    """Whether the registry can serialize a dict (it has a default, or dict is bound)."""
    try:
        registry.find_serializer_for({})
    except MelangeLabError:
        return False
    return True


def message_classes(bound: list[type]) -> list[type]:
    """The classes a learner can publish: each bound class, or for a base class bound to
    cover a family (tutorial 9 binds ``Event``) its subclasses; a base without fields of its
    own is left out, since it stands for its subclasses."""
    found: list[type] = []
    for cls in bound:
        if cls in _BUILTINS:
            continue
        family = _subclasses(cls)
        if not family or field_template(cls):
            found.append(cls)
        found += family
    return list(dict.fromkeys(found))


def _subclasses(cls: type) -> list[type]:
    try:
        direct: list[type] = cls.__subclasses__()
    except TypeError:  # type.__subclasses__ needs an instance argument
        return []
    return [c for sub in direct for c in (sub, *_subclasses(sub))]


def in_form_words(error: MelangeLabError, target: str) -> MelangeLabError:
    """``error`` naming the form's field instead of the publisher's keyword."""
    if isinstance(error, MissingMessageGroupId):
        return InvalidInput(
            f"Group id: {target} is FIFO, so every message needs a group id. Type one, e.g. "
            f"{DEFAULT_GROUP} (messages of one group are delivered in order)."
        )
    if isinstance(error, InvalidParameter):
        name = next((f for p, f in FORM_FIELDS.items() if error.parameter.startswith(p)), None)
        if name is not None:
            return InvalidInput(f"{name}: {quoted(error.value)} is not allowed: {error.allowed}.")
    return error


@dataclass
class PublishForm:
    """What the Publish panel offers: message classes (and their templates) of a registry."""

    registry: SerializerRegistry
    classes: list[type] = field(init=False)

    def __post_init__(self) -> None:
        self.classes = message_classes(list(self.registry.bindings))

    def choices(self) -> list[dict[str, Any]]:
        """Each choice: its label and the JSON template the payload box starts with."""
        offered = [
            {"label": c.__qualname__, "template": json.dumps(field_template(c), indent=1)}
            for c in self.classes
        ]
        if accepts_plain_json(self.registry) or not offered:
            offered.append({"label": PLAIN_JSON, "template": json.dumps(PLAIN_TEMPLATE)})
        return offered

    def build(self, choice: str, payload_text: str) -> Any:
        payload = parse_json(payload_text, "payload")
        message_class = next((c for c in self.classes if c.__qualname__ == choice), None)
        if message_class is None:
            offered = [c["label"] for c in self.choices()]
            if choice not in offered:
                raise InvalidInput(
                    f"The message {quoted(choice)} is not offered here: choose one of "
                    f"{', '.join(quoted(label) for label in offered)}."
                )
            return payload
        if not isinstance(payload, dict):
            raise InvalidInput(
                f"Payload: to make a {message_class.__qualname__}, give its fields as a JSON "
                f"object, e.g. {json.dumps(field_template(message_class))}."
            )
        try:
            return message_class(**payload)
        except TypeError as error:
            fields = sorted(field_template(message_class))
            raise InvalidInput(
                f"Payload: a {message_class.__qualname__} cannot be made from these fields "
                f"({shortened(str(error))}). Give exactly the fields its constructor takes: "
                f"{', '.join(fields) or 'none'}."
            ) from None
        except Exception as error:  # the learner's constructor refused these values
            raise InvalidInput(
                f"Payload: making a {message_class.__qualname__} raised {type(error).__name__}: "
                f"{shortened(str(error))}. Its constructor refused these values: change them."
            ) from None

    def publish(
        self,
        backend: MessagingBackend,
        topics: list[str],
        *,
        kind: str,
        target: str,
        choice: str,
        payload: str,
        attributes: str = "",
        group_id: str = "",
    ) -> str:
        """Publishes what the form says; returns the message id it was published under."""
        try:
            return self._publish(backend, topics, kind, target.strip(), choice, payload,
                                 attributes, group_id)  # fmt: skip
        except MelangeLabError as error:
            raise in_form_words(error, target.strip()) from None

    def _publish(
        self,
        backend: MessagingBackend,
        topics: list[str],
        kind: str,
        name: str,
        choice: str,
        payload: str,
        attributes: str,
        group_id: str,
    ) -> str:
        if not name:
            raise InvalidInput(f"Name: choose the {kind} to publish to.")
        data = self.build(choice, payload)
        parsed_attributes = parse_attributes(attributes)
        fifo = {"message_group_id": group_id.strip()} if group_id.strip() else {}
        if kind == "queue":
            if parsed_attributes:
                raise InvalidInput(
                    "Attributes can only be added when publishing to a topic: melange's "
                    "QueuePublisher sends only the manifest and serializer id. Clear the field."
                )
            return QueuePublisher(self.registry, backend).publish(name, data, **fifo)
        if name not in topics:
            raise TopicNotFound(name, topics)
        extra: dict[str, Any] = dict(fifo)
        if parsed_attributes:
            extra["message_attributes"] = parsed_attributes
        return TopicPublisher(self.registry, backend).publish(name, data, **extra)


def _ignore(message: Any) -> None:
    """The background consumer's handler: accepts every message, so each is acknowledged."""


@dataclass
class ConsumerDesk:
    """Receive one message, then acknowledge it, release it or let it time out; run a
    background consumer; move the broker clock. Holds what was received until it is done."""

    backend: MessagingBackend
    registry: SerializerRegistry
    clock: BrokerClock | None = None
    held: dict[str, tuple[str, Message]] = field(default_factory=dict)
    dispatcher: MessageDispatcher | None = None
    background_queue: str | None = None

    def receive(self, queue_name: str, hide_for: int) -> str:
        """Receives one message of ``queue_name``, hiding it ``hide_for`` seconds (checked by
        the intent: a whole number SQS accepts)."""
        if not queue_name:
            raise InvalidInput("No queue is chosen: declare a queue, then pick it here.")
        queue = self.backend.get_queue(queue_name)
        received = self.backend.retrieve_messages(
            queue, max_messages=1, wait_time_seconds=0, visibility_timeout=hide_for
        )
        if not received:
            return f"Nothing visible in {queue.name} to receive."
        message = received[0]
        self.held[str(message.message_id)] = (queue.name, message)
        return (
            f"Received {str(message.message_id)[:8]} from {queue.name}: it is in flight (hidden "
            f"from other consumers) for {hide_for} s unless acknowledged or released."
        )

    def finish(self, message_id: str, how: str) -> str:
        """``how``: "acknowledge", "release" or "let_time_out"."""
        if message_id not in self.held:
            raise InvalidInput("No received message is selected: press 'Receive one' first.")
        queue, message = self.held[message_id]
        short = message_id[:8]
        try:
            if how == "acknowledge":
                self.backend.acknowledge(message)  # refused: still held, to try again or let go
                del self.held[message_id]
                return f"Acknowledged {short}: deleted from {queue}."
            if how == "release":
                self.backend.release(message, "released by hand")
                del self.held[message_id]
                return f"Released {short}: visible again in {queue} at once."
        except QueueNotFound:  # deleted, with its messages, while this one was held
            del self.held[message_id]
            raise InvalidInput(
                f"{queue} was deleted with its messages while {short} was held, so there is "
                "nothing left to acknowledge or release. Declare the queue again to go on."
            ) from None
        del self.held[message_id]
        return (
            f"Let {short} go without acknowledging: it becomes visible again in {queue} when its "
            "visibility timeout ends."
        )

    def held_list(self) -> list[dict[str, str]]:
        return [
            {"id": key, "queue": queue, "label": f"{key[:8]} from {queue}"}
            for key, (queue, _) in self.held.items()
        ]

    def running_on(self) -> str | None:
        """The queue the background consumer consumes, while it runs (it stops by itself if
        its queue is deleted)."""
        running = self.dispatcher is not None and self.dispatcher.running
        return self.background_queue if running else None

    def background(self, queue_name: str, on: bool) -> str:
        if not on:
            return self.stop_background()
        if self.dispatcher is not None and self.dispatcher.running:
            return f"A background consumer already runs on {self.background_queue}."
        ended = self.stop_background() if self.dispatcher is not None else ""
        if not queue_name:
            raise InvalidInput("No queue is chosen: declare a queue, then pick it here.")
        dispatcher = MessageDispatcher(self.registry, backend=self.backend)
        dispatcher.attach_consumer(Consumer(on_message=_ignore))
        dispatcher.start(queue_name)
        self.dispatcher, self.background_queue = dispatcher, queue_name
        started = f"A background consumer is acknowledging every message of {queue_name}."
        return f"{ended} {started}" if ended else started

    def stop_background(self) -> str:
        dispatcher, self.dispatcher, self.background_queue = self.dispatcher, None, None
        if dispatcher is None:
            return "No background consumer was running."
        summary = dispatcher.stop()
        said = (
            f"Background consumer stopped: {summary.received} received, {summary.processed} "
            f"processed, {summary.failed} failed."
        )
        failure = summary.stopped_because.removeprefix("error: ")
        if failure != summary.stopped_because:  # its queue was deleted, or the broker stopped
            said += f" It had stopped by itself: {shortened(failure)}"
        return said

    def advance(self, seconds: float) -> str:
        if self.clock is None:
            raise InvalidInput("This broker has no clock to advance.")
        self.clock.advance(seconds)
        return f"Broker clock advanced {seconds:g} s."
