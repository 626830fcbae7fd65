"""The broker view's intents as a hostile page sends them.

Each message goes in as the front end's comm delivers it (``{"method": "custom", "content":
...}`` to the widget's comm handler, ipywidgets' own path; the widget talks to a recording
comm). Whatever the JSON, the panel that sent it (or the general area) gets an answer, no
exception escapes, a refused intent publishes, receives or moves nothing, and the view and the
broker work afterwards. Every message copy is accounted for: copies that entered a queue =
acknowledged + still in a queue (dead-lettered ones sit in their dead-letter queue).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest

from melange_lab import SimulatedBroker
from melange_lab.errors import InvalidIntent
from melange_lab.events import EventKind
from melange_lab.serializers import JsonSerializer, SerializerRegistry
from melange_lab.widgets import intents
from melange_lab.widgets.actions import PLAIN_JSON, default_registry
from melange_lab.widgets.broker_view import BrokerView
from melange_lab.widgets.comm_recorder import recording_comms
from tests.hostile import HUGE_TEXT, deep_list, ledger

DEEP = deep_list()

# The good intents each bad value is put into, one field at a time.
EXAMPLES: dict[str, dict[str, Any]] = {
    "publish": {
        "panel": "publish",
        "kind": "topic",
        "target": "orders",
        "choice": PLAIN_JSON,
        "payload": '{"order_id": "A1"}',
        "attributes": "",
        "group_id": "",
    },
    "receive": {"panel": "consume", "queue": "billing", "hide_for": 30},
    "finish": {"panel": "consume", "id": "HELD", "how": "acknowledge"},
    "background": {"panel": "consume", "queue": "billing", "on": True},
    "advance": {"panel": "consume", "seconds": 5},
    "page": {"queue": "billing", "page": 0},
    "inspect": {"queue": "billing", "id": "some-id"},
    "select": {"id": "some-id"},
}
GOOD = {name: EXAMPLES.get(name, {}) for name in intents.INTENTS}  # "tick" takes no fields

NOT_TEXT: list[Any] = [None, 5, 5.5, True, False, [], {}, ["billing"], {"a": 1}, DEEP, math.nan]
NOT_A_NUMBER: list[Any] = [None, "20", "", "abc", True, False, [], {}, [30], {"n": 30}, DEEP]
NOT_FINITE: list[Any] = [math.nan, math.inf, -math.inf, 10**5000, -(10**5000), 1e308]
NOT_A_FLAG: list[Any] = ["false", "true", "False", "", 0, 1, None, [], {}, [True]]
NOT_A_CHOICE: list[Any] = ["", " topic", "TOPIC", "fanout", "\ud800", HUGE_TEXT, None, 1, ["topic"]]

# field -> values that must be refused by the intent check itself
BAD_FIELDS: dict[tuple[str, str], list[Any]] = {
    ("publish", "kind"): NOT_A_CHOICE,
    ("publish", "target"): [*NOT_TEXT, HUGE_TEXT],
    ("publish", "choice"): [*NOT_TEXT, HUGE_TEXT],
    ("publish", "payload"): [*NOT_TEXT, "1" * (intents.MAX_PAYLOAD_CHARS + 1)],
    ("publish", "attributes"): [*NOT_TEXT, HUGE_TEXT],
    ("publish", "group_id"): [*NOT_TEXT, "g" * 129],
    ("receive", "queue"): [*NOT_TEXT, HUGE_TEXT],
    ("receive", "hide_for"): [*NOT_A_NUMBER, *NOT_FINITE, -1, 43_201, 1.5, 10**20],
    ("finish", "id"): [*NOT_TEXT, HUGE_TEXT],
    ("finish", "how"): ["", "delete", "Acknowledge", None, 1, ["release"], "\ud800"],
    ("background", "queue"): [*NOT_TEXT, HUGE_TEXT],
    ("background", "on"): NOT_A_FLAG,
    ("advance", "seconds"): [*NOT_A_NUMBER, *NOT_FINITE, -1, -0.5, 1_000_001],
    ("page", "queue"): [*NOT_TEXT, HUGE_TEXT],
    ("page", "page"): [*NOT_A_NUMBER, *NOT_FINITE, -1, 1.5, 10**10],
    ("inspect", "queue"): [*NOT_TEXT, HUGE_TEXT],
    ("inspect", "id"): [*NOT_TEXT, HUGE_TEXT],
    ("select", "id"): [*NOT_TEXT, HUGE_TEXT],
}
BAD_FIELD_CASES = [
    pytest.param(name, key, value, id=f"{name}.{key}[{index}]")
    for (name, key), values in BAD_FIELDS.items()
    for index, value in enumerate(values)
]
REQUIRED = [
    pytest.param(name, key, id=f"{name}-without-{key}")
    for name, good in GOOD.items()
    for key in good
    if key not in ("panel", "attributes", "group_id")
]
NOT_INTENTS: list[Any] = [
    None,
    [],
    "publish",
    5,
    True,
    {},
    {"intent": None},
    {"intent": 5},
    {"intent": ["publish"]},
    {"intent": {"name": "publish"}},
    {"intent": "publsh"},
    {"intent": "Publish"},
    {"intent": "__init__"},
    {"intent": "_publish"},
    {"intent": HUGE_TEXT},
    {"intent": "\ud800"},
    {"intent": "toString"},
    DEEP,
    [{"intent": "tick"}],
]
EXTRA_KEYS: list[dict[str, Any]] = [
    {"extra": 1},
    {"__proto__": {"on": True}},
    {"constructor": "x"},
    {"Kind": "queue"},
    {HUGE_TEXT: 1},
    {"\ud800": 1},
]
BOGUS_PANELS: list[Any] = ["bogus", "", "Publish", 5, None, ["publish"], {"p": 1}, HUGE_TEXT]


@pytest.fixture(scope="module")
def session() -> Iterator[list[Any]]:
    """One broker and one view for the module, as a long classroom session has them."""
    with recording_comms():
        broker = SimulatedBroker(clock="manual")
        shown = [broker, broker.view(default_registry(), refresh_interval=None)]
        yield shown
        shown[1].close()
        broker.stop()


@pytest.fixture
def fan_out(session: list[Any]) -> SimulatedBroker:
    """Topic 'orders' to 'billing' (with a dead-letter queue) and 'shipping'; a FIFO queue;
    nothing held and no background consumer. Messages of earlier tests stay, as in a long
    session; the ledger adds up across all of them."""
    broker, view = session
    if not broker.running:  # a test started a broker of its own, which replaced this one
        broker.start()
        broker.reset()  # its event log still holds what happened before it was replaced
        view.close()
        view = broker.view(default_registry(), refresh_interval=None)
        session[1:] = [view]
    send(view, {"intent": "background", "panel": "consume", "queue": "", "on": False})
    for held in view.forms.get("held", []):
        let_go = {"intent": "finish", "panel": "consume", "id": held["id"], "how": "let_time_out"}
        send(view, let_go)
    if "jobs.fifo" not in view.queue_pages:
        declare(broker)
        view.refresh()
    return broker


def declare(broker: SimulatedBroker) -> None:
    backend = broker.backend
    topic = backend.declare_topic("orders")
    backend.declare_queue("billing", topic, dead_letter_queue_name="billing-dlq")
    backend.declare_queue("shipping", topic)
    backend.declare_queue("jobs.fifo")


@pytest.fixture
def emptied(fan_out: SimulatedBroker, view: BrokerView) -> SimulatedBroker:
    """The same broker, emptied and declared again: for tests that count every message."""
    fan_out.reset()
    declare(fan_out)
    view.refresh()
    return fan_out


@pytest.fixture
def view(session: list[Any], fan_out: SimulatedBroker) -> BrokerView:
    return session[1]


def send(view: BrokerView, content: Any) -> dict[str, Any]:
    """Delivers ``content`` as the front end's ``model.send`` does; returns the result shown."""
    before = view.result.get("n", 0)
    view._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
    result = dict(view.result)
    result["answered"] = result.get("n", 0) > before
    return result


