"""The one package that touches moto's internals; everything else talks to moto through boto3.

Why it exists: a teaching broker must show what boto3 cannot (a queue's messages without
receiving them, the moment moto moves a message to a dead-letter queue inside ReceiveMessage),
must run moto on the broker's clock instead of the kernel's, must not slow to a crawl as a
queue fills or a topic fans out, and must follow AWS where moto does not.

One module per fix: ``clock``, ``fast_counts`` (depth-independent counts), ``fifo`` (group
locks, the 5-minute deduplication window), ``signing`` (SignatureVersion 1 and 2),
``filter_policies`` (SNS's grammar and matching), ``dead_letters`` (who is receiving, for DLQ
moves, and DeadLetterQueueSourceArn), ``message_size`` (UTF-8 bytes with attributes), ``sqs_checks``
(ranges and contents SQS refuses), ``sns_checks`` (Publish and GetTopicAttributes answers),
``delivery`` (raw Binary attributes, delivery latency), ``event_hooks`` (installs the broker's
events, reported where moto's state changes: ``event_sink``, ``arrivals``, ``message_events``,
``receipts``, ``queue_events``, ``topic_events``, ``retention``), ``fan_out`` (SNS delivers,
filters and fails each subscription on its own), ``message_moves`` (StartMessageMoveTask:
redrive), ``trace_headers`` (X-Ray trace headers carried), ``service_routing`` (SNS or SQS,
for a request whose signature does not say),
``http_server`` (moto's server on the same state, for ``broker.serve()``), ``look_inside``;
``patching`` installs and undoes them in layers, ``versions`` checks the moto underneath.
``install_aws_fidelity`` installs every fix that makes moto follow AWS where it does not. The
original fixes were checked against moto 5.2.1 and 5.2.5 (same source in both); the
AWS-fidelity fixes were fingerprinted on moto 5.2.5; the event hooks, the fan-out and the
message moves on 5.2.6 and 5.2.1 (``purge_queue`` differs there, harmlessly).
``check_supported`` fingerprints that source, so a newer moto fails loudly instead of
misbehaving quietly. Every install is undone by its ``uninstall_*``.
"""

from __future__ import annotations

from collections.abc import Callable

from melange_lab.errors import QueueNotFound, UnsupportedMotoVersion
from melange_lab.moto_internals.batches import install_batches, uninstall_batches
from melange_lab.moto_internals.clock import install_clock, uninstall_clock
from melange_lab.moto_internals.dead_letters import (
    install_dead_letter_source,
    uninstall_dead_letter_source,
)
from melange_lab.moto_internals.delivery import (
    deliver_due,
    drop_pending,
    install_delivery_latency,
    install_raw_binary_fix,
    next_delivery_due,
    pending_deliveries,
    uninstall_delivery_latency,
    uninstall_raw_binary_fix,
)
from melange_lab.moto_internals.envelopes import install_envelopes, uninstall_envelopes
from melange_lab.moto_internals.error_wire import install_error_wire, uninstall_error_wire
from melange_lab.moto_internals.event_hooks import install_broker_events, uninstall_broker_events
from melange_lab.moto_internals.fan_out import install_fan_out, uninstall_fan_out
from melange_lab.moto_internals.fast_counts import install_fast_counts, uninstall_fast_counts
from melange_lab.moto_internals.fifo import (
    install_fifo_dedup_window,
    install_fifo_group_fix,
    uninstall_fifo_dedup_window,
    uninstall_fifo_group_fix,
)
from melange_lab.moto_internals.fifo_receive import install_fifo_receive, uninstall_fifo_receive
from melange_lab.moto_internals.fifo_topics import install_fifo_topics, uninstall_fifo_topics
from melange_lab.moto_internals.filter_policies import (
    install_filter_policies,
    matches,
    mismatch,
    uninstall_filter_policies,
    validation_problem,
)
from melange_lab.moto_internals.look_inside import (
    StoredMessage,
    dead_letter_target,
    peek_messages,
    peek_page,
    queue_counts,
)
from melange_lab.moto_internals.message_moves import (
    install_message_moves,
    redrive,
    uninstall_message_moves,
)
from melange_lab.moto_internals.message_size import install_message_size, uninstall_message_size
from melange_lab.moto_internals.patching import _FEATURE_ORDER, _features, _originals
from melange_lab.moto_internals.receipts import published_id_for_receipt
from melange_lab.moto_internals.retention import expire_messages
from melange_lab.moto_internals.signing import install_fast_signing, uninstall_fast_signing
from melange_lab.moto_internals.sixty_seconds import (
    install_sixty_seconds,
    uninstall_sixty_seconds,
)
from melange_lab.moto_internals.sns_checks import install_sns_checks, uninstall_sns_checks
from melange_lab.moto_internals.sqs_checks import install_sqs_checks, uninstall_sqs_checks
from melange_lab.moto_internals.sqs_requests import install_sqs_requests, uninstall_sqs_requests
from melange_lab.moto_internals.subscriptions import (
    install_subscription_checks,
    uninstall_subscription_checks,
)
from melange_lab.moto_internals.topics import install_topic_checks, uninstall_topic_checks
from melange_lab.moto_internals.trace_headers import (
    install_trace_headers,
    uninstall_trace_headers,
)
from melange_lab.moto_internals.versions import (
    _FINGERPRINTS,
    _PATCHED_GLOBALS,
    SUPPORTED_MOTO,
    check_supported,
)


