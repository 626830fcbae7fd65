"""SNS delivers each subscription on its own, and the broker reports each copy's fate.

moto 5.2's ``Topic.publish`` loops over the subscriptions and lets the first error (a deleted
queue, a message larger than one queue's MaximumMessageSize) end the whole Publish half-way,
after some queues got their copy and before others did. SNS delivers to every subscription
independently: the publish succeeds, that one delivery fails (and goes to the subscription's
RedrivePolicy dead-letter queue, if it has one), the others arrive.

Per publish and subscription (moto 5.2.1 to 5.2.6: ``Topic.publish``,
``Subscription.publish``, ``FilterPolicyMatcher.matches``, fingerprinted in ``versions.py``):
the filter policy is evaluated once, by the lab's SNS rules, at publish time (``filtered``
with the reason from that evaluation); a copy that passes travels now or after the broker's
``delivery_latency`` (``delivery``), is stored by moto's own delivery code (envelope or raw,
attributes), which reads the decision instead of evaluating the policy again, and is reported
as ``delivered`` when it enters its queue (``arrivals``) or ``delivery_failed``.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import moto.sns.models as sns_models
from moto.sns.models import Subscription, Topic
from moto.sns.utils import FilterPolicyMatcher
from moto.sqs.models import sqs_backends

from melange_lab.events import EventKind
from melange_lab.moto_internals import delivery
from melange_lab.moto_internals.arrivals import Arrival, current_arrival, manifest_of
from melange_lab.moto_internals.event_sink import emit
from melange_lab.moto_internals.fifo import DuplicatePublish
from melange_lab.moto_internals.filter_policies import Body, mismatch, read_body
from melange_lab.moto_internals.message_events import duplicate_reason
from melange_lab.moto_internals.patching import _Layer, _set_feature
from melange_lab.moto_internals.signing import published_at
from melange_lab.moto_internals.topic_events import dead_letter_arn, is_true, queue_of


@dataclass
class _TopicPublish:
    """One Publish on its way: announced as ``published`` before its first subscription."""

    topic: Topic
    detail: dict[str, Any]
    announced: bool = False
    # the envelope's Timestamp for every copy: the publish time, read once
    timestamp: str = field(default_factory=lambda: _now_iso())
    _body: Body | None = None

    def body(self, message: str) -> Body:
        """The body as MessageBody policies read it: decoded once for every subscription."""
        if self._body is None:
            self._body = read_body(message)
        return self._body

    def announce(self, message_id: str) -> None:
        if not self.announced:
            self.announced = True
            emit(
                EventKind.PUBLISHED,
                topic=self.topic.name,
                message_id=message_id,
                published_id=message_id,
                detail=self.detail,
            )


def _now_iso() -> str:
    now: Any = vars(sns_models)["iso_8601_datetime_with_milliseconds"]  # the broker's clock
    return str(now())


_publishing: contextvars.ContextVar[_TopicPublish | None] = contextvars.ContextVar(
    "melange_lab_publishing", default=None
)
# Set while moto's own Subscription.publish runs for a copy whose filter policy the fan-out
# already evaluated: moto's second look at the policy then reads that decision.
_decided: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "melange_lab_filter_decided", default=False
)


def _topic_publish_reporting(stock: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(stock)
    def publish(self: Topic, message: str, *args: Any, **kwargs: Any) -> str:
        detail = {
            "manifest": manifest_of(kwargs.get("message_attributes")),
            "subject": kwargs.get("subject"),
            "message_group_id": kwargs.get("group_id"),
        }
        publishing = _TopicPublish(self, detail)
        token = _publishing.set(publishing)
        try:
            answer = stock(self, message, *args, **kwargs)
        finally:
            _publishing.reset(token)
        if isinstance(answer, DuplicatePublish):
            first = answer.first_message_id
            emit(
                EventKind.DEDUPLICATED,
                topic=self.name,
                message_id=first,
                published_id=first,
                reason=duplicate_reason(
                    first, answer.deduplication_id, answer.content_based, "topic"
                ),
                detail={
                    "deduplication_id": answer.deduplication_id,
                    "content_based": answer.content_based,
                    "answered_message_id": str(answer),
                    "manifest": detail["manifest"],
                },
            )
        else:
            publishing.announce(answer)
        return answer

    return publish


def _decided_filter(stock: Callable[..., bool]) -> Callable[..., bool]:
    @functools.wraps(stock)
    def matches(self: FilterPolicyMatcher, *args: Any, **kwargs: Any) -> bool:
        return True if _decided.get() else stock(self, *args, **kwargs)

    return matches


def filter_reason(subscription: Subscription, attributes: Any, message: str | Body) -> str | None:
    """The one evaluation of a subscription's filter policy for one publish: why it keeps the
    message out, or None when the message passes (or there is no policy). ``message`` as
    published, or its body already read for MessageBody policies."""
    matcher = subscription._filter_policy_matcher
    if matcher is None:
        return None
    scope = matcher.filter_policy_scope or "MessageAttributes"
    return mismatch(matcher.filter_policy, scope, attributes, message)


def _fan_out_reporting(stock: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(stock)
    def publish(self: Subscription, message: str, message_id: str, **kwargs: Any) -> None:
        publishing = _publishing.get()
        if publishing is not None:
            publishing.announce(message_id)
        published = publishing.timestamp if publishing is not None else _now_iso()
        copy = _Copy(stock, self, message, message_id, kwargs, published)
        if self.protocol != "sqs":
            copy.deliver_elsewhere()
            return
        body = publishing.body(message) if publishing is not None else message
        reason = filter_reason(self, kwargs.get("message_attributes"), body)
        if reason is not None:
            emit(
                EventKind.FILTERED,
                topic=self.topic.name,
                queue=copy.queue,
                published_id=message_id,
                reason=reason,
                detail={
                    "filter_policy": self._filter_policy,
                    "filter_policy_scope": self.attributes.get("FilterPolicyScope"),
                },
            )
            return
        if not delivery.schedule_delivery(copy.deliver, copy.drop):
            copy.deliver()

    return publish


@dataclass
class _Copy:
    """One subscription's copy of one publish, from its filter decision to its queue."""

    stock: Callable[..., None]
    subscription: Subscription
    message: str
    message_id: str
    options: dict[str, Any]
    published_at: str  # the envelope's Timestamp

    @property
    def queue(self) -> str | None:
        return queue_of(self.subscription)

    @property
    def topic(self) -> str:
        return str(self.subscription.topic.name)

    def deliver(self) -> None:
        """moto's own delivery (envelope or raw, attributes), reported as it lands; a failure
        is this subscription's alone."""
        raw = is_true(self.subscription.attributes.get("RawMessageDelivery"))
        arrival = Arrival(
            EventKind.DELIVERED,
            topic=self.topic,
            published_id=self.message_id,
            detail={
                "raw_message_delivery": raw,
                "manifest": manifest_of(self.options.get("message_attributes")),
            },
        )
        decided, arriving = _decided.set(True), current_arrival.set(arrival)
        stamped = published_at.set(self.published_at)
        try:
            self.stock(self.subscription, self.message, self.message_id, **self.options)
        # SNS delivers to each subscription on its own: whatever one queue answers (gone, too
        # small for the message, ...), the others get their copies and the publish succeeds.
        except Exception as error:
            self._failed(_error_text(error), arrival.sent)
        finally:
            published_at.reset(stamped)
            current_arrival.reset(arriving)
            _decided.reset(decided)

    def deliver_elsewhere(self) -> None:
        """HTTP, Lambda, ... subscriptions: moto's delivery, a failure reported, not raised."""
        try:
            self.stock(self.subscription, self.message, self.message_id, **self.options)
        except Exception as error:
            self._failed(_error_text(error), None)

    def drop(self, reason: str) -> None:
        """Reports the copy as never delivered (the broker stopped while it travelled)."""
        self._failed(reason, None, to_dead_letters=False)

    def _failed(self, why: str, sent: dict[str, Any] | None, to_dead_letters: bool = True) -> None:
        arn = dead_letter_arn(self.subscription) if to_dead_letters else None
        target = None if arn is None else arn.split(":")[-1]
        reason = f"could not deliver to {self._endpoint_text()}: {why}"
        moved: str | None = None
        if arn is not None and target is not None and sent is not None:
            moved = self._to_dead_letter_queue(arn, sent, why)
            reason += (
                f"; the copy went to the subscription's dead-letter queue '{target}'"
                if moved is None
                else f"; its dead-letter queue '{target}' refused it too: {moved}"
            )
        elif self.subscription.protocol == "sqs" and to_dead_letters:
            reason += "; the other subscriptions got theirs (SNS keeps this subscription)"
        emit(
            EventKind.DELIVERY_FAILED,
            topic=self.topic,
            queue=self.queue,
            published_id=self.message_id,
            reason=reason,
            detail={
                "dead_letter_queue": target if moved is None and sent is not None else None,
                "protocol": self.subscription.protocol,
                "endpoint": self.subscription.endpoint,
            },
        )

    def _endpoint_text(self) -> str:
        return f"queue '{self.queue}'" if self.queue else str(self.subscription.endpoint)

    def _to_dead_letter_queue(self, arn: str, sent: dict[str, Any], why: str) -> str | None:
        """Stores what the failed delivery carried in the subscription's dead-letter queue, as
        SNS does; None when stored, else why not."""
        _, _, _, region, account, target = arn.split(":", 5)
        backend = sqs_backends[account][region]
        arrival = Arrival(
            EventKind.DEAD_LETTERED,
            topic=self.topic,
            published_id=self.message_id,
            queue=self.queue,
            entered_as="dead_letter_queue",
            reason=f"SNS could not deliver it ({why}); the subscription's RedrivePolicy",
            detail={"subscription": self.subscription.arn},
        )
        token = current_arrival.set(arrival)
        try:
            backend.send_message(target, validate_group_id=False, **sent)
        except Exception as error:
            return _error_text(error)
        finally:
            current_arrival.reset(token)
        return None


def _error_text(error: Exception) -> str:
    code = getattr(error, "code", None) or getattr(error, "error_type", None)
    text = str(getattr(error, "message", "") or error) or type(error).__name__
    if code == "AWS.SimpleQueueService.NonExistentQueue":
        return "the queue does not exist (deleted after it was subscribed)"
    return f"{text} ({code})" if code else text


_FAN_OUT: list[_Layer] = [
    (Topic, "publish", _topic_publish_reporting),
    (Subscription, "publish", _fan_out_reporting),
    (FilterPolicyMatcher, "matches", _decided_filter),
]


def install_fan_out() -> None:
    """Each subscription delivered (or failed, or filtered) on its own, and reported."""
    _set_feature("fan_out", _FAN_OUT)


def uninstall_fan_out() -> None:
    _set_feature("fan_out", None)
