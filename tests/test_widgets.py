"""The broker view without a browser: widgets get a recording comm, tests read their state."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from melange_lab import SimulatedBroker, TopicPublisher
from melange_lab.events import Event
from melange_lab.inspection import PeekedMessage, PeekNotSupported
from melange_lab.models import Message, MessageDto
from melange_lab.serializers import SerializerRegistry
from melange_lab.widgets.broker_view import BrokerView
from melange_lab.widgets.comm_recorder import CommRecorder, recording_comms
from melange_lab.widgets.publish_panel import default_registry
from melange_lab.widgets.queue_panel import QueuePanel
from tests.messages import OrderCreated

SUBSCRIBERS = ("billing", "shipping")
FILTERED = "audit"


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


def card_ids(panel: QueuePanel) -> list[str]:
    return re.findall(r'data-message-id="([^"]+)"', panel.cards.value)


def test_two_subscriber_panels_show_the_message_and_the_filtered_one_says_why(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView], comms: CommRecorder
) -> None:
    view = make_view()
    comms.clear()

    message_id = publish_order(fan_out)
    view.flush()

    sent = " ".join(str(update["state"]) for update in comms.updates())
    for name in SUBSCRIBERS:
        [card] = card_ids(view.panels[name])  # each queue's copy has its own SQS message id
        assert "1 message" in view.panels[name].summary.value
        assert "&quot;order_id&quot;: &quot;A1&quot;" in view.panels[name].cards.value
        assert "cannot decode" not in view.panels[name].cards.value  # raw delivery decodes too
        assert card in sent  # the new card went to the front end, no refresh pressed
    audit = view.panels[FILTERED]
    assert card_ids(audit) == []
    assert "Filtered out 1 message" in audit.filtered.value
    assert message_id[:8] in audit.filtered.value  # the topic's message id
    assert "manifest" in audit.filtered.value  # the filter's reason names the attribute


def test_view_built_after_the_publish_reads_filter_notes_from_the_event_log(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    publish_order(fan_out)

    view = make_view()

    assert len(card_ids(view.panels["billing"])) == 1
    assert "Filtered out 1 message" in view.panels[FILTERED].filtered.value


def test_views_redraw_by_themselves_and_coalesce_a_burst_of_events(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view(refresh_interval=0.05)
    before = view.renders

    for number in range(100):
        publish_order(fan_out, f"A{number}")
    deadline = time.monotonic() + 5
    while "of 100 (" not in view.panels["billing"].summary.value and time.monotonic() < deadline:
        time.sleep(0.02)

    assert "of 100 (80 not shown)" in view.panels["billing"].summary.value
    assert 1 <= view.renders - before < 50  # 100 publishes made 400 events


def test_a_queue_of_10000_messages_shows_one_page_of_cards_and_counts_the_rest(
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

    panel = view.panels["bulk"]
    assert len(card_ids(panel)) == 20
    assert "of 10,000 (9,980 not shown)" in panel.summary.value
    assert panel.previous_button.disabled and not panel.next_button.disabled
    assert comms.bytes_sent < 30_000
    first_page = card_ids(panel)

    panel.turn(1)

    assert len(card_ids(panel)) == 20 and card_ids(panel) != first_page
    assert "messages 21\u201340 of 10,000" in panel.summary.value
    panel.turn(10_000)
    assert "page 500 of 500" in panel.summary.value and panel.next_button.disabled


def test_publish_panel_shows_a_clear_error_for_invalid_json(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    panel = make_view().publish_panel
    assert panel is not None
    panel.target.value = "orders"
    panel.payload.value = '{"order_id": A1}'

    assert panel.publish() is None

    assert "not valid JSON" in panel.status.value and "line 1, column 14" in panel.status.value
    assert "Traceback" not in panel.status.value


def test_publish_panel_shows_a_clear_error_for_an_unknown_queue_or_topic(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    panel = make_view().publish_panel
    assert panel is not None
    panel.kind.value = "queue"
    panel.target.value = "biling"

    assert panel.publish() is None
    assert "Queue &#x27;biling&#x27; does not exist" in panel.status.value
    assert "&#x27;billing&#x27;" in panel.status.value  # lists the queues that do exist

    panel.kind.value = "topic"
    panel.target.value = "order"
    assert panel.publish() is None
    assert "Topic &#x27;order&#x27; does not exist" in panel.status.value
    assert [t.name for t in fan_out.topics()] == ["orders"]  # nothing was declared by mistake


def test_publish_panel_publishes_a_registered_class_with_attributes_to_a_topic(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView], registry: SerializerRegistry
) -> None:
    view = make_view(registry=registry)
    panel = view.publish_panel
    assert panel is not None
    panel.target.value = "orders"
    panel.message_class.value = OrderCreated
    panel.payload.value = '{"order_id": "B7", "amount": 2}'
    panel.attributes.value = '{"priority": "high"}'

    message_id = panel.publish()
    view.flush()

    assert message_id is not None and "Published" in panel.status.value
    for name in (*SUBSCRIBERS, FILTERED):
        assert len(card_ids(view.panels[name])) == 1
        assert "OrderCreated" in view.panels[name].cards.value
    [stored] = fan_out.peek("billing", registry)
    assert stored.payload == OrderCreated("B7", 2)
    assert stored.envelope is not None and "priority" in stored.envelope["MessageAttributes"]


def test_inspector_shows_the_sns_envelope_of_a_topic_message(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    message_id = publish_order(fan_out)
    view = make_view()
    [card] = card_ids(view.panels["billing"])

    view.panels["billing"].pick.value = card

    shown = view.inspector.detail.value
    assert view.tabs.selected_index == view._inspector_tab
    assert f'data-message-id="{card}"' in shown
    assert "&quot;Type&quot;: &quot;Notification&quot;" in shown  # the SNS envelope
    assert message_id in shown  # the envelope carries the topic's message id
    assert "&quot;order_id&quot;: &quot;A1&quot;" in shown  # the decoded payload
    assert "manifest" in shown and "serializer_id" in shown  # the attributes
    view.panels["shipping"].pick.value = card_ids(view.panels["shipping"])[0]
    assert "none: sent straight to the queue, or raw delivery" in view.inspector.detail.value


def test_consumer_controls_receive_release_time_out_and_acknowledge(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    publish_order(fan_out)
    view = make_view()
    controls = view.consumer_controls
    assert controls is not None
    controls.queue.value = "billing"
    billing = view.panels["billing"]

    def state() -> str:
        view.flush()
        found = re.search(r'data-state="([^"]+)"', billing.cards.value)
        return found.group(1) if found else "gone"

    controls.receive()
    assert state() == "in_flight"
    controls.release()
    assert state() == "visible"
    controls.receive()
    controls.let_time_out()
    assert state() == "in_flight"
    controls.seconds.value = 31
    controls.advance_clock()
    assert state() == "visible"
    controls.receive()
    controls.acknowledge()
    assert state() == "gone"
    assert "Acknowledged" in controls.status.value


def test_consumer_controls_start_and_stop_a_background_consumer(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    publish_order(fan_out)
    view = make_view()
    controls = view.consumer_controls
    assert controls is not None
    controls.queue.value = "billing"

    controls.background_button.value = True
    deadline = time.monotonic() + 5
    while fan_out.peek("billing") and time.monotonic() < deadline:
        time.sleep(0.05)
    controls.background_button.value = False

    assert fan_out.peek("billing") == []
    assert "1 received, 1 processed" in controls.status.value


def test_timeline_filters_by_kind_and_queue_and_exports_dicts(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view()
    publish_order(fan_out)
    view.flush()
    timeline = view.timeline

    timeline.kind.value = "filtered"
    assert [e["queue"] for e in timeline.export()] == [FILTERED]
    timeline.kind.value = "any"
    timeline.queue.value = "shipping"
    kinds = [e["kind"] for e in timeline.export()]
    assert kinds == ["queue_declared", "subscribed", "delivered"]
    assert "delivered" in timeline.rows.value


def test_a_source_that_cannot_peek_says_so_instead_of_showing_no_messages(
    fan_out: SimulatedBroker,
) -> None:
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
        billing = view.panels["billing"]
        assert "Peeking is not possible on a real endpoint" in billing.cards.value
        assert card_ids(billing) == []
        assert "1 visible" in billing.header.value
        assert view.publish_panel is None
    finally:
        view.close()


def test_static_html_shows_cards_and_filter_notes_without_widgets(
    fan_out: SimulatedBroker,
) -> None:
    message_id = publish_order(fan_out)

    page = fan_out._repr_html_()

    assert page.count("data-message-id=") == 2
    assert "Filtered out 1 message" in page and message_id[:8] in page
    assert "<svg" in page and "SUBSCRIPTION" in page
    billing = next(q for q in fan_out.queues() if q.name == "billing")
    assert "billing-dlq" in billing._repr_html_()


def test_closing_the_view_stops_listening(
    fan_out: SimulatedBroker, make_view: Callable[..., BrokerView]
) -> None:
    view = make_view(refresh_interval=0.01)
    heard: list[Event] = []
    fan_out.subscribe(heard.append)
    view.close()
    renders = view.renders

    publish_order(fan_out)
    time.sleep(0.1)

    assert heard and view.renders == renders


def test_importing_melange_lab_does_not_import_ipywidgets() -> None:
    code = "import sys, melange_lab; print('ipywidgets' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
