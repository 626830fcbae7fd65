"""The broker view without a browser: the widget gets a recording comm, tests read its synced
state and send it the intents its front end would send."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import html
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from melange_lab import MessagingBackendFactory, QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.errors import InvalidParameter
from melange_lab.events import Event
from melange_lab.inspection import PeekedMessage, PeekNotSupported, readable
from melange_lab.models import Message, MessageDto
from melange_lab.moto_internals import look_inside
from melange_lab.serializers import PickleSerializer, SerializerRegistry
from melange_lab.widgets import broker_view, picture, topology
from melange_lab.widgets.actions import default_registry, field_template
from melange_lab.widgets.broker_view import BrokerView
from melange_lab.widgets.comm_recorder import CommRecorder, recording_comms
from tests.messages import OrderCreated

SUBSCRIBERS = ("billing", "shipping")
FILTERED = "audit"


class Greeting:
    """Tutorial 1 and 2's message: a plain class bound to pickle."""

    def __init__(self, message: str) -> None:
        self.message = message


@dataclasses.dataclass
class Shipment:
    order_id: str
    parcels: int = 1


class Opaque:
    __slots__ = ()


@pytest.fixture(autouse=True)
def comms() -> Iterator[CommRecorder]:
    with recording_comms() as recorder:
        yield recorder


@pytest.fixture
def fan_out(broker: SimulatedBroker) -> SimulatedBroker:
    """Topic 'orders' with three queues: billing, shipping (raw), audit (OrderCreated only)."""
    backend = broker.backend
    topic = backend.declare_topic("orders")
    backend.declare_queue("billing", topic, dead_letter_queue_name="billing-dlq")
    backend.declare_queue("shipping", topic, raw_message_delivery=True)
    backend.declare_queue(FILTERED, topic, filter_events=["OrderCreated"])
    return broker


@pytest.fixture
def make_view(broker: SimulatedBroker) -> Iterator[Callable[..., BrokerView]]:
    views: list[BrokerView] = []

    def make(**options: Any) -> BrokerView:
        options.setdefault("refresh_interval", None)
        view = broker.view(**options)
        views.append(view)
        return view

    yield make
    for view in views:
        view.close()


def publish_order(broker: SimulatedBroker, order_id: str = "A1") -> str:
    return TopicPublisher(default_registry(), broker.backend).publish(
        "orders", {"order_id": order_id}
    )


def cards(view: BrokerView, queue: str) -> list[dict[str, Any]]:
    return list(view.queue_pages[queue]["cards"])


def intent(view: BrokerView, name: str, **fields: Any) -> dict[str, Any]:
    """Sends ``view`` what its front end sends for a click; returns the result shown."""
    view._handle_custom_msg({"intent": name, **fields}, [])
    return dict(view.result)


def test_each_subscriber_queue_shows_its_copy_under_the_id_it_was_published_under(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView], comms: CommRecorder
) -> None:
    view = make_view()
    comms.clear()

    message_id = publish_order(fan_out)
    view.flush()

    sent = json.dumps([update["state"] for update in comms.updates()])
    for name in SUBSCRIBERS:  # shipping is raw delivery: linked by the delivered event's ids
        [card] = cards(view, name)
        assert card["published_id"] == message_id != card["id"]
        assert card["fields"] == [["order_id", "A1"]] and card["preview"] is None
        assert card["state"] == "visible"
        assert card["id"] in sent  # the new card went to the front end, no refresh pressed
    audit = view.queue_pages[FILTERED]
    assert audit["cards"] == [] and audit["filtered"]["title"] == "Filtered out 1 message"
    [note] = audit["filtered"]["items"]
    assert note["id"] == message_id and "manifest" in note["reason"]


