"""FIFO topics as SNS runs them: the 5-minute deduplication window, and a SequenceNumber on
every message, in Publish's answer, in PublishBatch's, and in the envelope subscribers get.

moto 5.2 forgets a deduplication id once the first copy was deleted from the subscribed
queue, answers a FIFO Publish without a SequenceNumber, and builds a FIFO topic's envelope
like a standard topic's (signed, no SequenceNumber). AWS's recordings (LocalStack's
``test_sns.snapshot.json``, 2025) show a FIFO topic's notification carrying SequenceNumber
and no Signature, SignatureVersion or SigningCertURL, to FIFO and standard queues alike; the
envelope itself is built in ``signing`` and asks ``sequence_number_of`` here.
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from moto.moto_api._internal import mock_random
from moto.sns.models import SNSBackend, Topic
from moto.sns.responses import SNSResponse

from melange_lab.moto_internals.fifo import (
    DuplicatePublish,
    _content_hash,
    _recent,
    _remember,
    next_sequence_number,
)
from melange_lab.moto_internals.patching import _Layer, _set_feature

_REMEMBERED = 10_000  # message ids whose sequence number an envelope may still ask for
_sequence_of: OrderedDict[str, str] = OrderedDict()
_sequence_lock = threading.Lock()
_publishing: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "melange_lab_fifo_topic_sequence", default=None
)


def sequence_number_of(message_id: str) -> str | None:
    """The SequenceNumber SNS gave a FIFO topic's message, for its envelope (None: none):
    the Publish running now (a delivery inside Publish), or one already published (a
    delivery after the broker's delivery latency)."""
    with _sequence_lock:
        return _sequence_of.get(message_id) or _publishing.get()


def _note(message_id: str, sequence_number: str) -> None:
    with _sequence_lock:
        _sequence_of[message_id] = sequence_number
        while len(_sequence_of) > _REMEMBERED:
            _sequence_of.popitem(last=False)


def _topic_window(stock: Callable[..., str]) -> Callable[..., str]:
    def publish(self: Topic, message: str, *args: Any, **kwargs: Any) -> str:
        if not self.fifo_topic:
            return stock(self, message, *args, **kwargs)
        key = explicit = kwargs.get("deduplication_id")
        if not key and str(self.content_based_deduplication).lower() == "true":
            key = kwargs["deduplication_id"] = _content_hash(message)
        sequence_number = next_sequence_number()
        first = _recent(self, key) if key else None
        if first is not None and key:
            # dropped; Publish still answers with a new message id (LocalStack does the same)
            duplicate = DuplicatePublish(mock_random.uuid4())
            duplicate.first_message_id, duplicate.deduplication_id = first.message_id, key
            duplicate.content_based = not explicit
            message_id: str = duplicate
        else:
            token = _publishing.set(sequence_number)
            try:
                message_id = stock(self, message, *args, **kwargs)
            finally:
                _publishing.reset(token)
            if key:
                _remember(self, key, message_id, sequence_number)
        _note(str(message_id), sequence_number)
        return message_id

    return publish


def _answer_with_sequence_number(stock: Callable[..., Any]) -> Callable[..., Any]:
    def publish(self: SNSResponse) -> Any:
        answer = stock(self)
        if isinstance(answer.result, dict) and answer.result.get("MessageId"):
            sequence_number = sequence_number_of(answer.result["MessageId"])
            if sequence_number is not None:
                answer.result["SequenceNumber"] = sequence_number
        return answer

    return publish


def _batch_with_sequence_numbers(stock: Callable[..., Any]) -> Callable[..., Any]:
    def publish_batch(self: SNSBackend, *args: Any, **kwargs: Any) -> Any:
        successful, failed = stock(self, *args, **kwargs)
        for entry in successful:
            sequence_number = sequence_number_of(entry["MessageId"])
            if sequence_number is not None:
                entry["SequenceNumber"] = sequence_number
        return successful, failed

    return publish_batch


_FIFO_TOPICS: list[_Layer] = [
    (Topic, "publish", _topic_window),
    (SNSResponse, "publish", _answer_with_sequence_number),
    (SNSBackend, "publish_batch", _batch_with_sequence_numbers),
]


def install_fifo_topics() -> None:
    """FIFO topics deduplicate for five minutes and number their messages, as SNS does."""
    _set_feature("fifo_topics", _FIFO_TOPICS)


def uninstall_fifo_topics() -> None:
    _set_feature("fifo_topics", None)
    with _sequence_lock:
        _sequence_of.clear()
