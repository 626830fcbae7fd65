"""The broker's events, reported where moto's SQS and SNS state changes, whoever changed it.

Plain boto3 in the kernel, the lab's publishers, melange's ``AWSBackend`` and moto's server
answering another process all end in the same moto model methods. Hooking those methods makes
every client seen the same way, once, at the moment the change happens: nothing is predicted
by a caller, so nothing is computed twice to guess what happened.

Where each event comes from (moto 5.2.1 to 5.2.6, the fingerprints in ``versions.py``):

- ``SQSBackend.create_queue`` / ``delete_queue`` / ``purge_queue``: ``queue_declared``
  (also when ``set_queue_attributes`` changes a RedrivePolicy), ``queue_deleted``, ``purged``.
- ``Queue.add_message``, the one place a message enters a queue: ``published`` (SendMessage,
  SendMessageBatch), ``delivered`` (a topic's copy), ``dead_lettered`` (moto's move inside
  ReceiveMessage, or a subscription's dead-letter queue). Emitted just before the message is
  appended, so no consumer can receive it before its arrival is in the log.
- ``SQSBackend.send_message``: ``deduplicated`` when the FIFO window (``fifo``) dropped it.
- ``SQSBackend.receive_message``: ``received`` (with the receive count).
- ``SQSBackend.delete_message`` (also per entry of DeleteMessageBatch): ``acknowledged``;
  ``change_message_visibility`` to 0 (also per batch entry): ``released``.
- ``SNSBackend.create_topic`` / ``delete_topic``, ``SNSResponse.subscribe``,
  ``SNSBackend.unsubscribe`` / ``set_subscription_attributes``: the topology.
- ``Topic.publish`` and ``Subscription.publish``: ``published`` and, per subscription,
  ``filtered`` / ``delivered`` / ``delivery_failed`` (``fan_out``).

Every event about a queue copy carries its own id and the id it was published under
(``published_id``), which moto knows when the copy enters the queue.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.sns.models import SNSBackend, Subscription, Topic
from moto.sns.responses import SNSResponse
from moto.sns.utils import make_arn_for_topic
from moto.sqs.models import Message, Queue, SQSBackend

from melange_lab.events import EventKind, EventLog
from melange_lab.moto_internals.dead_letters import _note_receiving, _receiving_from
from melange_lab.moto_internals.fifo import DuplicateAnswer
from melange_lab.moto_internals.patching import _Layer, _lock, _set_feature

logger = logging.getLogger(__name__)

PUBLISHED_ID = "melange_lab_published_id"  # on a moto Message published under another id
_HANDLES_KEPT = 20_000  # receipt handle -> ids, for acknowledged/released (a cache; a miss looks)


@dataclass
class _Sink:
    events: EventLog
    last_failure: Callable[[str], str | None]


_sink: _Sink | None = None


def _emit(kind: EventKind, **fields: Any) -> None:
    """Emits in a fresh context: an observer that sends, receives or publishes is a new client
    of the broker, not part of the change being reported (whose context says what it is)."""
    sink = _sink
    if sink is not None:
        contextvars.Context().run(sink.events.emit, kind, **fields)


def published_id_of(message: Message) -> str:
    """The id ``message`` (a moto message, or a received copy of one) was published under."""
    published: str | None = getattr(message, PUBLISHED_ID, None)
    return published or message.id


# --- why a message is entering a queue -------------------------------------------------------


@dataclass
class _Arrival:
    """Set around a send: what the message entering a queue is (a copy, a dead letter, ...)."""

    kind: EventKind
    topic: str | None = None
    published_id: str | None = None
    queue: str | None = None  # the queue the event names, when not the one entered ...
    entered_as: str = "queue"  # ... then the detail naming the one entered
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    sent: dict[str, Any] | None = None  # what send_message was asked to store (for a DLQ)


_arrival: contextvars.ContextVar[_Arrival | None] = contextvars.ContextVar(
    "melange_lab_arrival", default=None
)


def _manifest(attributes: dict[str, Any] | None) -> str | None:
    """melange's ``manifest`` attribute, from SQS-shaped or SNS-shaped attributes."""
    found = (attributes or {}).get("manifest")
    if not isinstance(found, dict):
        return None
    value = found.get("StringValue", found.get("Value"))
    return value if isinstance(value, str) else None


