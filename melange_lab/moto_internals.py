"""The one module that touches moto's internals; everything else talks to moto through boto3.

Why it exists: a teaching broker must show what boto3 cannot (a queue's messages without
receiving them, the moment moto moves a message to a dead-letter queue inside ReceiveMessage),
must run moto on the broker's clock instead of the kernel's, and must not slow to a crawl as a
queue fills or a topic fans out (see ``install_fast_counts`` and ``install_fast_signing``).

Checked against moto 5.2.1 and 5.2.5: every moto function patched or read here has the same
source in both. ``check_supported`` checks the version and fingerprints that source, so a newer
moto fails loudly here instead of misbehaving quietly. Every install is undone by its
``uninstall_*``, which puts moto's own objects back.
"""

from __future__ import annotations

import base64
import contextvars
import datetime
import functools
import hashlib
import inspect
import logging
import re
import textwrap
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

import moto.core.utils as moto_utils
import moto.sns.models as sns_models
import moto.sqs.models as sqs_models
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal import mock_random
from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend, Subscription
from moto.sns.utils import FilterPolicyMatcher
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends

from melange_lab.errors import MelangeLabError, QueueNotFound

logger = logging.getLogger(__name__)

SUPPORTED_MOTO = ">=5.2.1,<5.3"
_LOWEST, _BELOW = (5, 2, 1), (5, 3)


class UnsupportedMotoVersion(MelangeLabError, RuntimeError):
    """The installed moto is outside the range, or its code no longer has the shape we patch."""


# --- checking the moto we run on ------------------------------------------------------------

# sha256 (first 16 hex digits) of the dedented source of each moto object we replace, wrap, or
# whose fields and units (milliseconds) we read. Identical in moto 5.2.1 and 5.2.5.
_FINGERPRINTS: dict[str, str] = {
    "Message.__init__": "940a3cff74fa0f08",
    "Message.change_visibility": "e78bd2f5e2d4eb3d",
    "Message.delay": "63024980710cbe05",
    "Message.visible": "1abcc7861b9a4c5b",
    "Message.delayed": "815515980283b0b0",
    "Queue._setup_dlq": "fb70d1b10d3b5f61",
    "Queue.attributes": "ddf03540564891aa",
    "Queue.approximate_number_of_messages": "58ad3ae419355f73",
    "Queue.approximate_number_of_messages_delayed": "e69b37fb977867ed",
    "Queue.approximate_number_of_messages_not_visible": "e411bdffb39107ee",
    "Queue.messages": "67cdc0178b71ab4c",
    "Queue.add_message": "2ea74b872868bc97",
    "Queue.delete_message": "9c3d8164626a0986",
    "SQSBackend.send_message": "fd7abfe52e85d643",
    "SQSBackend._validate_message": "270d61e427a1cecd",
    "SQSBackend.receive_message": "79cac41881a077fd",
    "SQSBackend.is_message_valid_based_on_retention_period": "9c430561cf6d7cb4",
    "Subscription.get_post_data": "dc591399b4d078f5",
    "Subscription.publish": "0542364934c7e398",
    "Queue.pending_message_groups": "cbc9268f7ddfa5ab",
}

# moto.core.utils functions that moto's modules imported by name and that we replace there.
_PATCHED_GLOBALS: dict[ModuleType, tuple[str, ...]] = {
    sqs_models: ("unix_time", "unix_time_millis", "camelcase_to_underscores"),
    sns_models: ("unix_time", "iso_8601_datetime_with_milliseconds"),
}


def _version_tuple(version: str) -> tuple[int, ...]:
    found = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if found is None:
        return ()
    return tuple(int(part or 0) for part in found.groups())


def _stock(owner: type | ModuleType, name: str) -> Any:
    """moto's own object, even while one of our patches sits in its place."""
    with _lock:
        return _originals.get((owner, name), vars(owner).get(name))


