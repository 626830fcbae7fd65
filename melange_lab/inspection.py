"""Looking inside a broker without touching it: topics, queues with counts, subscriptions,
and (on the simulated broker) every stored message with its state.

On a real endpoint only the normal read APIs are used; peeking is impossible there, because
receiving a message changes its receive count and visibility.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from melange_lab import moto_internals, wire
from melange_lab.backends.sqs import SQSBackend, Subscription
from melange_lab.errors import MelangeLabError
from melange_lab.serializers import JsonSerializer, SerializerRegistry


class PeekNotSupported(MelangeLabError):
    def __init__(self, queue: str) -> None:
        super().__init__(
            f"Cannot peek into '{queue}' on a real endpoint: SQS has no read-only look at "
            "messages, and receiving one to show it would raise its receive count and hide it "
            "from consumers. Use queues() for the counts, or a SimulatedBroker to see messages."
        )


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
        """The queue's counts and dead-letter links, drawn as in the broker view."""
        from melange_lab.widgets.html import queue_info_html

        return queue_info_html(self)


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


def json_only_registry() -> SerializerRegistry:
    return SerializerRegistry({"serializers": {"json": JsonSerializer}})


def decode_payload(
    body: str, attributes: dict[str, dict[str, str]], registry: SerializerRegistry
) -> tuple[Any, str | None, int | None, dict[str, Any] | None, str | None]:
    """(payload, manifest, serializer id, SNS envelope, error) for a stored body."""
    message = wire.decode({"Body": body, "MessageAttributes": attributes}, "")
    envelope = None
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("Type") == "Notification":
        envelope = parsed
    payload: Any = message.content
    error = None
    if message.serializer_id is not None:
        # a raw-delivered JSON body arrives already parsed: give the serializer its text again
        text = message.content if isinstance(message.content, str) else json.dumps(message.content)
        try:
            payload = registry.deserialize_with_serializerid(
                text, message.serializer_id, message.manifest
            )
        except MelangeLabError as failure:
            error = str(failure)
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