def _add_reporting(stock: Callable[[Queue, Message], None]) -> Callable[[Queue, Message], None]:
    def add_message(self: Queue, message: Message) -> None:
        arrival = _arrival.get()
        source = _receiving_from.get()
        if arrival is not None:
            _arrived(self, message, arrival)
        elif source is not None and source.dead_letter_queue is self:
            _dead_lettered(source, self, message)
        stock(self, message)

    return add_message


def _arrived(queue: Queue, message: Message, arrival: _Arrival) -> None:
    published = arrival.published_id or message.id
    if published != message.id:
        setattr(message, PUBLISHED_ID, published)
    detail = arrival.detail
    if arrival.queue is not None:
        detail = {**detail, arrival.entered_as: queue.name}
    _emit(
        arrival.kind,
        queue=arrival.queue or queue.name,
        topic=arrival.topic,
        message_id=message.id,
        published_id=published,
        reason=arrival.reason,
        detail=detail,
    )


def _dead_lettered(source: Queue, dead_letter_queue: Queue, message: Message) -> None:
    sink = _sink
    failure = sink.last_failure(message.id) if sink is not None else None
    count = message.approximate_receive_count
    _emit(
        EventKind.DEAD_LETTERED,
        queue=source.name,
        message_id=message.id,
        published_id=published_id_of(message),
        reason=(
            f"received {count} times without being acknowledged, which is its queue's "
            f"maxReceiveCount; moved to '{dead_letter_queue.name}'"
            + (f"; last failure: {failure}" if failure else "")
        ),
        detail={
            "dead_letter_queue": dead_letter_queue.name,
            "receive_count": count,
            "last_failure": failure,
        },
    )


# --- SQS: sending, receiving, acknowledging -------------------------------------------------


def _send_reporting(stock: Callable[..., Message]) -> Callable[..., Message]:
    @functools.wraps(stock)
    def send_message(
        self: SQSBackend,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        delay_seconds: int | None = None,
        deduplication_id: str | None = None,
        group_id: str | None = None,
        system_attributes: dict[str, Any] | None = None,
        validate_group_id: bool = True,
    ) -> Message:
        arrival = _arrival.get()
        token = None
        if arrival is None:
            detail = {"manifest": _manifest(message_attributes), "message_group_id": group_id}
            arrival = _Arrival(EventKind.PUBLISHED, detail=detail)
            token = _arrival.set(arrival)
        else:  # a topic's copy: what it carried goes to a dead-letter queue if it fails
            arrival.sent = {
                "message_body": message_body,
                "message_attributes": message_attributes,
                "deduplication_id": deduplication_id,
                "group_id": group_id,
            }
        try:
            answer = stock(
                self,
                queue_name,
                message_body,
                message_attributes=message_attributes,
                delay_seconds=delay_seconds,
                deduplication_id=deduplication_id,
                group_id=group_id,
                system_attributes=system_attributes,
                validate_group_id=validate_group_id,
            )
        finally:
            if token is not None:
                _arrival.reset(token)
        if isinstance(answer, DuplicateAnswer):
            _report_duplicate(queue_name, answer, arrival)
        return answer

    return send_message


def _report_duplicate(queue_name: str, answer: DuplicateAnswer, arrival: _Arrival) -> None:
    _emit(
        EventKind.DEDUPLICATED,
        queue=queue_name,
        topic=arrival.topic,
        message_id=answer.id,
        published_id=arrival.published_id or answer.id,
        reason=_duplicate_reason(answer.id, answer.deduplication_id, answer.content_based, "queue"),
        detail={
            "deduplication_id": answer.deduplication_id,
            "content_based": answer.content_based,
            "manifest": arrival.detail.get("manifest"),
        },
    )


