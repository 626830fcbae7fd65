"""Hostile input to ``MessagingBackendFactory.init_queue`` and ``declare_queue``: every value is
checked before any topic or queue exists, so a refused call leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from melange_lab import SimulatedBroker
from melange_lab.backends.factory import MessagingBackendFactory
from melange_lab.errors import InvalidParameter, MelangeLabError


@pytest.fixture
def broker() -> Iterator[SimulatedBroker]:
    simulated = SimulatedBroker(clock="manual")
    try:
        yield simulated
    finally:
        simulated.stop()


def _state(broker: SimulatedBroker) -> tuple[list[str], list[str], int]:
    return (
        sorted(q.name for q in broker.queues()),
        sorted(t.name for t in broker.topics()),
        len(broker.events),
    )


BAD_INIT_QUEUES: dict[str, tuple[tuple[Any, ...], dict[str, Any], str]] = {
    "one string as the topic list": (("inbox", "orders"), {}, "['orders']"),
    "a number as the topic list": (("inbox", 5), {}, "topic_names_to_subscribe"),
    "a dict as the topic list": (("inbox", {"orders": 1}), {}, "topic_names_to_subscribe"),
    "a number among the topic names": (("inbox", ["orders", 7]), {}, "7"),
    "a bad topic name after a good one": (("inbox", ["orders", "bad name"]), {}, "bad name"),
    "retention 0 with topics": (
        ("inbox", ["orders"]),
        {"message_retention_period": 0},
        "message_retention_period",
    ),
    "visibility too long with topics": (
        ("inbox", ["orders"]),
        {"visibility_timeout": 50_000},
        "visibility_timeout",
    ),
    "max_receive_count 0 with a dlq": (
        ("inbox", ["orders"], "inbox-dlq"),
        {"max_receive_count": 0},
        "max_receive_count",
    ),
    "a filter policy SNS refuses": (
        ("inbox", ["orders"]),
        {"filter_policy": {"kind": [{"prefix": 5}]}},
        "prefix",
    ),
    "an unknown option with topics": (("inbox", ["orders"]), {"colour": "red"}, "colour"),
    "a standard queue with a FIFO dlq": (("inbox", ["orders"], "inbox-dlq.fifo"), {}, "FIFO"),
    "the queue as its own dlq": (("inbox", ["orders"], "inbox"), {}, "inbox"),
    "raw delivery not a bool": (
        ("inbox", ["orders"]),
        {"raw_message_delivery": "yes"},
        "raw_message_delivery",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INIT_QUEUES))
def test_init_queue_refuses_a_bad_value_with_a_typed_error_and_creates_no_topic_or_queue(
    broker: SimulatedBroker, case: str
) -> None:
    args, kwargs, shown = BAD_INIT_QUEUES[case]
    before = _state(broker)

    with pytest.raises(MelangeLabError) as raised:
        MessagingBackendFactory(broker.backend).init_queue(*args, **kwargs)

    assert shown in str(raised.value)
    assert _state(broker) == before


def test_init_queue_refuses_a_single_string_naming_the_list_to_write(
    broker: SimulatedBroker,
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        MessagingBackendFactory(broker.backend).init_queue("inbox", "orders")

    assert raised.value.parameter == "topic_names_to_subscribe"
    assert "init_queue(..., ['orders'])" in str(raised.value)
    assert [t.name for t in broker.topics()] == []  # not 'o', 'r', 'd', 'e', 's'


def test_init_queue_accepts_a_tuple_or_generator_of_topic_names(broker: SimulatedBroker) -> None:
    factory = MessagingBackendFactory(broker.backend)
    factory.init_queue("a", ("orders", "refunds"))
    factory.init_queue("b", (name for name in ["orders"]))

    assert sorted(t.name for t in broker.topics()) == ["orders", "refunds"]
    assert sorted(
        s.queue for s in broker.backend.subscriptions_of(broker.backend.get_topic("orders"))
    ) == ["a", "b"]


def test_init_queue_failing_at_the_broker_deletes_only_the_topics_it_created(
    broker: SimulatedBroker,
) -> None:
    factory = MessagingBackendFactory(broker.backend)
    factory.init_queue("inbox", ["orders"], visibility_timeout=30)
    events_before = len(broker.events)

    with pytest.raises(MelangeLabError, match="already exists with other settings"):
        factory.init_queue("inbox", ["orders", "refunds"], visibility_timeout=60)

    assert sorted(t.name for t in broker.topics()) == ["orders"]  # 'refunds' undone
    assert [q.name for q in broker.queues()] == ["inbox"]
    after = list(broker.events)[events_before:]
    assert "subscribed" not in [event.kind.value for event in after]


def test_declare_queue_bound_to_a_deleted_topic_leaves_no_queue_dlq_or_subscription(
    broker: SimulatedBroker,
) -> None:
    backend = broker.backend
    kept = backend.declare_topic("kept")
    gone = backend.declare_topic("gone")
    backend.delete_topic(gone)

    with pytest.raises(MelangeLabError):
        backend.declare_queue("inbox", kept, gone, dead_letter_queue_name="inbox-dlq")

    assert [q.name for q in broker.queues()] == []
    assert backend.subscriptions_of(kept) == []
    assert [s.queue for s in backend._load_subscriptions(kept)] == []


def test_a_failed_redeclare_keeps_the_subscriptions_the_queue_already_had(
    broker: SimulatedBroker,
) -> None:
    backend = broker.backend
    kept = backend.declare_topic("kept")
    backend.declare_queue("inbox", kept)
    gone = backend.declare_topic("gone")
    backend.delete_topic(gone)

    with pytest.raises(MelangeLabError):
        backend.declare_queue("inbox", kept, gone)

    assert [q.name for q in broker.queues()] == ["inbox"]
    assert [s.queue for s in backend._load_subscriptions(kept)] == ["inbox"]
