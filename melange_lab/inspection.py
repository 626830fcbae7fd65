"""Looking inside a broker without touching it: topics, queues with counts, subscriptions,
and (on the simulated broker) every stored message with its state.

On a real endpoint only the normal read APIs are used; peeking is impossible there, because
receiving a message changes its receive count and visibility.
"""

from __future__ import annotations

import dataclasses
import enum
import html
import json
from dataclasses import dataclass, field, replace
from typing import Any

from melange_lab import moto_internals, wire
from melange_lab.arguments import whole_number
from melange_lab.backends.sqs import SQSBackend, Subscription
from melange_lab.errors import DeserializationFailed, MelangeLabError
from melange_lab.errors import PeekNotSupported as PeekNotSupported  # its path here stays
from melange_lab.serializers import JsonSerializer, SerializerRegistry


@dataclass(frozen=True)
class TopicInfo:
    name: str
    arn: str
    fifo: bool
    subscriptions: int


@dataclass(frozen=True)
class QueueInfo:
    """A queue and its message counts, as ``ApproximateNumberOfMessages*`` report them."""

    name: str
    url: str
    fifo: bool
    visible: int
    in_flight: int
    delayed: int
    dead_letter_queue: str | None = None
    max_receive_count: int | None = None
    dead_letter_sources: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed

    @property
    def is_dead_letter_queue(self) -> bool:
        return bool(self.dead_letter_sources)

    def _repr_html_(self) -> str:
        """The queue's counts and dead-letter links as a small table (no widget import)."""
        rows = [
            ("visible", f"{self.visible:,}"),
            ("in flight", f"{self.in_flight:,}"),
            ("delayed", f"{self.delayed:,}"),
        ]
        if self.dead_letter_queue:
            after = f" after {self.max_receive_count} receives" if self.max_receive_count else ""
            rows.append(("dead letters go to", f"{self.dead_letter_queue}{after}"))
        if self.dead_letter_sources:
            rows.append(("takes dead letters of", ", ".join(self.dead_letter_sources)))
        kind = "FIFO queue" if self.fifo else "queue"
        body = "".join(
            f'<tr><th scope="row" style="text-align:left;font-weight:normal;padding-right:1em">'
            f"{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
            for name, value in rows
        )
        return (
            '<table style="border-collapse:collapse"><caption style="text-align:left;'
            f'font-weight:600">{kind} {html.escape(self.name)}</caption>{body}</table>'
        )


@dataclass(frozen=True)
class PeekedMessage:
    """A stored message as the broker holds it, decoded where the registry can decode it."""

    message_id: str
    body: str
    payload: Any
    manifest: str | None
    serializer_id: int | None
    attributes: dict[str, dict[str, str]]
    receive_count: int
    state: str
    sent_at: float
    visible_at: float | None = None
    delayed_until: float | None = None
    message_group_id: str | None = None
    deduplication_id: str | None = None
    envelope: dict[str, Any] | None = None
    decode_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.message_id[:8]

    @property
    def published_id(self) -> str:
        """The id the message was published under: the topic's (from the SNS envelope) for a
        copy a subscription delivered in an envelope, else the queue's own id."""
        if self.envelope is not None and isinstance(self.envelope.get("MessageId"), str):
            return str(self.envelope["MessageId"])
        return self.message_id

    @property
    def type_name(self) -> str:
        """The payload's class name (or the manifest, when the body could not be decoded)."""
        if self.decode_error:
            return self.manifest or "undecodable"
        return type(self.payload).__qualname__

    @property
    def envelope_attributes(self) -> dict[str, str]:
        """The message attributes, wherever they sit: on the SQS message or in the envelope."""
        found = {
            name: value.get("StringValue", value.get("BinaryValue", ""))
            for name, value in self.attributes.items()
        }
        inner = (self.envelope or {}).get("MessageAttributes")
        if isinstance(inner, dict):
            for name, value in inner.items():
                if isinstance(value, dict):
                    found.setdefault(name, str(value.get("Value", "")))
        return found