def update(view: BrokerView, state: Any) -> None:
    """A state update from the page (``model.set(...); model.save_changes()``)."""
    view._handle_msg({"content": {"data": {"method": "update", "state": state}}, "buffers": []})


def snapshot(broker: SimulatedBroker, view: BrokerView) -> dict[str, Any]:
    """Everything a refused intent must leave as it was."""
    return {
        "events": len(list(broker.events)),
        "counts": [(q.name, q.visible, q.in_flight, q.delayed) for q in broker.queues()],
        "advanced": [e.detail for e in broker.events if e.kind is EventKind.CLOCK_ADVANCED],
        "held": view.forms.get("held"),
        "background": view.forms.get("background"),
        "ledger": ledger(broker),
    }


def with_field(name: str, key: str, value: Any) -> dict[str, Any]:
    return {"intent": name, **GOOD[name], key: value}


def assert_still_works(view: BrokerView, broker: SimulatedBroker) -> None:
    """A real publish, receive and acknowledge through the view still work, and add up."""
    published = send(view, {"intent": "publish", **GOOD["publish"]})
    assert published["ok"], published["text"]
    assert send(view, {"intent": "receive", **GOOD["receive"]})["ok"]
    held = view.forms["held"][0]["id"]
    done = send(view, {"intent": "finish", "panel": "consume", "id": held, "how": "acknowledge"})
    assert done["ok"] and "Acknowledged" in done["text"]
    entered, accounted = ledger(broker)
    assert entered == accounted


