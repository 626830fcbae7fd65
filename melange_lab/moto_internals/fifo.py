"""FIFO queues as SQS runs them: group locks held only by messages in flight, deduplication
ids remembered for five minutes whether or not the first copy was deleted (per message group
with DeduplicationScope=messageGroup, as set when the queue was created; forgotten by
PurgeQueue), and a sequence number on every message. The window itself is shared with FIFO
topics (``fifo_topics``)."""

from __future__ import annotations

import hashlib
import itertools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import moto.sqs.models as sqs_models
from moto.sqs.models import Message, Queue, SQSBackend

from melange_lab.moto_internals import fast_counts
from melange_lab.moto_internals.patching import _Layer, _set_feature, _wrap_property

# --- FIFO group lock: only messages still in flight hold it ------------------------------
#
# moto 5.2 keeps a received FIFO message in ``Queue._pending_messages`` until it is received
# again, even after its visibility timeout ran out, and ``pending_message_groups`` counts it.
# So when a whole batch of one group times out, the next receive skips every message whose
# group-mate is still "pending" and returns only the last one: the group comes back out of
# order. On SQS a group is locked only while one of its messages is in flight (invisible).


def _groups_in_flight(stock: Callable[[Queue], set[str]]) -> Callable[[Queue], set[str]]:
    def pending_message_groups(self: Queue) -> set[str]:
        return {
            message.group_id
            for message in list(self._pending_messages)
            if message.group_id is not None and not message.visible
        }

    return pending_message_groups


_FIFO_GROUP_FIX: list[_Layer] = [
    (Queue, "pending_message_groups", _wrap_property(_groups_in_flight)),
]


def install_fifo_group_fix() -> None:
    """Lock a FIFO group only while one of its messages is in flight, as SQS does."""
    _set_feature("fifo_group_fix", _FIFO_GROUP_FIX)


def uninstall_fifo_group_fix() -> None:
    _set_feature("fifo_group_fix", None)


# --- FIFO deduplication: the id is remembered for five minutes, deleted or not ----------------
#
# moto 5.2 drops a FIFO message only when a message with the same deduplication id is still
# in the queue, so once the first copy is received and deleted a resend inside the 5-minute
# window is delivered again, and a duplicate's SendMessage answers with a new message id. SQS
# remembers each deduplication id for the whole interval, and answers a duplicate with the
# first message's id. The same holds for a FIFO topic: SNS drops a publish whose
# deduplication id (or, with ContentBasedDeduplication, the SHA-256 of its message) it has
# seen within five minutes, and hands the id on to its FIFO queues.


@dataclass
class _Seen:
    at_ms: float
    message_id: str
    sequence_number: str | None


_seen: weakref.WeakKeyDictionary[Any, dict[str, _Seen]] = weakref.WeakKeyDictionary()
_seen_lock = threading.RLock()


def _now_ms() -> float:
    clock: Callable[[], float] = vars(sqs_models)["unix_time_millis"]  # the broker's clock
    return clock()


def _recent(owner: Any, key: str) -> _Seen | None:
    """The first message with ``key`` inside the window, forgetting expired ids."""
    now = _now_ms()
    with _seen_lock:
        seen = _seen.setdefault(owner, {})
        for old in [k for k, s in seen.items() if now - s.at_ms >= 1000 * _window()]:
            del seen[old]
        return seen.get(key)


def _remember(owner: Any, key: str, message_id: str, sequence_number: str | None) -> None:
    with _seen_lock:
        _seen.setdefault(owner, {})[key] = _Seen(_now_ms(), message_id, sequence_number)


def _window() -> float:
    """SQS's 5 minutes, read from moto's own constant so that a test patching it (as moto's
    own suite does) moves the lab's window too."""
    return float(sqs_models.DEDUPLICATION_TIME_IN_SECONDS)


