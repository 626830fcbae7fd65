"""Send, receive and delete at the same cost at any queue depth."""

from __future__ import annotations

import contextvars
import functools
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import moto.sqs.models as sqs_models
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

from melange_lab.moto_internals.patching import _Layer, _set_feature, _wrap_property

# --- the performance fix --------------------------------------------------------------------
#
# Stock moto 5.2 does work proportional to queue depth on every call:
# * ``Queue.attributes`` counts every message three times (approximate_number_of_messages*,
#   each reading the clock per message), and send_message, _validate_message, add_message and
#   (per received message, three times) is_message_valid_based_on_retention_period read it
#   only to look up ContentBasedDeduplication or MessageRetentionPeriod.
# * ``Queue.messages`` builds the list of every visible message before receive_message takes
#   the first MaxNumberOfMessages of it.
# * ``Queue.delete_message`` rebuilds the whole message list, asking each message for its
#   receipt handles, even though the message is usually at the front.
# * ``Queue.add_message`` on a FIFO queue compares the new message's deduplication id with
#   every queued message's, to drop it if one was sent less than five minutes before.
#
# The fix: inside those four callers, ``attributes`` leaves the three counts and the Policy out
# (nobody there reads them; everywhere else, GetQueueAttributes included, they are computed as
# before);
# ``messages`` becomes a lazy view evaluated with moto's own visible/delayed tests, so receive
# stops where stock would stop; delete stops at the first message that had the receipt handle
# (handles are unique per message, and a message sits in one queue once); and the pure
# camelcase_to_underscores that every attributes read calls ~15 times remembers its answers
# (that alone was a third of a send once the counts were gone). A FIFO queue keeps an index
# from deduplication id to the messages added with it (built from the queue on first use,
# entries dropped when their message is deleted, rebuilt when mostly stale, forgotten when the
# fix is removed); it always holds at least every queued message, so looking there and then
# confirming the match is still queued finds exactly the duplicates stock's scan finds. The
# scan of the queue happens only when a recent message with the same id exists. No message state,
# ordering, or timing rule is changed, so dedup windows, visibility, delays, DLQ moves, FIFO
# group locking, deletes by old receipt handles and retention behave exactly as stock.

_COUNT_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)
_counts_unread: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "melange_lab_counts_unread", default=False
)


def _leave_counts_out(method: Callable[..., Any]) -> Callable[..., Any]:
    """A layer for a moto method that reads ``Queue.attributes`` but never its counts."""

    @functools.wraps(method)
    def without_counts(*args: Any, **kwargs: Any) -> Any:
        token = _counts_unread.set(True)
        try:
            return method(*args, **kwargs)
        finally:
            _counts_unread.reset(token)

    return without_counts


def _attributes_with_counts_on_demand(stock: Callable[[Queue], Any]) -> Callable[[Queue], Any]:
    def attributes(queue: Queue) -> Any:
        result = stock(queue)
        if _counts_unread.get():
            for name in _COUNT_ATTRIBUTES:
                del result[name]
        return result

    return attributes


def _skip_count_when_unread(stock: Callable[[Queue], int]) -> Callable[[Queue], int]:
    # Inside those callers only the stock attributes getter reads a count, and it is discarded.
    return lambda queue: 0 if _counts_unread.get() else stock(queue)


def _policy_left_out_when_unread(stock: property) -> property:
    # Nor do they read the Policy, which stock serializes to JSON twice per attributes read
    # (a subscribed queue's policy: most of an SNS copy's cost after the counts).
    getter = stock.fget
    assert getter is not None
    return property(lambda queue: None if _counts_unread.get() else getter(queue), stock.fset)