# -- what is not an intent at all ----------------------------------------------------------------


@pytest.mark.parametrize("content", NOT_INTENTS, ids=range(len(NOT_INTENTS)))
def test_a_message_that_is_no_known_intent_is_answered_in_the_general_area_and_does_nothing(
    view: BrokerView, fan_out: SimulatedBroker, content: Any
) -> None:
    before = snapshot(fan_out, view)
    with pytest.raises(InvalidIntent):
        intents.read_intent(content)
    result = send(view, content)
    assert result["answered"] and not result["ok"]
    assert result["panel"] == "view"
    assert "Nothing was done" in result["text"] and "'publish'" in result["text"]
    assert len(result["text"]) < 1_000
    assert snapshot(fan_out, view) == before
    assert_still_works(view, fan_out)


# -- each field of each intent, with each kind of bad value ------------------------------------


@pytest.mark.parametrize(("name", "key", "value"), BAD_FIELD_CASES)
def test_a_bad_field_value_is_refused_in_its_panel_and_nothing_is_published_or_consumed(
    view: BrokerView, fan_out: SimulatedBroker, name: str, key: str, value: Any
) -> None:
    content = with_field(name, key, value)
    with pytest.raises(InvalidIntent) as refused:
        intents.read_intent(content)
    assert refused.value.field == intents.INTENTS[name].fields[key].label
    before = snapshot(fan_out, view)
    result = send(view, content)
    assert result["answered"] and not result["ok"]
    assert result["panel"] == intents.INTENTS[name].panel
    assert result["text"].startswith(intents.INTENTS[name].fields[key].label)
    assert "Nothing was done" in result["text"] and len(result["text"]) < 1_000
    assert snapshot(fan_out, view) == before
    assert_still_works(view, fan_out)


@pytest.mark.parametrize(("name", "key"), REQUIRED)
def test_a_missing_field_is_refused_not_guessed(
    view: BrokerView, fan_out: SimulatedBroker, name: str, key: str
) -> None:
    content = {"intent": name, **{k: v for k, v in GOOD[name].items() if k != key}}
    before = snapshot(fan_out, view)
    result = send(view, content)
    assert not result["ok"] and "is missing" in result["text"]
    assert snapshot(fan_out, view) == before


@pytest.mark.parametrize("name", list(GOOD))
@pytest.mark.parametrize("extra", EXTRA_KEYS, ids=range(len(EXTRA_KEYS)))
def test_a_field_the_intent_does_not_have_is_refused(
    view: BrokerView, fan_out: SimulatedBroker, name: str, extra: dict[str, Any]
) -> None:
    before = snapshot(fan_out, view)
    result = send(view, {"intent": name, **GOOD[name], **extra})
    assert not result["ok"] and "has no field" in result["text"]
    assert len(result["text"]) < 1_000
    assert snapshot(fan_out, view) == before