def _fingerprint(qualified: str) -> str | None:
    owner_name, name = qualified.split(".", 1)
    owner = {"Message": Message, "Queue": Queue, "SQSBackend": SQSBackend}.get(
        owner_name, Subscription
    )
    target = _stock(owner, name)
    target = target.fget if isinstance(target, property) else target
    if not callable(target):
        return None
    try:
        source = textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def check_supported(installed: str | None = None) -> None:
    """Fail loudly unless moto is in ``SUPPORTED_MOTO`` and the code we patch is unchanged.

    ``installed`` defaults to the installed moto's version (tests pass a fake one).
    """
    version = installed if installed is not None else metadata.version("moto")
    if not _LOWEST <= _version_tuple(version) < _BELOW:
        raise UnsupportedMotoVersion(
            f"moto {version} is installed, but melange-lab supports moto{SUPPORTED_MOTO} only "
            f"(it patches moto's SQS internals). Fix: pip install 'moto[sns,sqs]{SUPPORTED_MOTO}'."
        )
    for module, global_names in _PATCHED_GLOBALS.items():
        for global_name in global_names:
            if _stock(module, global_name) is not getattr(moto_utils, global_name, None):
                raise UnsupportedMotoVersion(
                    f"moto {version}: {module.__name__} no longer calls "
                    f"moto.core.utils.{global_name}, which melange-lab replaces there. "
                    f"Fix: pip install 'moto[sns,sqs]{SUPPORTED_MOTO}'."
                )
    changed = sorted(name for name, digest in _FINGERPRINTS.items() if _fingerprint(name) != digest)
    if changed:
        raise UnsupportedMotoVersion(
            f"moto {version} changed code melange-lab patches or reads: {', '.join(changed)}. "
            f"Supported: moto{SUPPORTED_MOTO}. Fix: pip install 'moto[sns,sqs]{SUPPORTED_MOTO}', "
            "or re-check melange_lab/moto_internals.py against the new moto and update "
            "_FINGERPRINTS."
        )


# --- patching, undoably ---------------------------------------------------------------------

# Each feature (clock, fast counts, dead-letter listener) is a list of (owner, name, wrap)
# layers; wrap turns the object below it into its replacement. Layers on the same attribute
# stack in a fixed order, and removing the last layer puts moto's own object back.
_Layer = tuple[type | ModuleType, str, Callable[[Any], Any]]
_FEATURE_ORDER = ("fifo_group_fix", "fast_counts", "fast_signing", "dead_letters", "clock")
_features: dict[str, list[_Layer]] = {}
_originals: dict[tuple[type | ModuleType, str], Any] = {}
_lock = threading.RLock()


def _set_feature(feature: str, layers: list[_Layer] | None) -> None:
    with _lock:
        if layers is None:
            _features.pop(feature, None)
        else:
            _features[feature] = layers
        _rebuild()


def _rebuild() -> None:
    active = [layer for f in _FEATURE_ORDER for layer in _features.get(f, [])]
    for owner, name in {(o, n) for o, n, _ in active} | set(_originals):
        original = _originals.setdefault((owner, name), vars(owner)[name])
        value = original
        for layer_owner, layer_name, wrap in active:
            if (layer_owner, layer_name) == (owner, name):
                value = wrap(value)
        setattr(owner, name, value)
        if value is original:
            del _originals[(owner, name)]


def _wrap_property(wrap_getter: Callable[[Callable[[Any], Any]], Callable[[Any], Any]]) -> Any:
    """A layer for a read-only property: wraps its getter."""
    return lambda prop: property(wrap_getter(prop.fget))


# --- looking without touching ---------------------------------------------------------------


@dataclass(frozen=True)
class StoredMessage:
    """A message as moto holds it, read without receiving it."""

    message_id: str
    body: str
    message_attributes: dict[str, dict[str, str]]
    receive_count: int
    state: str  # "visible" | "in_flight" | "delayed"
    sent_at: float
    visible_at: float | None
    delayed_until: float | None
    message_group_id: str | None
    deduplication_id: str | None
    sequence_number: str | None


def _queue(account_id: str, region: str, queue_name: str) -> Queue:
    queues: dict[str, Queue] = sqs_backends[account_id][region].queues
    try:
        return queues[queue_name]
    except KeyError:
        raise QueueNotFound(queue_name, queues) from None


def _now_ms() -> float:
    # Through moto's own module global, so an installed clock is honoured.
    clock: Callable[[], float] = vars(sqs_models)["unix_time_millis"]
    return clock()