def _duplicate_reason(first: str, key: str, content_based: bool, kind: str) -> str:
    why = "content (content-based deduplication)" if content_based else f"deduplication id '{key}'"
    return (
        f"same {why} as message {first[:8]} sent less than 5 minutes ago: accepted and "
        f"dropped, as FIFO {kind}s do"
    )


class _Handles:
    """Which message each receipt handle was handed out for: DeleteMessage and
    ChangeMessageVisibility name only the handle. A bounded cache; a miss looks in the queue."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, handle: str, message_id: str, published_id: str) -> None:
        with self._lock:
            self._ids[handle] = (message_id, published_id)
            if len(self._ids) > _HANDLES_KEPT:
                self._ids.popitem(last=False)

    def ids(self, queue: Queue | None, handle: str) -> tuple[str, str] | None:
        """The (message id, published id) a live handle belongs to, else None."""
        if queue is None or handle in queue.deleted_messages:
            return None
        with self._lock:
            known = self._ids.get(handle)
        if known is not None:
            return known
        for message in list(queue._messages):
            if message.had_receipt_handle(handle):
                return message.id, published_id_of(message)
        return None

    def forget(self, handle: str) -> None:
        with self._lock:
            self._ids.pop(handle, None)

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()


_handles = _Handles()


def published_id_for_receipt(receipt_handle: str) -> str | None:
    """The published id of the message a receive handed out under ``receipt_handle``."""
    with _handles._lock:
        known = _handles._ids.get(receipt_handle)
    return None if known is None else known[1]


def _receive_reporting(stock: Callable[..., list[Message]]) -> Callable[..., list[Message]]:
    @functools.wraps(stock)
    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        received = stock(self, queue_name, *args, **kwargs)
        for message in received:
            published = published_id_of(message)
            if message.receipt_handle is not None:
                _handles.remember(message.receipt_handle, message.id, published)
            _emit(
                EventKind.RECEIVED,
                queue=queue_name,
                message_id=message.id,
                published_id=published,
                detail={"receive_count": message.approximate_receive_count},
            )
        return received

    return receive_message


def _delete_reporting(stock: Callable[[SQSBackend, str, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def delete_message(self: SQSBackend, queue_name: str, receipt_handle: str) -> None:
        ids = _handles.ids(self.queues.get(queue_name), receipt_handle)
        stock(self, queue_name, receipt_handle)
        _handles.forget(receipt_handle)
        if ids is not None:
            _emit(EventKind.ACKNOWLEDGED, queue=queue_name, message_id=ids[0], published_id=ids[1])

    return delete_message


def _visibility_reporting(stock: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        releasing = str(visibility_timeout).strip() == "0"
        ids = _handles.ids(self.queues.get(queue_name), receipt_handle) if releasing else None
        stock(self, queue_name, receipt_handle, visibility_timeout)
        if ids is not None:
            _emit(
                EventKind.RELEASED,
                queue=queue_name,
                message_id=ids[0],
                published_id=ids[1],
                reason="its visibility timeout was set to 0: visible again at once",
            )

    return change_message_visibility


# --- SQS: queues --------------------------------------------------------------------------


def _queue_detail(queue: Queue) -> dict[str, Any]:
    policy = queue.redrive_policy if isinstance(queue.redrive_policy, dict) else {}
    dead_letter = queue.dead_letter_queue
    return {
        "fifo": bool(queue.fifo_queue),
        "dead_letter_queue": dead_letter.name if dead_letter is not None else None,
        "max_receive_count": policy.get("maxReceiveCount") if dead_letter is not None else None,
    }


def _create_reporting(stock: Callable[..., Queue]) -> Callable[..., Queue]:
    @functools.wraps(stock)
    def create_queue(self: SQSBackend, name: str, *args: Any, **kwargs: Any) -> Queue:
        new = name not in self.queues
        queue = stock(self, name, *args, **kwargs)
        if new:
            _emit(EventKind.QUEUE_DECLARED, queue=name, detail=_queue_detail(queue))
        return queue

    return create_queue


def _attributes_reporting(stock: Callable[..., Queue]) -> Callable[..., Queue]:
    @functools.wraps(stock)
    def set_queue_attributes(
        self: SQSBackend, queue_name: str, attributes: dict[str, Any]
    ) -> Queue:
        queue = stock(self, queue_name, attributes)
        if "RedrivePolicy" in attributes:  # its dead-letter queue changed: the topology did
            detail = {**_queue_detail(queue), "changed": sorted(attributes)}
            _emit(EventKind.QUEUE_DECLARED, queue=queue_name, detail=detail)
        return queue

    return set_queue_attributes


def _delete_queue_reporting(stock: Callable[[SQSBackend, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def delete_queue(self: SQSBackend, queue_name: str) -> None:
        queue = self.queues.get(queue_name)
        stock(self, queue_name)
        if queue is not None:
            lost = len(queue._messages)
            _emit(
                EventKind.QUEUE_DELETED,
                queue=queue_name,
                reason=f"its {lost} message(s) were deleted with it" if lost else None,
                detail={"messages": lost},
            )

    return delete_queue


def _purge_reporting(stock: Callable[[SQSBackend, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def purge_queue(self: SQSBackend, queue_name: str) -> None:
        queue = self.queues.get(queue_name)
        before = 0 if queue is None else len(queue._messages)
        stock(self, queue_name)
        _emit(
            EventKind.PURGED,
            queue=queue_name,
            reason=f"PurgeQueue deleted its {before} message(s)",
            detail={"messages": before},
        )

    return purge_queue


# --- SNS: topics and subscriptions ----------------------------------------------------------


def _queue_of(subscription: Subscription) -> str | None:
    if subscription.protocol != "sqs":
        return None
    return str(subscription.endpoint).split(":")[-1]


def _subscription_detail(subscription: Subscription) -> dict[str, Any]:
    attributes = subscription.attributes
    return {
        "protocol": subscription.protocol,
        "endpoint": subscription.endpoint,
        "filter_policy": subscription._filter_policy,
        "filter_policy_scope": attributes.get("FilterPolicyScope"),
        "raw_message_delivery": _is_true(attributes.get("RawMessageDelivery")),
        "dead_letter_queue": _dead_letter_target(subscription),
    }


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _dead_letter_arn(subscription: Subscription) -> str | None:
    """The subscription's RedrivePolicy deadLetterTargetArn (an SQS queue's ARN), if any."""
    text = subscription.attributes.get("RedrivePolicy")
    try:
        target = json.loads(text).get("deadLetterTargetArn") if text else None
    except (ValueError, AttributeError, RecursionError):
        return None
    return target if isinstance(target, str) and target.count(":") >= 5 else None


def _dead_letter_target(subscription: Subscription) -> str | None:
    """The name of the subscription's dead-letter queue, if it has one."""
    arn = _dead_letter_arn(subscription)
    return None if arn is None else arn.split(":")[-1]