@pytest.mark.parametrize("panel", BOGUS_PANELS, ids=range(len(BOGUS_PANELS)))
def test_a_bogus_panel_name_is_answered_in_the_general_area(
    view: BrokerView, fan_out: SimulatedBroker, panel: Any
) -> None:
    before = snapshot(fan_out, view)
    result = send(view, {**with_field("publish", "panel", panel), "intent": "publish"})
    assert result["answered"] and not result["ok"]
    assert result["panel"] == "view"
    assert snapshot(fan_out, view) == before
    assert_still_works(view, fan_out)


def test_every_intent_the_view_handles_is_checked_and_every_checked_intent_is_handled(
    view: BrokerView,
) -> None:
    assert set(view._handlers()) == set(intents.INTENTS)
    with_fields = {name for name, spec in intents.INTENTS.items() if spec.fields}
    assert with_fields <= set(EXAMPLES)  # each is swept here with a good example


# -- the cases of issue 23 ---------------------------------------------------------------------


def test_a_kind_other_than_queue_or_topic_publishes_nowhere(
    view: BrokerView, fan_out: SimulatedBroker
) -> None:
    fan_out.backend.declare_queue("orders")  # a queue with the topic's name: no guessing
    before = snapshot(fan_out, view)
    result = send(view, with_field("publish", "kind", "fanout"))
    assert not result["ok"] and "'topic', 'queue'" in result["text"]
    assert snapshot(fan_out, view) == before


@pytest.mark.parametrize(
    "payload",
    [
        '{"amount": ' + "9" * 5_000 + "}",
        '{"amount": NaN}',
        '{"amount": Infinity}',
        '{"amount": -Infinity}',
        '{"amount": 1e999}',
        "[" * 100_000 + "]" * 100_000,
        '{"order_id": "A1"',
        "",
    ],
    ids=["5000-digits", "nan", "infinity", "minus-infinity", "1e999", "deep", "cut", "empty"],
)
def test_a_payload_json_cannot_carry_is_refused_before_publishing(
    view: BrokerView, fan_out: SimulatedBroker, payload: str
) -> None:
    before = snapshot(fan_out, view)
    result = send(view, with_field("publish", "payload", payload))
    assert result["answered"] and not result["ok"] and result["panel"] == "publish"
    assert "payload" in result["text"].lower() or "JSON" in result["text"]
    assert snapshot(fan_out, view) == before
    assert_still_works(view, fan_out)


def test_a_payload_with_an_escaped_lone_surrogate_is_published_escaped_and_arrives(
    view: BrokerView, emptied: SimulatedBroker
) -> None:
    result = send(view, with_field("publish", "payload", '{"name": "\\ud800"}'))
    assert result["ok"], result["text"]
    assert emptied.peek("billing")[0].payload == {"name": "\ud800"}
    entered, accounted = ledger(emptied)
    assert entered == accounted == 2


@pytest.mark.parametrize(
    ("attributes", "said"),
    [
        ('{"a": NaN}', "finite"),
        ('{"a": {"b": 1}}', "JSON object"),
        ('{"a": ""}', "non-empty"),
        ('{"\\ud800": "x"}', "attribute names"),
        ('{"a": "\\ud800"}', "U+D800"),
        ('{"AWS.x": "y"}', "AWS."),
        (json.dumps({f"a{i}": "v" for i in range(11)}), "at most 10"),
        ("[1, 2]", "JSON object"),
        ('{"a": true}', "JSON object"),
        ('{"a": [["x"]]}', "list of strings, numbers"),
        ('{"a": [{"x": 1}]}', "list of strings, numbers"),
        ('{"a": 1e300}', "38 significant digits"),
        ('{"a": ' + "9" * 4_000 + "}", "38 significant digits"),
        (json.dumps({"n" * 60_000: "x"}), "attribute names"),
    ],
    ids=[
        "nan",
        "object",
        "empty",
        "surrogate-name",
        "surrogate-value",
        "aws-prefix",
        "eleven",
        "array",
        "true",
        "nested-list",
        "object-in-list",
        "1e300",
        "4000-digits",
        "long-name",
    ],
)
def test_attributes_sns_would_refuse_are_refused_before_publishing(
    view: BrokerView, emptied: SimulatedBroker, attributes: str, said: str
) -> None:
    before = snapshot(emptied, view)
    result = send(view, with_field("publish", "attributes", attributes))
    assert not result["ok"] and said in result["text"], result["text"]
    assert len(result["text"]) < 800  # a 60,000-character name is quoted short
    assert snapshot(emptied, view) == before


