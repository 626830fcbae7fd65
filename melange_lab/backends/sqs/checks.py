"""The SQS backend's argument checks: pure functions that refuse a bad value, naming it and
the fix, before any request is made."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from melange_lab import limits
from melange_lab.arguments import flag
from melange_lab.errors import (
    InvalidFilterPolicy,
    InvalidParameter,
    MelangeLabError,
    UnknownOption,
    quoted,
)
from melange_lab.filter_policies import FilterPolicy, FilterPolicyScope
from melange_lab.models import Message, MessageDto, QueueWrapper, TopicWrapper
from melange_lab.names import check_queue_name

QUEUE_OPTIONS = (
    "dead_letter_queue_name",
    "filter_events",
    "filter_policy",
    "filter_policy_scope",
    "raw_message_delivery",
    "max_receive_count",
    "content_based_deduplication",
    "visibility_timeout",
    "delay_seconds",
    "message_retention_period",
    "dead_letter_retention_period",
)
SEND_OPTIONS = ("message_group_id", "message_deduplication_id", "delay_seconds")
TOPIC_OPTIONS = (
    "subject",
    "message_attributes",
    "message_structure",
    "message_group_id",
    "message_deduplication_id",
)


def _check_kind(parameter: str, value: object, kind: type, allowed: str, fix: str = "") -> None:
    if not isinstance(value, kind):
        raise InvalidParameter(parameter, value, allowed, fix)


def check_topic(topic: object) -> None:
    _check_kind(
        "topic",
        topic,
        TopicWrapper,
        "a topic from backend.declare_topic(name)",
        "e.g. backend.declare_topic('orders').",
    )


def check_message(message: object) -> None:
    _check_kind(
        "message",
        message,
        Message,
        "a Message (publishers make them: QueuePublisher(registry, backend).publish(...))",
    )


def check_queue(queue: object) -> None:
    _check_kind(
        "queue",
        queue,
        QueueWrapper,
        "a queue from backend.get_queue(name)",
        "e.g. backend.get_queue('orders').",
    )


def check_message_dtos(message_dtos: Sequence[object]) -> None:
    for dto in message_dtos:
        _check_kind(
            "message_dtos", dto, MessageDto, "a list of MessageDto(message, group_id, dedup_id)"
        )


def check_unknown(
    function: str, given: Iterable[str], known: Iterable[str], listed: Iterable[str]
) -> None:
    """Refuses options not in ``known``, listing ``listed`` as the ones ``function`` takes."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise UnknownOption(function, f"unknown option(s) {quoted(unknown)}", tuple(listed))


def received_metadata(message: Message) -> dict[str, Any]:
    """The received message's metadata (its queue URL and receipt handle); refuses a message
    that was never received, which cannot be acknowledged or released."""
    check_message(message)
    metadata = message.metadata
    if not isinstance(metadata, dict) or "ReceiptHandle" not in metadata:
        raise MelangeLabError(
            f"Message {message.message_id} was not received from a queue, so it cannot be "
            "acknowledged or released: only messages from retrieve_messages() can."
        )
    return metadata


def check_queue_declaration(
    queue_name: str,
    *topics_to_bind: object,
    dead_letter_queue_name: str | None = None,
    filter_events: Sequence[str] | None = None,
    filter_policy: dict[str, Any] | str | None = None,
    filter_policy_scope: FilterPolicyScope | str | None = None,
    **options: Any,
) -> FilterPolicy | None:
    """Refuses every value ``declare_queue`` would refuse, creating nothing; returns the
    filter policy it would subscribe with (callers that create topics first check here, as
    ``backend.check_queue_declaration``)."""
    check_unknown("declare_queue", options, QUEUE_OPTIONS, QUEUE_OPTIONS)
    check_queue_name(queue_name)
    values: dict[str, object] = {
        "raw_message_delivery": False,
        "max_receive_count": None,
        "content_based_deduplication": None,
        "visibility_timeout": None,
        "delay_seconds": None,
        "message_retention_period": None,
        "dead_letter_retention_period": None,
        **options,
    }
    _check_queue_options(queue_name, topics_to_bind, dead_letter_queue_name, **values)
    policy = policy_from(filter_events, filter_policy, filter_policy_scope)
    if dead_letter_queue_name is not None:
        check_queue_name(dead_letter_queue_name)
        if dead_letter_queue_name.endswith(".fifo") != queue_name.endswith(".fifo"):
            raise MelangeLabError(
                f"Queue '{queue_name}' and its dead-letter queue '{dead_letter_queue_name}' "
                "must both be FIFO or both be standard: rename one of them."
            )
    return policy