def test_the_event_log_reaches_the_front_end_in_order_with_the_fan_out(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view()
    first = view.status["first_seq"]

    message_id = publish_order(fan_out)
    view.flush()

    fresh = view.events  # each update sends only the events it adds
    assert all(e["seq"] > first for e in fresh)
    assert [(e["kind"], e.get("queue")) for e in fresh] == [
        ("published", None),
        ("delivered", "billing"),
        ("delivered", "shipping"),
        ("filtered", FILTERED),
    ]
    assert {e.get("published_id", e.get("message_id")) for e in fresh} == {
        message_id
    }  # each copy names its publish
    assert fresh[0]["message_id"] == message_id
    assert all(e.get("message_id") not in (None, message_id) for e in fresh[1:3])  # copies
    assert "message_id" not in fresh[3]  # a filtered copy never existed
    assert "manifest" in fresh[-1]["reason"]
    assert (
        fresh[1]["text"].startswith(f"#{fresh[1]['seq']} ") and "queue billing" in fresh[1]["text"]
    )


def test_view_built_after_the_publish_reads_filter_notes_from_the_event_log(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    publish_order(fan_out)

    view = make_view()

    assert len(cards(view, "billing")) == 1
    assert view.queue_pages[FILTERED]["filtered"]["title"] == "Filtered out 1 message"
    assert view.status["first_seq"] == fan_out.events[-1].seq  # nothing before it is animated


def test_a_burst_of_events_is_one_redraw_on_the_event_loop_with_no_thread_of_its_own(
    fan_out: SimulatedBroker,
) -> None:
    threads_before = threading.active_count()

    async def scenario() -> tuple[int, int]:
        view = fan_out.view(refresh_interval=0.01)
        before = view.renders
        for number in range(100):
            publish_order(fan_out, f"A{number}")
        threads_during = threading.active_count()
        await asyncio.sleep(0.2)
        renders = view.renders - before
        view.close()
        return renders, threads_during

    renders, threads_during = asyncio.run(scenario())

    assert renders == 1  # 100 publishes made 400 events
    assert threads_during == threads_before


def test_a_queue_of_10000_messages_sends_one_page_of_cards_and_counts_the_rest(
    broker: SimulatedBroker, make_view: Callable[..., BrokerView], comms: CommRecorder
) -> None:
    backend = broker.backend
    queue, _ = backend.declare_queue("bulk")
    view = make_view()
    backend.publish_to_queue_batch(
        [MessageDto(Message.create(f'"n{i}"', "json", 1)) for i in range(10_000)], queue
    )
    comms.clear()

    view.flush()

    bulk = view.queue_pages["bulk"]
    assert len(bulk["cards"]) == 20 and bulk["total"] == 10_000 and bulk["pages"] == 500
    assert comms.bytes_sent < 80_000
    first_page = [c["id"] for c in bulk["cards"]]

    intent(view, "page", queue="bulk", page=1)

    second = view.queue_pages["bulk"]
    assert second["page"] == 1 and second["cards"][0]["preview"] == '"n20"'
    assert not set(first_page) & {c["id"] for c in second["cards"]}
    intent(view, "page", queue="bulk", page=10_000)
    assert view.queue_pages["bulk"]["page"] == 499


def test_peek_page_decodes_one_page_and_counts_the_whole_queue(broker: SimulatedBroker) -> None:
    queue, _ = broker.backend.declare_queue("bulk")
    broker.backend.publish_to_queue_batch(
        [MessageDto(Message.create(f'"n{i}"', "json", 1)) for i in range(45)], queue
    )

    page = broker.peek_page("bulk", offset=40, limit=20)

    assert page.total == 45 and [m.payload for m in page.messages] == [
        f"n{i}" for i in range(40, 45)
    ]


def test_peek_page_copies_only_its_page_out_of_moto(
    broker: SimulatedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue, _ = broker.backend.declare_queue("deep")
    broker.backend.publish_to_queue_batch(
        [MessageDto(Message.create(f'"n{i}"', "json", 1)) for i in range(10)], queue
    )
    copied: list[str] = []
    stored = look_inside._stored
    monkeypatch.setattr(
        look_inside, "_stored", lambda m, now: copied.append(m.id) or stored(m, now)
    )

    page = broker.peek_page("deep", offset=3, limit=2)

    assert page.total == 10 and len(copied) == 2
    assert [m.payload for m in page.messages] == ["n3", "n4"]


@pytest.mark.parametrize(("offset", "limit"), [(-1, 20), (0, 0), (0, 2.5), ("0", 20), (True, 20)])
def test_peek_page_refuses_a_page_that_cannot_exist(
    broker: SimulatedBroker, offset: Any, limit: Any
) -> None:
    broker.backend.declare_queue("deep")
    with pytest.raises(InvalidParameter, match=r"offset|limit"):
        broker.peek_page("deep", offset=offset, limit=limit)


def test_publish_form_defaults_to_the_registry_class_template_and_publishes_as_it_comes(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    registry = SerializerRegistry(
        {"serializers": {"pickle": PickleSerializer}, "serializer_bindings": {Greeting: "pickle"}}
    )
    view = make_view(registry=registry)
    [choice] = view.forms["classes"]  # no plain JSON: this registry cannot serialize a dict
    assert choice["label"] == "Greeting" and json.loads(choice["template"]) == {"message": "text"}
    assert view.forms["targets"]["topic"] == [{"name": "orders", "fifo": False}]

    result = intent(
        view, "publish", kind="topic", target="orders", choice="Greeting",
        payload=choice["template"],
    )  # fmt: skip

    assert result["ok"], result["text"]
    [card] = cards(view, "billing")
    assert card["fields"] == [["message", "text"]] and card["meta"].startswith("Greeting \u00b7")
    assert view.selected == card["published_id"]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"kind": "topic", "target": "orders", "payload": "{not json"}, "not valid JSON"),
        ({"kind": "topic", "target": "nope", "payload": "{}"}, "nope"),
        ({"kind": "topic", "target": "", "payload": "{}"}, "Name: choose the topic"),
        ({"kind": "queue", "target": "billing", "payload": "{}", "attributes": '{"a": "b"}'},
         "only be added when publishing to a topic"),
        ({"kind": "topic", "target": "orders", "payload": "{}", "attributes": "[1]"},
         "Attributes must be a JSON object"),
    ],
)  # fmt: skip
def test_publish_shows_the_lab_error_for_bad_input(
    fan_out: SimulatedBroker,
    make_view: Callable[..., BrokerView],
    fields: dict[str, str],
    says: str,
) -> None:
    view = make_view()

    result = intent(view, "publish", choice="plain JSON (dict, list, value)", **fields)

    assert not result["ok"] and says in result["text"]


