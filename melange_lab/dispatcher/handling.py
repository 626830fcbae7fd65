"""Handing one message to the attached consumers, and the ack modes.

melange's rules: each message goes to every attached consumer that accepts it; it is
acknowledged when all of them succeeded (``always_ack``: even when one failed;
``early_ack``: before processing); a dedup cache skips a consumer that already processed the
message id. A message that cannot be decoded is never acknowledged, whatever the ack mode.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from melange_lab import wire
from melange_lab.backends.base import MessagingBackend
from melange_lab.backends.sqs.consuming import DECODE_ERROR
from melange_lab.consumers import Consumer
from melange_lab.dispatcher.checks import check_consumer
from melange_lab.dispatcher.summary import ConsumeSummary, Outcome
from melange_lab.errors import DeserializationFailed
from melange_lab.events import EventKind, EventLog
from melange_lab.infrastructure.cache import ProcessedCache, cache_key
from melange_lab.models import Message, QueueWrapper
from melange_lab.serializers import SerializerRegistry

OnException = Callable[[BaseException], Any]
AfterConsume = Callable[[], Any]


class Hooks:
    """The caller's callbacks: ``on_exception(error)`` per failure, ``after_consume()`` per
    message handled."""

    def __init__(self, on_exception: OnException | None, after_consume: AfterConsume | None):
        self.on_exception = on_exception
        self.after_consume = after_consume


def name_of(queue: Any) -> str:
    """A queue's name for events and logs, whatever object the backend gave for it."""
    name = getattr(queue, "name", None)
    return name if isinstance(name, str) else str(queue)


class MessageHandling:
    """The attached consumers, and what happens to one message: decoded, handed to each
    consumer that accepts it, acknowledged by the ack mode, every step an event."""

    serializer_registry: SerializerRegistry
    cache: ProcessedCache
    always_ack: bool
    early_ack: bool
    events: EventLog
    _backend: MessagingBackend
    _consumers: list[Consumer]
    _lock: threading.Lock

    def attach_consumer(self, consumer: Consumer) -> None:
        check_consumer(consumer)
        with self._lock:
            if consumer not in self._consumers:
                self._consumers.append(consumer)

    def unattach_consumer(self, consumer: Consumer) -> None:
        with self._lock:
            if consumer in self._consumers:
                self._consumers.remove(consumer)

    @property
    def consumers(self) -> list[Consumer]:
        with self._lock:
            return list(self._consumers)

    def _handle(
        self, queue: QueueWrapper, message: Message, hooks: Hooks, summary: ConsumeSummary
    ) -> Outcome:
        try:
            data = self._decode(message)
            accepting = [consumer for consumer in self.consumers if consumer.accepts(data)]
        except DeserializationFailed as error:
            self._emit(
                EventKind.FAILED,
                queue,
                message,
                f"could not be decoded: {error.reason}; not acknowledged, so it is retried after "
                "its visibility timeout and dead-lettered after maxReceiveCount receives",
                {"stage": "decode", "error": type(error).__name__},
            )
            self._report(hooks, error)
            return Outcome.FAILED
        except Exception as error:  # a consumer's accepts() failed: this message's failure only
            self._emit(
                EventKind.FAILED,
                queue,
                message,
                f"accepts() raised {type(error).__name__}: {error}; not acknowledged",
                {"stage": "accepts", "error": type(error).__name__},
            )
            self._report(hooks, error)
            return Outcome.FAILED
        if not accepting:
            self._emit(
                EventKind.UNHANDLED,
                queue,
                message,
                f"no attached consumer accepts a {type(data).__qualname__} "
                f"(manifest {message.manifest!r}); acknowledged, as melange does",
            )
            self._acknowledge(message, summary)
            return Outcome.UNHANDLED
        if self.early_ack:
            self._acknowledge(message, summary)
        succeeded = all(
            [
                self._process(queue, consumer, data, message, hooks, summary)
                for consumer in accepting
            ]
        )
        if self.early_ack:
            return Outcome.PROCESSED if succeeded else Outcome.FAILED
        if succeeded or self.always_ack:
            faults = getattr(self._backend, "faults", None)
            if faults is not None and faults.crash_before_ack(name_of(queue), message):
                return Outcome.CRASHED
            self._acknowledge(message, summary)
        return Outcome.PROCESSED if succeeded else Outcome.FAILED

    def _process(
        self,
        queue: QueueWrapper,
        consumer: Consumer,
        data: Any,
        message: Message,
        hooks: Hooks,
        summary: ConsumeSummary,
    ) -> bool:
        name = consumer.qualified_name
        key = cache_key(name, message.message_id)
        if key in self.cache:
            summary.duplicates_skipped += 1
            self._emit(
                EventKind.SKIPPED_DUPLICATE,
                queue,
                message,
                f"{name} already processed this message id (deduplication cache)",
                {"consumer": name},
            )
            return True
        try:
            consumer.process(data, message_id=message.message_id)
        except Exception as error:  # any consumer failure is this message's failure, reported
            self._emit(
                EventKind.FAILED,
                queue,
                message,
                f"{name} raised {type(error).__name__}: {error}",
                {"stage": "process", "consumer": name, "error": type(error).__name__},
            )
            self._report(hooks, error)
            return False
        self.cache.store(key)
        self._emit(EventKind.PROCESSED, queue, message, None, {"consumer": name})
        return True

    def _decode(self, message: Message) -> Any:
        """The message's object, by its serializer id, else by the registry's default."""
        registry = self.serializer_registry
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        if metadata.get(DECODE_ERROR):
            raise DeserializationFailed(
                message.message_id,
                f"its body or attributes cannot be read ({metadata[DECODE_ERROR]})",
            )
        if message.serializer_id is not None:
            try:
                serializer = registry.serializer_instance_by_id(message.serializer_id)
            except Exception as error:  # an id no serializer in the registry has
                raise DeserializationFailed(
                    message.message_id,
                    f"no serializer with id {message.serializer_id!r} in the registry ({error})",
                ) from None
        else:
            default = registry.default_serializer()
            if default is None:
                raise DeserializationFailed(
                    message.message_id,
                    "it has no serializer_id attribute and the registry names no default "
                    "serializer",
                )
            serializer = default
        content = message.content
        # a body that is itself JSON (raw delivery of JSON content) arrives already parsed
        text = content if isinstance(content, str) else json.dumps(content)
        try:
            return serializer.deserialize(text, message.manifest)
        except DeserializationFailed:
            raise
        except Exception as error:  # a user's serializer may raise anything on bad input
            raise DeserializationFailed(
                message.message_id, f"{type(serializer).__name__} raised {error!r}"
            ) from error

    def _acknowledge(self, message: Message, summary: ConsumeSummary) -> None:
        self._backend.acknowledge(message)
        summary.acknowledged += 1

    @staticmethod
    def _report(hooks: Hooks, error: BaseException) -> None:
        if hooks.on_exception is not None:
            hooks.on_exception(error)

    def _emit(
        self,
        kind: EventKind,
        queue: QueueWrapper,
        message: Message,
        reason: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        attributes = metadata.get("Attributes", {})
        self.events.emit(
            kind,
            queue=name_of(queue),
            message_id=message.message_id,
            published_id=wire.published_id_of(message),
            reason=reason,
            detail={
                "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
                "manifest": message.manifest,
                **(detail or {}),
            },
        )