def _check_queue_options(
    queue_name: str,
    topics_to_bind: Sequence[object],
    dead_letter_queue_name: object,
    **options: object,
) -> None:
    """Refuses every value SQS would refuse, before anything is created."""
    for topic in topics_to_bind:
        if not isinstance(topic, TopicWrapper):
            raise InvalidParameter(
                "topics_to_bind",
                topic,
                "topics returned by backend.declare_topic(...)",
                f"e.g. declare_queue('{queue_name}', backend.declare_topic('orders')), or "
                "MessagingBackendFactory(backend).init_queue(name, ['orders']) with names.",
            )
    if dead_letter_queue_name is not None and dead_letter_queue_name == queue_name:
        raise InvalidParameter(
            "dead_letter_queue_name",
            dead_letter_queue_name,
            "a queue other than the queue itself (a queue cannot be its own dead-letter "
            "queue: a failing message would never leave it)",
            f"e.g. dead_letter_queue_name='{queue_name.removesuffix('.fifo')}-dlq"
            f"{'.fifo' if queue_name.endswith('.fifo') else ''}'.",
        )
    flag("raw_message_delivery", options["raw_message_delivery"])
    limits.check_content_deduplication("queue", queue_name, options["content_based_deduplication"])
    for name, limit in (
        ("max_receive_count", limits.MAX_RECEIVE_COUNT),
        ("visibility_timeout", limits.VISIBILITY_TIMEOUT),
        ("delay_seconds", limits.DELAY_SECONDS),
        ("message_retention_period", limits.RETENTION_PERIOD),
        ("dead_letter_retention_period", limits.RETENTION_PERIOD),
    ):
        if options[name] is not None:
            limit.check(name, options[name])


def policy_from(
    filter_events: Sequence[str] | None,
    filter_policy: dict[str, Any] | str | None,
    scope: FilterPolicyScope | str | None,
) -> FilterPolicy | None:
    """The filter policy melange's ``filter_events`` or the lab's ``filter_policy`` asks for."""
    if filter_events is not None and filter_policy is not None:
        raise InvalidFilterPolicy(
            filter_policy,
            "give either filter_events (melange's manifest filter) or filter_policy, not both",
        )
    if filter_events is not None:
        if isinstance(filter_events, str):
            raise InvalidFilterPolicy(
                filter_events, f"filter_events must be a list, e.g. ['{filter_events}']"
            )
        if not isinstance(filter_events, (list, tuple, set, frozenset)) or not all(
            isinstance(manifest, str) for manifest in filter_events
        ):
            raise InvalidFilterPolicy(
                filter_events, "filter_events must be a list of manifests (strings)"
            )
        return FilterPolicy.for_manifests(list(filter_events))
    if filter_policy is not None:
        return FilterPolicy.parse(filter_policy, scope)
    return None


def check_redrive(dead_letter_queue: QueueWrapper, to_queue: QueueWrapper | None) -> None:
    """Refuses a redrive of something other than queues, or of a dead-letter queue into
    itself."""
    for parameter, value in (("dead_letter_queue", dead_letter_queue), ("to_queue", to_queue)):
        if value is not None and not isinstance(value, QueueWrapper):
            raise InvalidParameter(
                parameter,
                value,
                "a queue from backend.get_queue(name)",
                "Or use broker.redrive(name).",
            )
    if to_queue is not None and to_queue.name == dead_letter_queue.name:
        raise InvalidParameter(
            "to_queue",
            to_queue.name,
            "a queue other than the dead-letter queue being redriven (moving its messages "
            "into itself would never end)",
        )