@pytest.mark.parametrize("group_id", ["a b", "\ud800", "é", "g" * 128 + "x"])
def test_a_fifo_group_id_sqs_would_refuse_is_refused(
    view: BrokerView, emptied: SimulatedBroker, group_id: str
) -> None:
    before = snapshot(emptied, view)
    content = {**GOOD["publish"], "kind": "queue", "target": "jobs.fifo", "group_id": group_id}
    result = send(view, {"intent": "publish", **content})
    assert not result["ok"]
    assert snapshot(emptied, view) == before


def test_a_choice_the_form_does_not_offer_is_refused(
    view: BrokerView, fan_out: SimulatedBroker
) -> None:
    before = snapshot(fan_out, view)
    result = send(view, with_field("publish", "choice", "os.system"))
    assert not result["ok"] and "not offered" in result["text"]
    assert snapshot(fan_out, view) == before


def test_the_text_false_never_starts_a_background_consumer(
    view: BrokerView, fan_out: SimulatedBroker
) -> None:
    result = send(view, with_field("background", "on", "false"))
    assert not result["ok"] and "true or false" in result["text"]
    assert view.forms["background"] is None and view._desk is not None
    assert view._desk.dispatcher is None


def test_minus_zero_seconds_moves_the_clock_by_zero_and_says_so(
    view: BrokerView, fan_out: SimulatedBroker
) -> None:
    result = send(view, with_field("advance", "seconds", -0.0))
    assert result["ok"] and result["text"] == "Broker clock advanced 0 s.", result["text"]


def test_a_missing_seconds_never_moves_the_clock(
    view: BrokerView, fan_out: SimulatedBroker
) -> None:
    now = fan_out.clock.now()
    result = send(view, {"intent": "advance", "panel": "consume"})
    assert not result["ok"] and "Seconds is missing" in result["text"]
    assert fan_out.clock.now() - now < 0.01  # the manual clock only ticks per reading


def test_an_unknown_way_to_finish_keeps_the_message_held_and_in_flight(
    view: BrokerView, emptied: SimulatedBroker
) -> None:
    send(view, {"intent": "publish", **GOOD["publish"]})
    assert send(view, {"intent": "receive", **GOOD["receive"]})["ok"]
    held = view.forms["held"][0]["id"]
    result = send(view, {"intent": "finish", "panel": "consume", "id": held, "how": "delete"})
    assert not result["ok"] and "'acknowledge'" in result["text"]
    assert view.forms["held"][0]["id"] == held
    assert [q.in_flight for q in emptied.queues() if q.name == "billing"] == [1]
    done = send(view, {"intent": "finish", "panel": "consume", "id": held, "how": "release"})
    assert done["ok"] and "Released" in done["text"]


def test_turning_to_a_page_of_a_queue_that_is_not_shown_is_refused_and_remembers_nothing(
    view: BrokerView,
) -> None:
    for number in range(50):
        result = send(view, {"intent": "page", "queue": f"nope-{number}", "page": 1})
        assert not result["ok"] and "does not exist" in result["text"]
    assert not any(name.startswith("nope-") for name in view._pages)


def test_a_huge_page_number_shows_the_last_page(view: BrokerView, emptied: SimulatedBroker) -> None:
    for _ in range(3):
        send(view, {"intent": "publish", **GOOD["publish"]})
    assert send(view, {"intent": "page", "queue": "billing", "page": intents.MAX_PAGE}) == {
        **view.result,
        "answered": False,
    }
    assert view.queue_pages["billing"]["page"] == 0
    assert len(view.queue_pages["billing"]["cards"]) == 3


