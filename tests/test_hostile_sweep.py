"""A sweep: every parameter of the public calls, given each kind of bad value.

Whatever the value, the call either works (some of these values are valid somewhere) or
raises a ``MelangeLabError``; never a bare ``TypeError``/``KeyError`` from inside the lab.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from melange_lab import (
    MelangeLabError,
    MessageDispatcher,
    QueuePublisher,
    SimulatedBroker,
    TopicPublisher,
)
from melange_lab.serializers import SerializerRegistry

BAD_VALUES: list[Any] = [
    None,
    -1,
    0,
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    "x",
    "",
    "5",
    True,
    [],
    {},
    object(),
    "a" * 300,
    b"x",
    10**30,
]

Target = Callable[..., Any]


def _targets(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> dict[str, tuple[Target, dict[str, Any], list[str]]]:
    """name -> (call, arguments that work, parameters to spoil one at a time)."""
    backend = broker.backend
    queue = backend.get_queue("q")
    return {
        "declare_queue": (
            backend.declare_queue,
            {"queue_name": "z"},
            [
                "queue_name",
                "visibility_timeout",
                "delay_seconds",
                "message_retention_period",
                "max_receive_count",
                "dead_letter_queue_name",
                "raw_message_delivery",
                "content_based_deduplication",
                "filter_events",
            ],
        ),
        "declare_topic": (backend.declare_topic, {"topic_name": "zz"}, ["topic_name"]),
        "get_queue": (backend.get_queue, {"queue_name": "q"}, ["queue_name"]),
        "retrieve_messages": (
            backend.retrieve_messages,
            {"queue": queue},
            ["queue", "max_messages", "wait_time_seconds", "visibility_timeout"],
        ),
        "QueuePublisher.publish": (
            QueuePublisher(registry, backend).publish,
            {"queue_name": "q", "data": {"a": 1}},
            ["queue_name", "delay_seconds", "message_group_id", "message_deduplication_id"],
        ),
        "QueuePublisher.publish FIFO": (
            QueuePublisher(registry, backend).publish,
            {"queue_name": "f.fifo", "data": {"a": 1}, "message_group_id": "g"},
            ["message_group_id", "message_deduplication_id"],
        ),
        "TopicPublisher.publish": (
            TopicPublisher(registry, backend).publish,
            {"topic_name": "t", "data": {"a": 1}},
            ["subject", "message_attributes", "message_structure", "message_group_id"],
        ),
        "consume_loop": (
            MessageDispatcher(registry, backend=backend).consume_loop,
            {"queue_name": "q"},
            ["queue_name", "max_messages", "time_limit", "on_exception", "after_consume"],
        ),
        "consume_once": (
            MessageDispatcher(registry, backend=backend).consume_once,
            {"queue_name": "q"},
            ["max_messages"],
        ),
        "redrive": (broker.redrive, {"dead_letter_queue": "q-dlq"}, ["dead_letter_queue"]),
        "faults": (
            broker.faults,
            {},
            ["duplicate_rate", "reorder_rate", "crash_before_ack_rate", "seed"],
        ),
        "clock.advance": (broker.clock.advance, {"seconds": 1}, ["seconds"]),
        "SimulatedBroker": (
            SimulatedBroker,
            {"start": False},
            ["region", "clock", "max_receive_count", "max_events"],
        ),
    }


@pytest.fixture(scope="module")
def swept() -> Iterator[SimulatedBroker]:
    broker = SimulatedBroker(clock="manual")
    try:
        topic = broker.backend.declare_topic("t")
        broker.backend.declare_queue("q", topic, dead_letter_queue_name="q-dlq")
        broker.backend.declare_queue("f.fifo")
        yield broker
    finally:
        broker.stop()


@pytest.mark.parametrize(
    "target",
    [
        "declare_queue",
        "declare_topic",
        "get_queue",
        "retrieve_messages",
        "QueuePublisher.publish",
        "QueuePublisher.publish FIFO",
        "TopicPublisher.publish",
        "consume_loop",
        "consume_once",
        "redrive",
        "faults",
        "clock.advance",
        "SimulatedBroker",
    ],
)
def test_every_bad_value_is_accepted_or_refused_with_a_lab_error(
    swept: SimulatedBroker, registry: SerializerRegistry, target: str
) -> None:
    assert swept.running  # only this module's tests use it
    call, arguments, parameters = _targets(swept, registry)[target]
    raw: list[str] = []
    for parameter in parameters:
        for value in BAD_VALUES:
            try:
                call(**{**arguments, parameter: value})
            except MelangeLabError:
                pass
            except Exception as error:  # what this test is looking for
                raw.append(f"{parameter}={value!r:.40}: {type(error).__name__}: {error}")
    swept.clear_faults()
    assert raw == []
    assert swept.running  # no refused SimulatedBroker(...) replaced it