def _create_topic_reporting(stock: Callable[..., Topic]) -> Callable[..., Topic]:
    @functools.wraps(stock)
    def create_topic(self: SNSBackend, name: str, *args: Any, **kwargs: Any) -> Topic:
        new = make_arn_for_topic(self.account_id, name, self.region_name) not in self.topics
        topic = stock(self, name, *args, **kwargs)
        if new:
            detail = {"arn": topic.arn, "fifo": _is_true(topic.fifo_topic)}
            _emit(EventKind.TOPIC_DECLARED, topic=topic.name, detail=detail)
        return topic

    return create_topic


def _delete_topic_reporting(stock: Callable[[SNSBackend, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def delete_topic(self: SNSBackend, arn: str) -> None:
        topic = self.topics.get(arn)
        subscriptions = [s for s in list(self.subscriptions.values()) if s.topic is topic]
        stock(self, arn)
        if topic is None or arn in self.topics:
            return
        for subscription in subscriptions:
            _report_unsubscribed(subscription, "its topic was deleted")
        _emit(EventKind.TOPIC_DELETED, topic=topic.name, detail={"arn": arn})

    return delete_topic


def _report_unsubscribed(subscription: Subscription, reason: str | None = None) -> None:
    _emit(
        EventKind.UNSUBSCRIBED,
        topic=subscription.topic.name,
        queue=_queue_of(subscription),
        reason=reason,
        detail={"arn": subscription.arn, "protocol": subscription.protocol},
    )


_subscribing: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "melange_lab_subscribing", default=False
)


def _subscribe_reporting(stock: Callable[[SNSResponse], Any]) -> Callable[[SNSResponse], Any]:
    """Subscribe with its attributes is one step on SNS: reported once they are set, and an
    attribute SNS refuses (a bad FilterPolicy) leaves no subscription behind, as on SNS
    (moto would keep the subscription it created before the refusal)."""

    @functools.wraps(stock)
    def subscribe(self: SNSResponse) -> Any:
        key = (
            self._get_param("TopicArn"),
            self._get_param("Endpoint"),
            self._get_param("Protocol"),
        )
        existing = self.backend._find_subscription(*key)
        token = _subscribing.set(True)
        try:
            answer = stock(self)
        except Exception:
            made = None if existing is not None else self.backend._find_subscription(*key)
            if made is not None:
                self.backend.subscriptions.pop(made.arn, None)
            raise
        finally:
            _subscribing.reset(token)
        made = self.backend._find_subscription(*key)
        if existing is None and made is not None:
            _emit(
                EventKind.SUBSCRIBED,
                topic=made.topic.name,
                queue=_queue_of(made),
                detail=_subscription_detail(made),
            )
        return answer

    return subscribe


def _subscription_change_reporting(stock: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def set_subscription_attributes(self: SNSBackend, arn: str, name: str, value: Any) -> None:
        stock(self, arn, name, value)
        subscription = self.subscriptions.get(arn)
        if subscription is not None and not _subscribing.get():
            _emit(
                EventKind.SUBSCRIBED,
                topic=subscription.topic.name,
                queue=_queue_of(subscription),
                reason=f"its {name} changed",
                detail={**_subscription_detail(subscription), "changed": name},
            )

    return set_subscription_attributes


def _unsubscribe_reporting(stock: Callable[[SNSBackend, str], None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def unsubscribe(self: SNSBackend, subscription_arn: str) -> None:
        subscription = self.subscriptions.get(subscription_arn)
        stock(self, subscription_arn)
        if subscription is not None:
            _report_unsubscribed(subscription)

    return unsubscribe


# --- installing -----------------------------------------------------------------------------

_EVENT_HOOKS: list[_Layer] = [
    (Queue, "add_message", _add_reporting),
    (SQSBackend, "receive_message", _note_receiving),  # who is receiving, for DLQ moves
    (SQSBackend, "send_message", _send_reporting),
    (SQSBackend, "receive_message", _receive_reporting),
    (SQSBackend, "delete_message", _delete_reporting),
    (SQSBackend, "change_message_visibility", _visibility_reporting),
    (SQSBackend, "create_queue", _create_reporting),
    (SQSBackend, "set_queue_attributes", _attributes_reporting),
    (SQSBackend, "delete_queue", _delete_queue_reporting),
    (SQSBackend, "purge_queue", _purge_reporting),
    (SNSBackend, "create_topic", _create_topic_reporting),
    (SNSBackend, "delete_topic", _delete_topic_reporting),
    (SNSBackend, "unsubscribe", _unsubscribe_reporting),
    (SNSBackend, "set_subscription_attributes", _subscription_change_reporting),
    (SNSResponse, "subscribe", _subscribe_reporting),
]


def install_broker_events(
    events: EventLog, last_failure: Callable[[str], str | None] | None = None
) -> None:
    """Report every change of moto's SQS/SNS state on ``events`` from now on.

    ``last_failure(message_id)`` names why a message last failed, for its ``dead_lettered``.
    """
    global _sink
    with _lock:
        _sink = _Sink(events, last_failure or (lambda _: None))
        _set_feature("broker_events", _EVENT_HOOKS)


def uninstall_broker_events() -> None:
    """Stop reporting; moto's methods are its own again (apart from other fixes)."""
    global _sink
    with _lock:
        _set_feature("broker_events", None)
        _sink = None
        _handles.clear()