# -- the panel never stays busy --------------------------------------------------------------


def test_a_failure_inside_the_lab_is_shown_in_the_panel_and_escapes_nowhere(
    view: BrokerView,
    fan_out: SimulatedBroker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any) -> str:
        raise RuntimeError("a bug")

    assert view._desk is not None
    monkeypatch.setattr(view._desk, "receive", broken)
    with caplog.at_level(logging.ERROR):
        result = send(view, {"intent": "receive", **GOOD["receive"]})
    assert result["answered"] and not result["ok"] and result["panel"] == "consume"
    assert "RuntimeError: a bug" in result["text"] and "report it" in result["text"]
    assert "could not carry out an intent" in caplog.text
    monkeypatch.undo()
    assert_still_works(view, fan_out)


def test_an_error_whose_text_fails_too_still_answers_the_panel(
    view: BrokerView, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no text either")

    def broken(*args: Any) -> str:
        raise Unprintable()

    assert view._desk is not None
    monkeypatch.setattr(view._desk, "advance", broken)
    result = send(view, {"intent": "advance", "panel": "consume", "seconds": 1})
    assert result["answered"] and not result["ok"] and "Unprintable" in result["text"]


def test_a_stopped_broker_answers_every_intent_with_its_typed_error(
    session: list[Any],
) -> None:
    broker = SimulatedBroker(clock="manual")  # replaces the session's broker for a moment
    broker.backend.declare_queue("billing", broker.backend.declare_topic("orders"))
    view = broker.view(refresh_interval=None)
    broker.stop()
    try:
        # every intent that acts on the broker or reads its queues (finish only forgets an id)
        asking = [n for n, spec in intents.INTENTS.items() if spec.changes_the_broker]
        for name in [*asking, "page", "inspect"]:
            if name == "finish":
                continue
            result = send(view, {"intent": name, **GOOD[name]})
            assert result["answered"] and not result["ok"], name
            assert "stopped" in result["text"], (name, result["text"])
    finally:
        view.close()


def test_a_read_only_view_refuses_every_action_whatever_its_fields(
    fan_out: SimulatedBroker,
) -> None:
    class Watcher:
        """A source without a backend, like RemoteBroker."""

        events = property(lambda self: fan_out.events)
        subscribe = fan_out.subscribe
        topics = fan_out.topics
        queues = fan_out.queues
        subscriptions = fan_out.subscriptions
        peek = fan_out.peek

    view = BrokerView(Watcher(), refresh_interval=None)
    try:
        for name, spec in intents.INTENTS.items():
            if spec.changes_the_broker:
                result = send(view, {"intent": name, "panel": "bogus", "junk": DEEP})
                assert not result["ok"] and "read-only" in result["text"], name
    finally:
        view.close()


# -- state updates from the page -------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        {"structure": "garbage"},
        {"queue_pages": {"billing": {"cards": [{"no": "fields"}]}}},
        {"forms": {"held": [{"id": 1}]}, "events": [None]},
        {"result": {"ok": True, "text": "fake", "n": 10**9}},
        {"selected": 5},
        {"read_only": False, "first_seq": -1, "clock": {"now": "x"}},
        {"compact": "yes"},
        [],
        "compact",
        None,
    ],
    ids=range(10),
)
def test_a_page_cannot_overwrite_the_kernels_state(
    view: BrokerView, fan_out: SimulatedBroker, state: Any
) -> None:
    before = {name: getattr(view, name) for name in view.keys if not name.startswith("_")}
    update(view, state)
    after = {name: getattr(view, name) for name in view.keys if not name.startswith("_")}
    assert after == before
    assert_still_works(view, fan_out)
    assert send(view, {"intent": "select", "id": "anything"})["answered"] is False


def test_the_front_end_may_still_toggle_compact(view: BrokerView) -> None:
    update(view, {"compact": True})
    assert view.compact is True
    update(view, {"compact": False, "structure": {}})
    assert view.compact is False and view.structure != {}


# -- a long session of hostile intents ------------------------------------------------------