def test_field_templates_come_from_dataclasses_and_constructors() -> None:
    assert field_template(Shipment) == {"order_id": "text", "parcels": 1}
    assert field_template(OrderCreated) == {"order_id": "text", "amount": 0}


def test_inspector_shows_the_envelope_attributes_as_attributes_and_fields_as_fields(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView], registry: SerializerRegistry
) -> None:
    view = make_view(registry=registry)
    message_id = TopicPublisher(registry, fan_out.backend).publish(
        "orders", OrderCreated("A7", 3), message_attributes={"priority": "high"}
    )
    view.flush()
    [card] = cards(view, "billing")

    intent(view, "inspect", queue="billing", id=card["id"])

    shown = view.inspected
    assert dict(shown["attributes"]) == {"manifest": "OrderCreated", "priority": "high",
                                         "serializer_id": "2"}  # fmt: skip
    assert shown["payload"]["fields"] == [["order_id", "A7"], ["amount", "3"]]
    assert shown["published_id"] == message_id and view.selected == message_id
    envelope = dict(shown["envelope"])
    assert envelope["TopicArn"].endswith(":orders") and "Message" not in envelope
    labels = [label for label, _ in shown["facts"]]
    assert len(labels) == len(set(labels)) and "published id" in labels


def test_selecting_a_published_id_inspects_one_of_its_copies(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view()
    message_id = publish_order(fan_out)
    view.flush()

    intent(view, "select", id=message_id)

    assert view.selected == message_id and view.inspected["published_id"] == message_id
    intent(view, "select", id="not-a-message")
    assert view.inspected == {"missing": "not-a-message"}


def test_payloads_read_as_fields_and_never_as_memory_addresses() -> None:
    assert readable(Shipment("A1")) == {"order_id": "A1", "parcels": 1}
    assert readable(Greeting("hi")) == {"message": "hi"}
    assert readable({"a": [1, (2, 3)], 4: {5}}) == {"a": [1, [2, 3]], "4": [5]}
    assert readable(Opaque()) == "<Opaque>" == readable(Opaque())
    colour = enum.Enum("Colour", "RED")
    assert readable(colour.RED) == "Colour.RED"


def test_a_body_its_serializer_cannot_decode_is_shown_with_the_error(
    broker: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    queue, _ = broker.backend.declare_queue("broken")
    pickle_id = PickleSerializer().identifier()
    broker.backend.publish_to_queue(Message.create("not a pickle", "Greeting", pickle_id), queue)

    [stored] = broker.peek("broken")
    view = make_view()

    assert stored.decode_error
    [card] = cards(view, "broken")
    assert card["preview"].startswith("cannot decode:") and card["decode_error"]
    intent(view, "inspect", queue="broken", id=card["id"])
    assert view.inspected["payload"]["error"] and "not a pickle" in view.inspected["body"]


def test_consume_panel_receives_releases_lets_time_out_and_acknowledges(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view()
    publish_order(fan_out)
    view.flush()

    assert intent(view, "receive", queue="billing", hide_for=30)["ok"]
    [held] = view.forms["held"]
    assert cards(view, "billing")[0]["state"] == "in_flight"
    assert "Released" in intent(view, "finish", id=held["id"], how="release")["text"]
    assert cards(view, "billing")[0]["state"] == "visible"

    intent(view, "receive", queue="billing", hide_for=30)
    intent(view, "finish", id=view.forms["held"][0]["id"], how="let_time_out")
    assert cards(view, "billing")[0]["state"] == "in_flight" and view.forms["held"] == []
    intent(view, "advance", seconds=31)
    assert cards(view, "billing")[0]["state"] == "visible"

    intent(view, "receive", queue="billing", hide_for=30)
    result = intent(view, "finish", id=view.forms["held"][0]["id"], how="acknowledge")
    assert "Acknowledged" in result["text"] and cards(view, "billing") == []
    assert not intent(view, "finish", id="gone", how="acknowledge")["ok"]


def test_consume_panel_starts_and_stops_a_background_consumer(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view()

    assert intent(view, "background", queue="billing", on=True)["ok"]
    assert view.forms["background"] == "billing"
    assert "stopped" in intent(view, "background", queue="billing", on=False)["text"]
    assert view.forms["background"] is None


def test_dead_lettering_reaches_the_front_end_with_its_dead_letter_queue(
    broker: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    backend = broker.backend
    queue, _ = backend.declare_queue("work", dead_letter_queue_name="work-dlq", max_receive_count=1)
    view = make_view()
    QueuePublisher(default_registry(), backend).publish("work", {"n": 1})
    for _ in range(2):
        backend.retrieve_messages(queue, visibility_timeout=0)
    view.flush()

    [moved] = [e for e in view.events if e["kind"] == "dead_lettered"]
    assert moved["detail"]["dead_letter_queue"] == "work-dlq"
    assert [c["state"] for c in cards(view, "work-dlq")] == ["dead_lettered"]
    assert view.structure["queues"][0]["dead_letter_queue"] == "work-dlq"


def test_an_event_kind_the_view_does_not_know_is_passed_on_as_it_is(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view()
    newer = Event(seq=10_000, at=0.0, kind="deduplicated", queue="billing")  # type: ignore[arg-type]

    view._heard(newer)
    view.flush()

    assert view.events[-1]["kind"] == "deduplicated"
    assert view.events[-1]["text"] == "#10000 00:00:00 deduplicated, queue billing"


def test_a_source_that_cannot_peek_says_so_and_is_read_only(fan_out: SimulatedBroker) -> None:
    publish_order(fan_out)

    class RealEndpointLike:
        """Like a read-only observer of a real endpoint: the same methods, no peeking."""

        events = fan_out.events
        subscribe = staticmethod(fan_out.subscribe)
        topics = staticmethod(fan_out.topics)
        queues = staticmethod(fan_out.queues)
        subscriptions = staticmethod(fan_out.subscriptions)

        def peek(self, queue: str) -> list[PeekedMessage]:
            raise PeekNotSupported(queue)

    view = BrokerView(RealEndpointLike(), refresh_interval=None)
    try:
        billing = view.queue_pages["billing"]
        assert "real endpoint" in billing["peek_error"] and billing["visible"] == 1
        assert view.read_only
        assert "read-only" in intent(view, "receive", queue="billing")["text"]
    finally:
        view.close()


def test_closing_the_view_stops_listening(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view()
    heard: list[Event] = []
    fan_out.subscribe(heard.append)
    view.close()
    renders = view.renders

    publish_order(fan_out)
    view.flush()

    assert heard and view.renders == renders and view.events[-1]["kind"] != "filtered"


def test_static_html_shows_cards_and_filter_notes_without_widgets(
    fan_out: SimulatedBroker,
) -> None:
    message_id = publish_order(fan_out)

    page = fan_out._repr_html_()

    assert page.count("data-message-id=") == 2
    assert "Filtered out 1 message" in page and message_id[:8] in page
    assert "<svg" in page and "SUBSCRIPTION" in page and "manifest: OrderCreated" in page
    billing = next(q for q in fan_out.queues() if q.name == "billing")
    assert "billing-dlq" in billing._repr_html_()


def test_the_front_end_ships_as_package_files_with_a_render_function() -> None:
    static = Path(broker_view.__file__).parent / "static"
    module = (static / "view.js").read_text()
    assert "export default { render }" in module and "data-lm-suppress-shortcuts" in module
    assert "prefers-reduced-motion" in module and "attachShadow" in module
    assert "prefers-reduced-motion" in (static / "view.css").read_text()


def test_texts_and_shapes_are_decided_once_in_python_and_both_drawings_take_them(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    """The live front end and the static page draw the same dicts: neither spells a text or
    a shape of its own that the other would have to repeat."""
    MessagingBackendFactory(fan_out.backend).init_queue("empty.fifo")
    publish_order(fan_out)
    module = (Path(broker_view.__file__).parent / "static" / "view.js").read_text()
    page = fan_out._repr_html_()
    view = make_view()

    decided = [picture.NO_TOPOLOGY, picture.NO_MESSAGES, "dead-letter queue", '"FIFO"',
               topology.ARROW["path"], "from topic", " more`"]  # fmt: skip
    assert [text for text in decided if text in module] == []
    billing = view.queue_pages["billing"]
    assert billing["total_text"] == "1 message" and picture.NO_MESSAGES in page
    assert view.structure["texts"]["no_messages"] == picture.NO_MESSAGES
    assert {"text": "FIFO", "cls": "mlv-tag"} in next(
        q for q in view.structure["queues"] if q["name"] == "empty.fifo"
    )["tags"]
    assert view.structure["diagram"]["arrow"]["path"] in page
    card = billing["cards"][0]
    assert card["state_text"] in page and card["state_text"].endswith("visible")
    [note] = view.queue_pages[FILTERED]["filtered"]["items"]
    assert html.escape(note["text"]) in page and note["text"].startswith("from topic orders: ")


@pytest.mark.parametrize(
    ("module", "must_not_load"),
    [("melange_lab", "ipywidgets"), ("melange_lab", "anywidget"),
     ("melange_lab.inspection", "melange_lab.widgets")],
)  # fmt: skip
def test_lower_layers_do_not_import_the_view(module: str, must_not_load: str) -> None:
    code = f"import sys, {module}; print({must_not_load!r} in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_static_html_shows_an_object_payload_by_its_fields_with_unique_arrow_ids(
    fan_out: SimulatedBroker, registry: SerializerRegistry
) -> None:
    TopicPublisher(registry, fan_out.backend).publish("orders", OrderCreated("A9", 2))

    first, second = fan_out._repr_html_(), fan_out._repr_html_()

    assert '<span class="mlv-k">order_id:</span> <span class="mlv-v">A9</span>' in first
    assert " at 0x" not in first
    markers = set(re.findall(r'marker id="([^"]+)"', first + second))
    assert len(markers) == 4  # each picture's own arrowheads
    assert 'role="img" aria-label="Broker topology: Topic orders feeds 3 queues:' in first


def test_publish_to_a_fifo_queue_needs_and_takes_a_group_id(
    broker: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    broker.backend.declare_queue("orders.fifo", content_based_deduplication=True)
    view = make_view()
    form = {"kind": "queue", "target": "orders.fifo", "payload": '{"n": 1}',
            "choice": "plain JSON (dict, list, value)"}  # fmt: skip

    refused = intent(view, "publish", **form)
    assert not refused["ok"] and refused["text"].startswith("Group id: orders.fifo is FIFO")
    assert "message_group_id" not in refused["text"]  # the form's field, not Python's keyword
    assert intent(view, "publish", group_id="g1", **form)["ok"]

    [card] = cards(view, "orders.fifo")
    assert card["group"] == "g1" and "group g1" in card["meta"]
    assert view.forms["targets"] == {"topic": [], "queue": [{"name": "orders.fifo", "fifo": True}]}
    assert not view.read_only


def test_a_view_follows_the_newer_broker_that_replaced_its_own(
    fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    view = fan_out.view(refresh_interval=None)
    publish_order(fan_out)
    view.flush()

    newer = SimulatedBroker(clock="manual")  # what re-running a notebook's first cell does
    try:
        MessagingBackendFactory(newer.backend).init_queue("invoices", ["bills"])
        message_id = TopicPublisher(default_registry(), newer.backend).publish("bills", {"n": 1})
        view.flush()

        assert set(view.queue_pages) == {"invoices"} and view.status["live"]
        assert view.status["epoch"] == 1 and "newer SimulatedBroker" in view.status["text"]
        assert [c["published_id"] for c in cards(view, "invoices")] == [message_id]
        assert view.events[-1]["kind"] == "delivered" and view.status["first_seq"] == 0
        assert intent(view, "publish", kind="topic", target="bills", payload="{}",
                      choice="plain JSON (dict, list, value)")["ok"]  # fmt: skip
        assert len(cards(view, "invoices")) == 2
    finally:
        view.close()
        newer.stop()


def test_a_view_whose_broker_stopped_keeps_its_picture_and_says_so_once(
    fan_out: SimulatedBroker,
) -> None:
    view = fan_out.view(refresh_interval=None)
    publish_order(fan_out)
    view.flush()
    before = json.dumps(view.queue_pages)

    fan_out.stop()
    view.flush()
    view.refresh()

    assert json.dumps(view.queue_pages) == before  # the last picture stays
    assert not view.status["live"] and view.status["text"].startswith("This broker was stopped")
    refused = intent(view, "publish", kind="topic", target="orders", payload="{}",
                     choice="plain JSON (dict, list, value)")  # fmt: skip
    assert not refused["ok"] and "stopped" in refused["text"]
    view.close()


def test_each_update_sends_only_its_events_and_a_new_front_end_gets_the_earlier_ones(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView], comms: CommRecorder
) -> None:
    view = make_view()
    publish_order(fan_out, "A1")
    view.flush()
    publish_order(fan_out, "A2")
    view.flush()
    assert len(view.events) == 4  # the second publish only

    comms.clear()
    intent(view, "history")

    [answer] = [m["content"] for m in comms.messages if m.get("method") == "custom"]
    seqs = [e["seq"] for e in answer["history"]]
    assert seqs == sorted(seqs) and seqs[-1] == fan_out.events[-1].seq
    assert {e["kind"] for e in answer["history"]} >= {"subscribed", "published", "filtered"}
    assert answer["epoch"] == view.status["epoch"]


def test_an_answer_names_the_request_the_front_end_is_waiting_for(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view()

    done = intent(view, "publish", kind="topic", target="orders", payload="{}", panel="publish",
                  choice="plain JSON (dict, list, value)", request=7)  # fmt: skip
    refused = intent(view, "receive", queue="nope", panel="consume", request=8)

    assert done["ok"] and done["request"] == 7 and done["panel"] == "publish"
    assert not refused["ok"] and refused["request"] == 8 and refused["panel"] == "consume"


class Event9:  # tutorial 9's pattern: one base class bound to cover a family of events
    """Base of every event."""


@dataclasses.dataclass
class Placed(Event9):
    order_id: str
    amount: int


@dataclasses.dataclass
class Shipped(Event9):
    order_id: str


def test_publish_offers_a_bound_base_classs_subclasses_and_its_default_publishes(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    registry = SerializerRegistry(
        {"serializers": {"pickle": PickleSerializer}, "serializer_bindings": {Event9: "pickle"}}
    )
    view = make_view(registry=registry)

    labels = [c["label"] for c in view.forms["classes"]]
    first = view.forms["classes"][0]
    result = intent(view, "publish", kind="topic", target="orders", choice=first["label"],
                    payload=first["template"])  # fmt: skip

    assert labels == ["Placed", "Shipped"]  # not the abstract base with {}
    assert json.loads(first["template"]) == {"order_id": "text", "amount": 0}
    assert result["ok"], result["text"]
    assert cards(view, "billing")[0]["fields"] == [["order_id", "text"], ["amount", "0"]]


def test_a_fifo_topics_default_group_id_publishes(
    broker: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("ledger.fifo", ["events.fifo"])
    view = make_view()
    [topic] = view.forms["targets"]["topic"]
    form = {"kind": "topic", "target": topic["name"], "payload": '{"op": "open"}',
            "choice": "plain JSON (dict, list, value)"}  # fmt: skip

    missing = intent(view, "publish", **form)
    published = intent(view, "publish", group_id=view.forms["default_group"], **form)

    assert topic["fifo"] and not missing["ok"] and missing["text"].startswith("Group id:")
    assert published["ok"], published["text"]
    [card] = cards(view, "ledger.fifo")
    assert card["group"] == view.forms["default_group"] and card["fields"] == [["op", "open"]]


def test_a_nested_class_nobody_bound_reads_as_its_reason_not_message_none(
    broker: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    registry = SerializerRegistry(
        {"serializers": {"pickle": PickleSerializer}, "serializer_bindings": {Outer: "pickle"}}
    )
    broker.backend.declare_queue("q")
    QueuePublisher(registry, broker.backend).publish("q", Outer())
    view = make_view(registry=registry)

    [card] = cards(view, "q")

    assert card["decode_error"] and "Message None" not in card["preview"]
    assert "Inner" in card["preview"] and "does not trust" in card["preview"]


class Inner:
    def __init__(self) -> None:
        self.x = 1


class Outer:
    def __init__(self) -> None:
        self.inner = Inner()