def install_aws_fidelity() -> None:
    """Every fix that makes moto follow AWS's documented behaviour where it does not."""
    install_fifo_group_fix()
    install_fifo_receive()
    install_fifo_dedup_window()
    install_fifo_topics()
    install_envelopes()
    install_message_size()
    install_sqs_checks()
    install_sqs_requests()
    install_trace_headers()
    install_batches()
    install_sixty_seconds()
    install_sns_checks()
    install_error_wire()
    install_filter_policies()
    install_subscription_checks()
    install_topic_checks()
    install_raw_binary_fix()
    install_dead_letter_source()
    install_fan_out()
    install_message_moves()


def install_lab_layers(
    now: Callable[[], float], stands_still: Callable[[], bool] = lambda: False
) -> None:
    """Every layer a ``SimulatedBroker`` puts into moto: its clock (``now``; ``stands_still``
    while it is a manual clock), the speed fixes and the AWS-fidelity fixes. moto's own test
    suite runs with exactly these (tests/suites/plugins/melange_lab_layers.py), so what it
    checks is what the lab runs."""
    install_clock(now, stands_still)
    install_fifo_group_fix()
    install_fast_counts()
    install_fast_signing()
    install_aws_fidelity()


def uninstall_lab_layers() -> None:
    """Take out everything ``install_lab_layers`` put in."""
    uninstall_aws_fidelity()
    uninstall_fast_counts()
    uninstall_fast_signing()
    uninstall_fifo_group_fix()
    uninstall_clock()


def uninstall_aws_fidelity() -> None:
    """Put moto's own behaviour back for every fix ``install_aws_fidelity`` installed."""
    uninstall_message_moves()
    uninstall_fan_out()
    uninstall_dead_letter_source()
    uninstall_raw_binary_fix()
    uninstall_topic_checks()
    uninstall_subscription_checks()
    uninstall_filter_policies()
    uninstall_error_wire()
    uninstall_sns_checks()
    uninstall_sixty_seconds()
    uninstall_batches()
    uninstall_trace_headers()
    uninstall_sqs_requests()
    uninstall_sqs_checks()
    uninstall_message_size()
    uninstall_envelopes()
    uninstall_fifo_topics()
    uninstall_fifo_dedup_window()
    uninstall_fifo_receive()
    uninstall_fifo_group_fix()


__all__ = [
    "SUPPORTED_MOTO",
    "_FEATURE_ORDER",
    "_FINGERPRINTS",
    "_PATCHED_GLOBALS",
    "QueueNotFound",
    "StoredMessage",
    "UnsupportedMotoVersion",
    "_features",
    "_originals",
    "check_supported",
    "dead_letter_target",
    "deliver_due",
    "drop_pending",
    "expire_messages",
    "install_aws_fidelity",
    "install_batches",
    "install_broker_events",
    "install_clock",
    "install_dead_letter_source",
    "install_delivery_latency",
    "install_envelopes",
    "install_error_wire",
    "install_fan_out",
    "install_fast_counts",
    "install_fast_signing",
    "install_fifo_dedup_window",
    "install_fifo_group_fix",
    "install_fifo_receive",
    "install_fifo_topics",
    "install_filter_policies",
    "install_lab_layers",
    "install_message_moves",
    "install_message_size",
    "install_raw_binary_fix",
    "install_sixty_seconds",
    "install_sns_checks",
    "install_sqs_checks",
    "install_sqs_requests",
    "install_subscription_checks",
    "install_topic_checks",
    "install_trace_headers",
    "matches",
    "mismatch",
    "next_delivery_due",
    "peek_messages",
    "peek_page",
    "pending_deliveries",
    "published_id_for_receipt",
    "queue_counts",
    "redrive",
    "uninstall_aws_fidelity",
    "uninstall_batches",
    "uninstall_broker_events",
    "uninstall_clock",
    "uninstall_dead_letter_source",
    "uninstall_delivery_latency",
    "uninstall_envelopes",
    "uninstall_error_wire",
    "uninstall_fan_out",
    "uninstall_fast_counts",
    "uninstall_fast_signing",
    "uninstall_fifo_dedup_window",
    "uninstall_fifo_group_fix",
    "uninstall_fifo_receive",
    "uninstall_fifo_topics",
    "uninstall_filter_policies",
    "uninstall_lab_layers",
    "uninstall_message_moves",
    "uninstall_message_size",
    "uninstall_raw_binary_fix",
    "uninstall_sixty_seconds",
    "uninstall_sns_checks",
    "uninstall_sqs_checks",
    "uninstall_sqs_requests",
    "uninstall_subscription_checks",
    "uninstall_topic_checks",
    "uninstall_trace_headers",
    "validation_problem",
]