def _state(message: Message, now_ms: float) -> str:
    # moto's own tests: Message.delayed is now < delayed_until, Message.visible now > visible_at.
    if now_ms < message.delayed_until:
        return "delayed"
    return "visible" if now_ms > message.visible_at else "in_flight"


def _stored(message: Message, now_ms: float) -> StoredMessage:
    state = _state(message, now_ms)
    return StoredMessage(
        message_id=message.id,
        body=message.body,
        message_attributes={
            name: {key: str(value) for key, value in attribute.items()}
            for name, attribute in message.message_attributes.items()
        },
        receive_count=message.approximate_receive_count,
        state=state,
        sent_at=(message.sent_timestamp or 0) / 1000,
        visible_at=message.visible_at / 1000 if state == "in_flight" else None,
        delayed_until=message.delayed_until / 1000 if state == "delayed" else None,
        message_group_id=message.group_id,
        deduplication_id=message.deduplication_id,
        sequence_number=message.sequence_number,
    )


def _retained(queue: Queue) -> Callable[[Message, float], bool]:
    """Whether a message is still within its queue's retention period.

    moto skips an expired message on receive but never deletes it; SQS deletes it. So what the
    lab shows leaves expired messages out, as a learner would see them on SQS.
    """
    retention_ms = int(getattr(queue, "message_retention_period", 345_600)) * 1000
    return lambda message, now_ms: int(message.sent_timestamp or 0) + retention_ms > now_ms


def _live_messages(account_id: str, region: str, queue_name: str, now_ms: float) -> list[Message]:
    queue = _queue(account_id, region, queue_name)
    retained = _retained(queue)
    return [m for m in list(queue._messages) if retained(m, now_ms)]


def peek_messages(account_id: str, region: str, queue_name: str) -> list[StoredMessage]:
    """Every message in the queue, in queue order, without changing anything moto holds."""
    now_ms = _now_ms()
    return [_stored(m, now_ms) for m in _live_messages(account_id, region, queue_name, now_ms)]


def queue_counts(account_id: str, region: str, queue_name: str) -> tuple[int, int, int]:
    """(visible, in_flight, delayed), as GetQueueAttributes counts them, in one pass."""
    now_ms = _now_ms()
    states = [_state(m, now_ms) for m in _live_messages(account_id, region, queue_name, now_ms)]
    return states.count("visible"), states.count("in_flight"), states.count("delayed")


def dead_letter_target(account_id: str, region: str, queue_name: str) -> tuple[str, int] | None:
    """(dead-letter queue name, maxReceiveCount) from the queue's redrive policy, if any."""
    queue = _queue(account_id, region, queue_name)
    if queue.dead_letter_queue is None or not queue.redrive_policy:
        return None
    return queue.dead_letter_queue.name, int(queue.redrive_policy["maxReceiveCount"])


# --- hearing dead-letter moves --------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterMove:
    """moto moved a message to a dead-letter queue while receiving from ``source_queue``."""

    source_queue: str
    dead_letter_queue: str
    message_id: str
    receive_count: int


_listeners: list[Callable[[DeadLetterMove], None]] = []
# The queue whose ReceiveMessage is running in this context: moto moves messages to the DLQ
# from inside receive_message, by calling add_message on the source's dead_letter_queue.
_receiving_from: contextvars.ContextVar[Queue | None] = contextvars.ContextVar(
    "melange_lab_receiving_from", default=None
)