@dataclass(frozen=True)
class PeekPage:
    """One page of a queue's stored messages, and how many there are in all."""

    queue: str
    messages: list[PeekedMessage]
    total: int
    offset: int
    limit: int


_READABLE_DEPTH = 6
_READABLE_ITEMS = 50


def readable(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON a person can read: dataclasses, plain objects (their ``vars``), dicts
    and lists as their fields; anything else as its type and a short form that stays the
    same from one look to the next (never ``<... object at 0x...>``)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth >= _READABLE_DEPTH:
        return f"<{type(value).__qualname__}>"
    if isinstance(value, dict):
        items = list(value.items())[:_READABLE_ITEMS]
        return {str(key): readable(item, depth + 1) for key, item in items}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
        return [readable(item, depth + 1) for item in items[:_READABLE_ITEMS]]
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {name: readable(item, depth + 1) for name, item in fields.items()}
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict) and attributes:
        return {
            str(k): readable(v, depth + 1) for k, v in list(attributes.items())[:_READABLE_ITEMS]
        }
    return stable_short_form(value)


def stable_short_form(value: Any) -> str:
    """The type and a repr without a memory address: ``<Token>`` or ``Colour.RED``."""
    name = type(value).__qualname__
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break looking at the message
        return f"<{name}>"
    if " at 0x" in text or not text:
        return f"<{name}>"
    return text if len(text) <= 200 else text[:199] + "\u2026"


def payload_text(value: Any, indent: int | None = None) -> str:
    """The readable form of a payload as text, prefixed by its class for objects."""
    shown = json.dumps(readable(value), indent=indent, ensure_ascii=False, default=str)
    is_plain = value is None or isinstance(value, (bool, int, float, str, dict, list))
    return shown if is_plain else f"{type(value).__qualname__} {shown}"


def json_only_registry() -> SerializerRegistry:
    return SerializerRegistry({"serializers": {"json": JsonSerializer}})


def decode_payload(
    body: str, attributes: dict[str, dict[str, str]], registry: SerializerRegistry
) -> tuple[Any, str | None, int | None, dict[str, Any] | None, str | None]:
    """(payload, manifest, serializer id, SNS envelope, error) for a stored body."""
    message, envelope = wire.decode_with_envelope(
        {"Body": body, "MessageAttributes": attributes}, ""
    )
    payload: Any = message.content
    error = None
    if message.serializer_id is not None:
        # a raw-delivered JSON body arrives already parsed: give the serializer its text again
        text = message.content if isinstance(message.content, str) else json.dumps(message.content)
        try:
            payload = registry.deserialize_with_serializerid(
                text, message.serializer_id, message.manifest
            )
        except DeserializationFailed as failure:  # its reason, not advice about consuming it
            error = failure.reason
        except MelangeLabError as failure:
            error = str(failure)
        except Exception as failure:  # a body its serializer cannot read: shown, never raised
            error = f"{type(failure).__name__}: {failure}"
    return payload, message.manifest, message.serializer_id, envelope, error


