"""What the broker view shows, decided in Python once (``picture``, ``topology``): the diagram's
layout for tutorial 9's wiring, filter policies in words, lines that fit their boxes, cards
and the inspector. No widget and no browser here."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from melange_lab import MessagingBackendFactory, QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.filter_policies import FilterPolicy
from melange_lab.serializers import JsonSerializer, SerializerRegistry
from melange_lab.widgets import picture, topology

CASE_STUDY = {  # tutorial 9: 2 topics, 4 service queues, 4 dead-letter queues
    "order-service": (["payments"], None),
    "payment-service": (["orders"], ["OrderPlaced"]),
    "shipping-service": (["payments"], ["PaymentSucceeded"]),
    "notification-service": (["orders", "payments"], ["OrderShipped", "PaymentFailed"]),
}


@pytest.fixture
def case_study(broker: SimulatedBroker) -> SimulatedBroker:
    factory = MessagingBackendFactory(broker.backend)
    for queue, (topics, events) in CASE_STUDY.items():
        options = {} if events is None else {"filter_events": events}
        factory.init_queue(queue, topics, dlq_name=f"{queue}-dlq", max_receive_count=3, **options)
    return broker


def structure_of(broker: SimulatedBroker) -> dict[str, Any]:
    return picture.structure(broker.topics(), broker.subscriptions(), broker.queues())


def boxes(structure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["key"]: node for node in structure["diagram"]["nodes"]}


def test_each_dead_letter_queue_sits_on_its_source_queues_row(case_study: SimulatedBroker) -> None:
    nodes = boxes(structure_of(case_study))

    for queue in CASE_STUDY:
        source, dlq = nodes[f"q:{queue}"], nodes[f"q:{queue}-dlq"]
        assert dlq["x"] > source["x"] + source["w"]
        assert dlq["y"] < source["y"] + source["h"] / 2 < dlq["y"] + dlq["h"]  # same row


def test_no_two_boxes_overlap_and_edges_only_join_neighbouring_columns(
    case_study: SimulatedBroker,
) -> None:
    diagram = structure_of(case_study)["diagram"]
    nodes = {n["key"]: n for n in diagram["nodes"]}

    for a, b in itertools.combinations(nodes.values(), 2):
        apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                 or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])  # fmt: skip
        assert apart, (a["key"], b["key"])
    columns = sorted({n["x"] for n in nodes.values()})
    for edge in diagram["edges"]:
        start, end = columns.index(nodes[edge["from"]]["x"]), columns.index(nodes[edge["to"]]["x"])
        assert end == start + 1, edge
    assert diagram["width"] <= 840 and all(
        n["x"] + n["w"] <= diagram["width"] for n in nodes.values()
    )


def test_every_line_of_text_fits_its_box_in_the_monospace_font(case_study: SimulatedBroker) -> None:
    advance = topology.CHAR_EM
    for node in structure_of(case_study)["diagram"]["nodes"]:
        for line in node["lines"]:
            size = topology.TITLE_PX if line["cls"] == "title" else topology.SMALL_PX
            assert len(line["text"]) * size * advance <= line["max"] == node["w"] - 16, line
            assert line["dy"] < node["h"]


def test_queues_run_in_the_diagrams_order_each_dead_letter_queue_after_its_source(
    case_study: SimulatedBroker,
) -> None:
    structure = structure_of(case_study)
    names = [q["name"] for q in structure["queues"]]

    assert names == ["payment-service", "payment-service-dlq", "notification-service",
                     "notification-service-dlq", "order-service", "order-service-dlq",
                     "shipping-service", "shipping-service-dlq"]  # fmt: skip
    nodes = boxes(structure)
    rows = [nodes[f"q:{name}"]["y"] for name in names if not name.endswith("-dlq")]
    assert rows == sorted(rows)  # the panels read top to bottom like the diagram
    assert [lane["key"] for lane in structure["diagram"]["lanes"]][:3] == [
        "t:orders", "t:payments", "q:payment-service"]  # fmt: skip


def test_a_subscription_says_its_filter_in_words_and_no_subscription_edges_cross(
    case_study: SimulatedBroker,
) -> None:
    nodes = boxes(structure_of(case_study))
    text = {key: [line["text"] for line in n["lines"]] for key, n in nodes.items()}

    assert text["s:orders>notification-service"][1:] == ["manifest: OrderShipped or",
                                                          "PaymentFailed"]  # fmt: skip
    assert text["s:payments>order-service"][1:] == ["every message"]
    assert text["q:payment-service-dlq"][2] == "after 3 receives"
    subs = sorted((n for n in nodes.values() if n["kind"] == "subscription"), key=lambda n: n["y"])
    topics = [n["key"].split(">")[0][2:] for n in subs]
    assert topics == sorted(topics, key=["orders", "payments"].index)  # orders above payments


@pytest.mark.parametrize(
    ("rules", "words"),
    [
        ({"manifest": ["A", "B"]}, ["manifest: A or B"]),
        ({"amount": [{"numeric": [">", 100, "<=", 500]}]}, ["amount: > 100 and <= 500"]),
        ({"region": [{"anything-but": ["eu", "us"]}], "kind": [{"prefix": "ord"}]},
         ["region: not eu, us", "kind: starts with ord"]),
        ({"customer": {"tier": ["gold"]}}, ["customer.tier: gold"]),
        ({"email": [{"exists": False}]}, ["email: absent"]),
        ({"note": ["two words"]}, ['note: "two words"']),
    ],
)  # fmt: skip
def test_filter_policies_read_as_words(rules: dict[str, Any], words: list[str]) -> None:
    assert topology.policy_lines(FilterPolicy(rules)) == words


def test_wrapping_keeps_every_line_within_its_width_and_marks_a_cut() -> None:
    lines = topology.wrap("notification-service-dead-letter-queue-for-the-case-study", 14, 2)

    assert lines == ["notification-", "service-dead-\u2026"]
    assert all(len(line) <= 14 for line in lines)
    assert topology.wrap("short", 14, 2) == ["short"]


def test_a_card_shows_the_fifo_group_and_the_payloads_first_fields_whole(
    broker: SimulatedBroker,
) -> None:
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    broker.backend.declare_queue("accounts.fifo", content_based_deduplication=True)
    QueuePublisher(registry, broker.backend).publish(
        "accounts.fifo", {"customer": "alice", "op": "deposit 100"}, message_group_id="alice"
    )
    [stored] = broker.peek("accounts.fifo", registry)

    card = picture.card(stored, False, stored.message_id)

    assert card["fields"] == [["customer", "alice"], ["op", "deposit 100"]]  # 07's "op" shows
    assert card["meta"] == "dict \u00b7 received 0\u00d7 \u00b7 group alice"


def test_the_inspector_shows_each_thing_once_and_leaves_long_values_to_fold(
    broker: SimulatedBroker,
) -> None:
    registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
    MessagingBackendFactory(broker.backend).init_queue("billing", ["orders"])
    published = TopicPublisher(registry, broker.backend).publish("orders", {"order_id": "A1"})
    [stored] = broker.peek("billing", registry)

    shown = picture.inspected(stored, "billing", False, stored.published_id)

    rows = shown["facts"] + shown["envelope"]
    labels = [label for label, _ in rows]
    assert len(labels) == len(set(labels))
    assert dict(shown["facts"])["published id"] == published
    assert "MessageId" not in labels and "Message" not in labels  # said once, above
    signature = dict(shown["envelope"])["Signature"]
    assert len(signature) > shown["fold_at"]  # folded on screen, whole on demand
    assert json.loads(shown["body"])["Message"] and shown["body"].startswith("{\n")
    assert shown["payload"]["fields"] == [["order_id", "A1"]]