def test_a_thousand_hostile_intents_then_the_view_and_broker_still_add_up(
    view: BrokerView, emptied: SimulatedBroker
) -> None:
    cases = [
        with_field(name, key, value)
        for (name, key), values in BAD_FIELDS.items()
        for value in values
    ]
    for index in range(1_000):
        assert not send(view, cases[index % len(cases)])["ok"]
        if index % 100 == 0:
            assert send(view, {"intent": "publish", **GOOD["publish"]})["ok"]
    entered, accounted = ledger(emptied)
    assert entered == accounted == 20
    assert_still_works(view, emptied)


# -- the learner's own code inside an intent ------------------------------------------------


@dataclasses.dataclass
class Refund:
    order_id: str
    amount: int = 0

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("a refund is never negative")


class Exploding(JsonSerializer):
    def serialize(self, data: Any) -> str:
        raise KeyError("the learner's serializer broke")


@pytest.mark.parametrize(
    ("serializers", "payload", "said"),
    [
        ({"json": JsonSerializer}, '{"order_id": "A1", "amount": -5}', "never negative"),
        ({"json": JsonSerializer}, '{"order": "A1"}', "fields its constructor takes"),
        ({"json": Exploding}, '{"order_id": "A1"}', "KeyError"),
    ],
    ids=["constructor-refuses", "wrong-fields", "serializer-raises"],
)
def test_the_learners_own_code_failing_inside_an_intent_is_said_in_the_panel(
    emptied: SimulatedBroker, serializers: dict[str, Any], payload: str, said: str
) -> None:
    registry = SerializerRegistry(
        {"serializers": serializers, "serializer_bindings": {Refund: "json"}, "default": "json"}
    )
    own = emptied.view(registry, refresh_interval=None)
    try:
        content = {**GOOD["publish"], "choice": "Refund", "payload": payload}
        result = send(own, {"intent": "publish", **content})
        assert result["answered"] and not result["ok"] and said in result["text"]
        assert ledger(emptied) == (0, 0)
    finally:
        own.close()


def test_an_acknowledge_the_broker_refuses_keeps_the_message_held_to_try_again(
    view: BrokerView, emptied: SimulatedBroker
) -> None:
    to_fifo = {**GOOD["publish"], "kind": "queue", "target": "jobs.fifo", "group_id": "g"}
    assert send(view, {"intent": "publish", **to_fifo})["ok"]
    receive = {"intent": "receive", "panel": "consume", "queue": "jobs.fifo", "hide_for": 1}
    assert send(view, receive)["ok"]
    held = view.forms["held"][0]["id"]
    emptied.clock.advance(2)  # its visibility timeout ends; another consumer receives it
    sqs = emptied.client("sqs")
    url = sqs.get_queue_url(QueueName="jobs.fifo")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    result = send(view, {"intent": "finish", "panel": "consume", "id": held, "how": "acknowledge"})
    assert result["answered"] and not result["ok"] and "expired" in result["text"]
    assert [h["id"] for h in view.forms["held"]] == [held]  # still held, to try again
    let_go = {"intent": "finish", "panel": "consume", "id": held, "how": "let_time_out"}
    assert send(view, let_go)["ok"] and view.forms["held"] == []
    entered, accounted = ledger(emptied)
    assert entered == accounted == 1


NOT_REQUESTS: list[Any] = [*NOT_A_NUMBER, *NOT_FINITE, -1, 1.5, 2**53 + 1]


@pytest.mark.parametrize("request_number", NOT_REQUESTS, ids=range(len(NOT_REQUESTS)))
def test_a_request_number_that_is_not_one_is_refused_and_named_by_no_answer(
    view: BrokerView, fan_out: SimulatedBroker, request_number: Any
) -> None:
    content = {"intent": "publish", **GOOD["publish"], "request": request_number}
    assert intents.request_of(content) is None
    before = snapshot(fan_out, view)
    result = send(view, content)
    assert not result["ok"] and result["text"].startswith("request = ")
    assert snapshot(fan_out, view) == before