def _content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _queue_dedup_window(stock: Callable[..., Message]) -> Callable[..., Message]:
    def send_message(
        self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any
    ) -> Message:
        queue = self.get_queue(queue_name)
        if not queue.fifo_queue:
            return stock(self, queue_name, message_body, *args, **kwargs)
        explicit = _argument(args, kwargs, 2, "deduplication_id")
        content_based = queue.attributes.get("ContentBasedDeduplication") == "true"
        deduplication_id = explicit or (_content_hash(message_body) if content_based else None)
        key = deduplication_id
        if key and _scope_at_creation.get(queue) == "messageGroup":
            key = f"{_argument(args, kwargs, 3, 'group_id')}\x00{key}"  # unique per group
        first = _recent(queue, key) if key else None
        if first is not None and deduplication_id:
            attributes = _argument(args, kwargs, 0, "message_attributes")
            answer = _duplicate_answer(first, message_body, attributes)
            answer.deduplication_id, answer.content_based = deduplication_id, not explicit
            return answer
        message = stock(self, queue_name, message_body, *args, **kwargs)
        message.sequence_number = next_sequence_number()
        if key:
            _remember(queue, key, message.id, message.sequence_number)
        return message

    return send_message


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    """send_message's argument ``name``, the ``index``-th after the body when positional."""
    return kwargs.get(name, args[index] if len(args) > index else None)


class DuplicateAnswer(Message):
    """SendMessage's answer to a FIFO duplicate it dropped (never stored in a queue)."""

    deduplication_id: str  # the id it was deduplicated by (the body's SHA-256 when by content)
    content_based: bool


class DuplicatePublish(str):
    """Publish's answer (a message id) to a FIFO topic duplicate it dropped."""

    first_message_id: str
    deduplication_id: str
    content_based: bool


def _duplicate_answer(
    first: _Seen, body: str, attributes: dict[str, Any] | None
) -> DuplicateAnswer:
    """What SendMessage answers for a duplicate: the first message's id, this body's MD5s, and
    a sequence number of its own (as LocalStack answers; AWS documents none for duplicates)."""
    answer = DuplicateAnswer(first.message_id, body)
    answer.message_attributes = attributes or {}
    answer.sequence_number = next_sequence_number()
    return answer


_sequence = itertools.count(10**19)


def next_sequence_number() -> str:
    """A 20-digit FIFO sequence number, increasing within the process."""
    return str(next(_sequence))


# DeduplicationScope as the queue was created: AWS's recordings show a later change of
# DeduplicationScope/FifoThroughputLimit (either way) not changing how it deduplicates.
_scope_at_creation: weakref.WeakKeyDictionary[Queue, str] = weakref.WeakKeyDictionary()


def _remember_scope(stock: Callable[..., Queue]) -> Callable[..., Queue]:
    def create_queue(self: SQSBackend, name: str, *args: Any, **kwargs: Any) -> Queue:
        existed = name in self.queues
        queue = stock(self, name, *args, **kwargs)
        if not existed and queue.fifo_queue:
            _scope_at_creation[queue] = str(queue.attributes.get("DeduplicationScope"))
        return queue

    return create_queue


def _decided_by_the_window(stock: Callable[..., None]) -> Callable[..., None]:
    """With the window installed it alone decides what is a duplicate: moto's own check in
    add_message (by deduplication id only, whatever the DeduplicationScope, and also on moves
    to a dead-letter queue, which SQS never deduplicates) is skipped for FIFO queues."""

    def add_message(self: Queue, message: Message) -> None:
        if not self.fifo_queue or self.lambda_event_source_mappings:
            stock(self, message)
            return
        with self._messages_lock:
            self._messages.append(message)
            self._messages_lock.notify_all()

    return add_message


def _purge_forgets(stock: Callable[..., None]) -> Callable[..., None]:
    """PurgeQueue also empties the queue's deduplication window, as SQS does."""

    def purge_queue(self: SQSBackend, queue_name: str) -> None:
        stock(self, queue_name)
        with _seen_lock:
            _seen.pop(self.get_queue(queue_name), None)

    return purge_queue


_FIFO_DEDUP_WINDOW: list[_Layer] = [
    (SQSBackend, "send_message", _queue_dedup_window),
    (Queue, "add_message", _decided_by_the_window),
    (SQSBackend, "purge_queue", _purge_forgets),
    (SQSBackend, "create_queue", _remember_scope),
]


def install_fifo_dedup_window() -> None:
    """Remember FIFO deduplication ids for five minutes after sending, as SQS does."""
    _set_feature("fifo_dedup_window", _FIFO_DEDUP_WINDOW)


def uninstall_fifo_dedup_window() -> None:
    with _seen_lock:
        _set_feature("fifo_dedup_window", None)
        _seen.clear()
        fast_counts.forget_dedup_indexes()  # queued while they were bypassed: rebuilt on use