def _note_receiving(receive: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(receive)
    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        token = _receiving_from.set(self.queues.get(queue_name))
        try:
            return receive(self, queue_name, *args, **kwargs)
        finally:
            _receiving_from.reset(token)

    return receive_message


def _report_dead_letters(add: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(add)
    def add_message(self: Queue, message: Message) -> Any:
        result = add(self, message)
        source = _receiving_from.get()
        if source is not None and source.dead_letter_queue is self:
            count = message.approximate_receive_count
            move = DeadLetterMove(source.name, self.name, message.id, count)
            unread = _counts_unread.set(False)  # a listener may ask for queue counts
            try:
                for listener in list(_listeners):
                    try:
                        listener(move)
                    except Exception:
                        logger.exception("dead-letter listener %r failed on %r", listener, move)
            finally:
                _counts_unread.reset(unread)
        return result

    return add_message


def add_dead_letter_listener(listener: Callable[[DeadLetterMove], None]) -> Callable[[], None]:
    """Call ``listener`` whenever moto moves a message to a DLQ; returns its remover.

    A listener that raises is logged and never breaks the receive. While no listener is
    registered, moto's receive and add_message are stock.
    """
    with _lock:
        _listeners.append(listener)
        _set_feature(
            "dead_letters",
            [
                (SQSBackend, "receive_message", _note_receiving),
                (Queue, "add_message", _report_dead_letters),
            ],
        )

    def remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)
            if not _listeners:
                _set_feature("dead_letters", None)

    return remove


# --- the broker's clock ---------------------------------------------------------------------


def install_clock(now: Callable[[], float]) -> None:
    """Make moto's SQS and SNS read ``now()`` (epoch seconds) as the current time.

    Covers everything moto.sqs.models times (visibility, delays, retention, FIFO dedup window,
    SentTimestamp, the long-poll deadline) and the Timestamp of SNS notifications. The kernel's
    time.time is untouched. A long poll ends when ``now()`` passes its deadline; moto still
    waits up to one real second between checks, so a clock that never moves never ends it.
    """

    def unix_time(dt: datetime.datetime | None = None) -> float:
        return now() if dt is None else moto_utils.unix_time(dt)

    def unix_time_millis(dt: datetime.datetime | None = None) -> float:
        return unix_time(dt) * 1000.0

    def iso_8601(value: datetime.datetime | None = None) -> str:
        moment = value or datetime.datetime.fromtimestamp(now(), datetime.timezone.utc)
        return moto_utils.iso_8601_datetime_with_milliseconds(moment.replace(tzinfo=None))

    _set_feature(
        "clock",
        [
            (sqs_models, "unix_time", lambda _: unix_time),
            (sqs_models, "unix_time_millis", lambda _: unix_time_millis),
            (sns_models, "unix_time", lambda _: unix_time),
            (sns_models, "iso_8601_datetime_with_milliseconds", lambda _: iso_8601),
        ],
    )


def uninstall_clock() -> None:
    """Give moto back the kernel's clock."""
    _set_feature("clock", None)


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
# The fix: inside those four callers, ``attributes`` leaves the three counts out (nobody there
# reads them; everywhere else, GetQueueAttributes included, they are computed as before);
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
    if receipt_handle in self.deleted_messages:
        return  # already deleted: stock accepts a repeat
    messages = self._messages
    index = next((i for i, m in enumerate(messages) if m.had_receipt_handle(receipt_handle)), -1)
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


def install_fast_counts() -> None:
    """Make send, receive and delete cost the same at any queue depth. Idempotent."""
    _set_feature("fast_counts", _FAST_COUNTS)


def uninstall_fast_counts() -> None:
    """Put moto's own depth-proportional code back."""
    with _dedup_lock:
        _set_feature("fast_counts", None)
        _dedup_indexes.clear()  # stock adds would leave them incomplete


# --- SNS deliveries without a new certificate each ---------------------------------------
#
# Stock moto 5.2's Subscription.get_post_data, which builds the JSON envelope of every
# non-raw delivery to an SQS (or HTTP) subscriber, generates a 2048-bit RSA key per
# subscription (an lru_cache on the method, which also keeps every subscription alive), and
# for every delivery builds and signs a new X.509 certificate, signs the message, and stores
# the certificate's PEM under a new name in the default account's
# SNSBackend._message_public_keys, never removed. Two RSA signatures (~2 ms each here) made
# SNS publish the slowest call in the lab, growing with the subscriber count, and the stored
# PEMs grow memory without limit over a long notebook session.
#
# The replacement returns the same envelope (same fields, same Timestamp from moto's clock
# global, same string to sign, SignatureVersion "2", RSA PKCS#1 v1.5 with SHA-256) but signs
# with one key and one certificate per installation, stored under one SigningCertURL (put
# back if a reset emptied the store), as real SNS signs with one certificate at a time.
# PKCS#1 v1.5 signatures are deterministic, so deliveries of one publish that share a
# Timestamp reuse the last signature instead of computing the same bytes again. The
# signature still verifies against the certificate at SigningCertURL. It draws one uuid4 per
# delivery from moto's random source, as stock does for its key name, so seeded message ids
# stay what stock gives. Routing, filtering, raw delivery and the SQS send are moto's own.


@dataclass(frozen=True)
class _Signer:
    key: rsa.RSAPrivateKey
    certificate_pem: bytes
    certificate_name: str


_signer: _Signer | None = None
_last_signature: tuple[str, str] = ("", "")  # (string signed, base64 signature)


def _new_signer() -> _Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Amazon RSA 2048 M01"),
    ]
    now = moto_utils.utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")]))
        .issuer_name(x509.Name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    name = f"SimpleNotificationService-{hashlib.sha256(certificate.signature).hexdigest()[:32]}.pem"
    return _Signer(key, certificate.public_bytes(serialization.Encoding.PEM), name)


def _sign(text: str) -> tuple[_Signer, str]:
    global _signer, _last_signature
    with _lock:
        if _signer is None:
            _signer = _new_signer()
        signer, (signed, signature) = _signer, _last_signature
    if signed != text:
        raw = signer.key.sign(text.encode("UTF-8"), padding.PKCS1v15(), hashes.SHA256())
        signature = base64.b64encode(raw).decode("utf-8")
        with _lock:
            if _signer is signer:
                _last_signature = (text, signature)
    return signer, signature


def _post_data_signed_once(
    self: Subscription,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    mock_random.uuid4()  # stock's draw for its per-delivery key name
    now_iso: Callable[[], str] = vars(sns_models)["iso_8601_datetime_with_milliseconds"]
    timestamp = now_iso()
    topic_arn = self.topic.arn
    signer, signature = _sign(
        f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
        f"TopicArn\n{topic_arn}\nType\nNotification\n"
    )
    region = self.topic.sns_backend.region_name
    public_keys = sns_models.sns_backends[DEFAULT_ACCOUNT_ID][region]._message_public_keys
    public_keys.setdefault(signer.certificate_name, signer.certificate_pem)
    post_data: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": signature,
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/{signer.certificate_name}",
        "UnsubscribeURL": (
            "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
            f"arn:aws:sns:us-east-1:{self.account_id}:{self.topic.name}:"
            "2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
        ),
    }
    if subject:
        post_data["Subject"] = subject
    if message_attributes:
        post_data["MessageAttributes"] = message_attributes
    return post_data


def install_fast_signing() -> None:
    """Sign SNS envelopes with one cached key and certificate, not new ones each. Idempotent."""
    _set_feature(
        "fast_signing", [(Subscription, "get_post_data", lambda _: _post_data_signed_once)]
    )


def uninstall_fast_signing() -> None:
    """Put moto's own per-delivery certificates back and forget the cached key."""
    global _signer, _last_signature
    with _lock:
        _set_feature("fast_signing", None)
        _signer, _last_signature = None, ("", "")


# -- filter policies -------------------------------------------------------------------------
# moto 5.2 checks policies in SNSBackend._validate_filter_policy (which uses no backend state)
# and matches them with FilterPolicyMatcher; using both means what the lab predicts and
# explains is exactly what the simulated broker delivers.


def validation_problem(rules: dict[str, Any], scope: str) -> str | None:
    """What is wrong with a policy, in SNS's words, or None when it is valid."""
    empty = _first_empty_list(rules)
    if empty is not None:
        return f"the rule for '{empty}' is an empty list, which matches nothing (SNS refuses it)"
    try:
        SNSBackend._validate_filter_policy(None, rules, scope)  # type: ignore[arg-type]
    except SNSException as error:
        text = str(error.message).split("\n", 1)[0]
        return text.rsplit("FilterPolicy: ", 1)[-1]
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        return f"it has an unexpected shape ({error})"
    return None


def matches(
    rules: dict[str, Any], scope: str, attributes: dict[str, dict[str, str]], body: str
) -> bool:
    sns_attributes = {
        name: {"Type": value.get("DataType", "String"), "Value": value.get("StringValue")}
        for name, value in attributes.items()
    }
    return bool(FilterPolicyMatcher(rules, scope).matches(sns_attributes, body))


def _first_empty_list(rules: dict[str, Any]) -> str | None:
    for key, rule in rules.items():
        if rule == []:
            return key
        if isinstance(rule, dict):
            nested = _first_empty_list(rule)
            if nested is not None:
                return f"{key}.{nested}"
    return None