class BrokerInspector:
    """The read-only view any SNS/SQS backend allows, through the normal APIs."""

    def __init__(self, backend: SQSBackend) -> None:
        self.backend = backend

    def topics(self) -> list[TopicInfo]:
        return [
            TopicInfo(t.name, t.arn, t.is_fifo, len(self.backend.subscriptions_of(t)))
            for t in sorted(self.backend.list_topics(), key=lambda t: t.name)
        ]

    def subscriptions(self) -> list[Subscription]:
        return [
            subscription
            for topic in sorted(self.backend.list_topics(), key=lambda t: t.name)
            for subscription in self.backend.subscriptions_of(topic)
        ]

    def queues(self) -> list[QueueInfo]:
        infos = [self._queue_info(name) for name in sorted(self.backend.queue_names())]
        sources: dict[str, list[str]] = {}
        for info in infos:
            if info.dead_letter_queue:
                sources.setdefault(info.dead_letter_queue, []).append(info.name)
        return [
            replace(info, dead_letter_sources=tuple(sources.get(info.name, ()))) for info in infos
        ]

    def _queue_info(self, name: str) -> QueueInfo:
        queue = self.backend.get_queue(name)
        attributes = self.backend.queue_attributes(queue)
        dead_letter_queue, max_receive_count = self._redrive(attributes.get("RedrivePolicy"))
        return QueueInfo(
            name,
            queue.url,
            queue.is_fifo,
            int(attributes.get("ApproximateNumberOfMessages", 0)),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            dead_letter_queue,
            max_receive_count,
        )

    @staticmethod
    def _redrive(policy: str | None) -> tuple[str | None, int | None]:
        if not policy:
            return None, None
        parsed = json.loads(policy)
        return str(parsed["deadLetterTargetArn"]).rsplit(":", 1)[-1], int(parsed["maxReceiveCount"])

    def peek(self, queue: str, registry: SerializerRegistry | None = None) -> list[PeekedMessage]:
        raise PeekNotSupported(queue)

    def peek_page(
        self,
        queue: str,
        offset: int = 0,
        limit: int = 20,
        registry: SerializerRegistry | None = None,
    ) -> PeekPage:
        raise PeekNotSupported(queue)

    @property
    def can_peek(self) -> bool:
        return False


class SimulatedInspector(BrokerInspector):
    """The simulated broker's fuller view: cheap counts and every stored message."""

    def __init__(self, backend: SQSBackend, account_id: str, region: str) -> None:
        super().__init__(backend)
        self._account_id = account_id
        self._region = region

    def _queue_info(self, name: str) -> QueueInfo:
        queue = self.backend.get_queue(name)
        visible, in_flight, delayed = moto_internals.queue_counts(
            self._account_id, self._region, name
        )
        target = moto_internals.dead_letter_target(self._account_id, self._region, name)
        return QueueInfo(
            name,
            queue.url,
            queue.is_fifo,
            visible,
            in_flight,
            delayed,
            None if target is None else target[0],
            None if target is None else target[1],
        )

    def peek(self, queue: str, registry: SerializerRegistry | None = None) -> list[PeekedMessage]:
        self.backend.get_queue(queue)
        decoder = registry or self.backend.serializer_registry or json_only_registry()
        return [
            self._peeked(stored, decoder)
            for stored in moto_internals.peek_messages(self._account_id, self._region, queue)
        ]

    def peek_page(
        self,
        queue: str,
        offset: int = 0,
        limit: int = 20,
        registry: SerializerRegistry | None = None,
    ) -> PeekPage:
        """Messages ``offset`` to ``offset + limit`` of ``queue``, decoded; only those are
        copied out of moto and decoded, so a page of a deep queue stays cheap."""
        offset = whole_number("offset", offset, 0, 10**9, fix="e.g. offset=0.")
        limit = whole_number("limit", limit, 1, 10_000, fix="e.g. limit=20.")
        self.backend.get_queue(queue)
        decoder = registry or self.backend.serializer_registry or json_only_registry()
        stored, total = moto_internals.peek_page(
            self._account_id, self._region, queue, offset, limit
        )
        page = [self._peeked(m, decoder) for m in stored]
        return PeekPage(queue, page, total, offset, limit)

    @staticmethod
    def _peeked(
        stored: moto_internals.StoredMessage, registry: SerializerRegistry
    ) -> PeekedMessage:
        payload, manifest, serializer_id, envelope, error = decode_payload(
            stored.body, stored.message_attributes, registry
        )
        return PeekedMessage(
            message_id=stored.message_id,
            body=stored.body,
            payload=payload,
            manifest=manifest,
            serializer_id=serializer_id,
            attributes=stored.message_attributes,
            receive_count=stored.receive_count,
            state=stored.state,
            sent_at=stored.sent_at,
            visible_at=stored.visible_at,
            delayed_until=stored.delayed_until,
            message_group_id=stored.message_group_id,
            deduplication_id=stored.deduplication_id,
            envelope=envelope,
            decode_error=error,
        )

    @property
    def can_peek(self) -> bool:
        return True
