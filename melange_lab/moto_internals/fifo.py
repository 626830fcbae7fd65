"""FIFO queues and topics as SQS and SNS run them: group locks held only by messages in
flight, and deduplication ids remembered for five minutes whether or not the first copy was
deleted."""

from __future__ import annotations

import hashlib
import itertools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import moto.sqs.models as sqs_models
from moto.moto_api._internal import mock_random
from moto.sns.models import Topic
from moto.sns.responses import SNSResponse
from moto.sqs.models import Message, Queue, SQSBackend

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

DEDUPLICATION_WINDOW_SECONDS = 300


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


def _window() -> int:
    return DEDUPLICATION_WINDOW_SECONDS


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
        key = explicit or (_content_hash(message_body) if content_based else None)
        first = _recent(queue, key) if key else None
        if first is not None and key:
            attributes = _argument(args, kwargs, 0, "message_attributes")
            answer = _duplicate_answer(first, message_body, attributes)
            answer.deduplication_id, answer.content_based = key, not explicit
            return answer
        message = stock(self, queue_name, message_body, *args, **kwargs)
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


def _topic_dedup_window(stock: Callable[..., str]) -> Callable[..., str]:
    def publish(self: Topic, message: str, *args: Any, **kwargs: Any) -> str:
        if not self.fifo_topic:
            return stock(self, message, *args, **kwargs)
        key = explicit = kwargs.get("deduplication_id")
        if not key and str(self.content_based_deduplication).lower() == "true":
            key = kwargs["deduplication_id"] = _content_hash(message)
        first = _recent(self, key) if key else None
        if first is not None and key:
            # dropped; Publish still answers with a new message id (LocalStack does the same)
            answer = DuplicatePublish(mock_random.uuid4())
            answer.first_message_id, answer.deduplication_id = first.message_id, key
            answer.content_based = not explicit
            return answer
        message_id = stock(self, message, *args, **kwargs)
        if key:
            _remember(self, key, message_id, None)
        return message_id

    return publish


def _with_sequence_number(stock: Callable[..., Any]) -> Callable[..., Any]:
    """Publish to a FIFO topic answers with a SequenceNumber too, as SNS does."""

    def publish(self: SNSResponse) -> Any:
        answer = stock(self)
        arn = self._get_param("TopicArn") or self._get_param("TargetArn")
        topic = self.backend.topics.get(arn) if arn else None
        if topic is not None and topic.fifo_topic and isinstance(answer.result, dict):
            answer.result["SequenceNumber"] = next_sequence_number()
        return answer

    return publish


_FIFO_DEDUP_WINDOW: list[_Layer] = [
    (SQSBackend, "send_message", _queue_dedup_window),
    (Topic, "publish", _topic_dedup_window),
    (SNSResponse, "publish", _with_sequence_number),
]


def install_fifo_dedup_window() -> None:
    """Remember FIFO deduplication ids for five minutes after sending, as SQS and SNS do."""
    _set_feature("fifo_dedup_window", _FIFO_DEDUP_WINDOW)


def uninstall_fifo_dedup_window() -> None:
    with _seen_lock:
        _set_feature("fifo_dedup_window", None)
        _seen.clear()