@pytest.mark.parametrize("request_number", [0, 1, 2**53])
def test_the_front_ends_request_number_is_read_with_the_intent(
    view: BrokerView, request_number: int
) -> None:
    content = {"intent": "publish", **GOOD["publish"], "request": request_number}
    assert intents.read_intent(content).name == "publish"
    assert intents.request_of(content) == request_number
    assert send(view, content)["ok"]


def test_a_publish_one_subscription_cannot_take_succeeds_and_the_view_shows_that_failure(
    view: BrokerView, emptied: SimulatedBroker
) -> None:
    sqs = emptied.client("sqs")
    url = sqs.get_queue_url(QueueName="billing")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": "1024"})
    big = json.dumps({"order_id": "A1", "notes": "n" * 2_000})
    result = send(view, {"intent": "publish", **GOOD["publish"], "payload": big})
    assert result["ok"] and "Published" in result["text"]
    failed = [e for e in view.timeline() if e["kind"] == "delivery_failed"]
    assert [e["queue"] for e in failed] == ["billing"]
    assert [q.total for q in emptied.queues() if q.name in ("billing", "shipping")] == [0, 1]
    entered, accounted = ledger(emptied)
    assert entered == accounted == 1


def test_advancing_past_every_retention_period_expires_copies_and_loses_none(
    view: BrokerView, emptied: SimulatedBroker
) -> None:
    assert send(view, {"intent": "publish", **GOOD["publish"]})["ok"]
    result = send(view, with_field("advance", "seconds", intents.MAX_ADVANCE_SECONDS))
    assert result["ok"], result["text"]
    view.flush()
    assert all(state["total"] == 0 for state in view.queue_pages.values())
    expired = [e for e in emptied.events if e.kind is EventKind.EXPIRED]
    assert {e.queue for e in expired} == {"billing", "shipping"}
    entered, accounted = ledger(emptied)
    assert entered == accounted == 2
    assert_still_works(view, emptied)


def test_a_held_message_whose_queue_was_deleted_is_let_go_with_a_reason(
    view: BrokerView, emptied: SimulatedBroker
) -> None:
    assert send(view, {"intent": "publish", **GOOD["publish"]})["ok"]
    assert send(view, {"intent": "receive", **GOOD["receive"]})["ok"]
    held = view.forms["held"][0]["id"]
    emptied.backend.delete_queue(emptied.backend.get_queue("billing"))
    result = send(view, {"intent": "finish", "panel": "consume", "id": held, "how": "acknowledge"})
    assert result["answered"] and not result["ok"]
    assert "billing was deleted" in result["text"] and "Declare the queue again" in result["text"]
    assert view.forms["held"] == []  # no ghost left to press on
    entered, accounted = ledger(emptied)
    assert entered == accounted == 2  # the held copy went with its queue, and was reported
    emptied.clock.advance(61)  # SQS: a deleted queue's name is free again after 60 s
    declare(emptied)
    view.refresh()
    assert_still_works(view, emptied)


def test_a_background_consumer_whose_queue_is_deleted_shows_stopped_and_starts_again(
    view: BrokerView, emptied: SimulatedBroker
) -> None:
    emptied.clock.use_real_time()  # a background consumer polls on the real clock
    try:
        on = {"intent": "background", "panel": "consume", "queue": "shipping", "on": True}
        assert send(view, on)["ok"]
        emptied.backend.delete_queue(emptied.backend.get_queue("shipping"))
        desk = view._desk
        assert desk is not None and desk.dispatcher is not None
        deadline = time.monotonic() + 20  # a bound, not a measurement
        while desk.dispatcher.running and time.monotonic() < deadline:
            time.sleep(0.02)
        view.flush()
        assert view.forms["background"] is None  # not shown as running on a deleted queue
        emptied.clock.advance(61)  # SQS: a deleted queue's name is free again after 60 s
        declare(emptied)
        view.refresh()
        again = send(view, on)
        assert again["ok"] and "stopped by itself" in again["text"], again["text"]
        assert "shipping' does not exist" in again["text"]
        assert view.forms["background"] == "shipping"
        off = send(view, {**on, "on": False})
        assert off["ok"] and view.forms["background"] is None
    finally:
        emptied.clock.freeze()
    assert_still_works(view, emptied)