class _VisibleMessages:
    """``Queue.messages`` as a lazy view: what stock lists, produced only as far as it is read."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def __iter__(self) -> Iterator[Message]:
        return (m for m in self._queue._messages if m.visible and not m.delayed)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return any(True for _ in self)


def _delete_first_match(self: Queue, receipt_handle: str) -> None:
    # Under the lock add_message appends with: stock rebuilds the list without it, so a send
    # landing between its read and its write was lost (or a deleted message came back).
    with self._messages_lock:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: stock accepts a repeat
        messages = self._messages
        index = next(
            (i for i, m in enumerate(messages) if m.had_receipt_handle(receipt_handle)), -1
        )
        if index < 0:
            raise ReceiptHandleIsInvalid()
        message = messages[index]
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
        self._messages = messages[:index] + messages[index + 1 :]  # a new list, as stock makes
    with _dedup_lock:
        dedup = _dedup_indexes.get(self)
        if dedup is not None:
            dedup.discard(message)


class _DedupIndex:
    """A FIFO queue's messages by deduplication id: every queued one, plus maybe stale ones."""

    def __init__(self, messages: list[Message]) -> None:
        self._by_id: dict[str | None, list[Message]] = {}
        self._size = 0
        for message in messages:
            self.add(message)

    def add(self, message: Message) -> None:
        self._by_id.setdefault(message.deduplication_id, []).append(message)
        self._size += 1

    def discard(self, message: Message) -> None:
        same_id = self._by_id.get(message.deduplication_id, [])
        kept = [m for m in same_id if m is not message]
        self._size -= len(same_id) - len(kept)
        self._by_id[message.deduplication_id] = kept

    def mostly_stale(self, queue: Queue) -> bool:
        return self._size > 2 * len(queue._messages) + 64

    def has_recent_duplicate(self, queue: Queue, message: Message) -> bool:
        """Stock's test: a queued message with this id, sent less than the window before."""
        window: int = sqs_models.DEDUPLICATION_TIME_IN_SECONDS
        recent = [
            m
            for m in self._by_id.get(message.deduplication_id, [])
            if (message.sent_timestamp - m.sent_timestamp) / 1000 < window  # type: ignore[operator]
        ]
        if not recent:
            return False
        queued = {id(m) for m in queue._messages}
        return any(id(m) in queued for m in recent)


_dedup_indexes: weakref.WeakKeyDictionary[Queue, _DedupIndex] = weakref.WeakKeyDictionary()
_dedup_lock = threading.RLock()


def _dedup_index(queue: Queue) -> _DedupIndex:
    index = _dedup_indexes.get(queue)
    if index is None or index.mostly_stale(queue):
        index = _dedup_indexes[queue] = _DedupIndex(list(queue._messages))
    return index


def _add_with_dedup_index(stock: Callable[[Queue, Message], None]) -> Callable[..., None]:
    def add_message(self: Queue, message: Message) -> None:
        if not self.fifo_queue:
            stock(self, message)  # no duplicate check on a standard queue
            return
        with _dedup_lock:
            index = _dedup_index(self)
            if self.lambda_event_source_mappings:
                # moto's own scan and Lambda polling; if it dropped the message, the index
                # entry is a harmless stale one
                stock(self, message)
                index.add(message)
                return
            checked = (
                self.attributes.get("ContentBasedDeduplication") == "true"
                or message.deduplication_id
            )
            if checked and index.has_recent_duplicate(self, message):
                return
            with self._messages_lock:
                self._messages.append(message)
                self._messages_lock.notify_all()
            index.add(message)

    return add_message


_FAST_COUNTS: list[_Layer] = [
    (Queue, "attributes", _wrap_property(_attributes_with_counts_on_demand)),
    (Queue, "policy", _policy_left_out_when_unread),
    *[
        (Queue, name, _wrap_property(_skip_count_when_unread))
        for name in (
            "approximate_number_of_messages",
            "approximate_number_of_messages_delayed",
            "approximate_number_of_messages_not_visible",
        )
    ],
    (Queue, "add_message", _add_with_dedup_index),
    *[
        (owner, name, _leave_counts_out)
        for owner, name in (
            (SQSBackend, "send_message"),
            (SQSBackend, "_validate_message"),
            (Queue, "add_message"),
            (SQSBackend, "is_message_valid_based_on_retention_period"),
        )
    ],
    (sqs_models, "camelcase_to_underscores", lambda stock: functools.lru_cache(maxsize=256)(stock)),
    (Queue, "messages", lambda _: property(_VisibleMessages)),
    (Queue, "delete_message", lambda _: _delete_first_match),
]


def install_fast_counts() -> None:
    """Make send, receive and delete cost the same at any queue depth. Idempotent."""
    _set_feature("fast_counts", _FAST_COUNTS)


def forget_dedup_indexes() -> None:
    """Drop every index (each is rebuilt from its queue on next use): for a fix that added
    FIFO messages without them."""
    with _dedup_lock:
        _dedup_indexes.clear()


def uninstall_fast_counts() -> None:
    """Put moto's own depth-proportional code back."""
    with _dedup_lock:
        _set_feature("fast_counts", None)
        _dedup_indexes.clear()  # stock adds would leave them incomplete
