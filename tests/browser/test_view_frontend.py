"""The view's front end on its own, fed what a real BrokerView sends, its clock run by hand:
cause before effect, bursts, busy panels, replay, following and stopping, folded values."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from melange_lab import MessagingBackendFactory, QueuePublisher, SimulatedBroker, TopicPublisher
from melange_lab.widgets.actions import default_registry
from melange_lab.widgets.comm_recorder import CommRecorder, recording_comms

from .axe import axe_violations, describe
from .frontend import FrontEnd, blank_page
from .view_checks import overlapping_labels

TRAVEL_MS = 1300  # view.js: one journey along the diagram
STAGGER_MS = 450  # view.js: between two messages' journeys
SUBSCRIBERS = ("billing", "shipping", "analytics")


@pytest.fixture
def comms() -> Iterator[CommRecorder]:
    with recording_comms() as recorder:
        yield recorder


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    with blank_page(chromium) as blank:
        blank.clock.install()
        yield blank


@pytest.fixture
def fan_out(broker: SimulatedBroker) -> SimulatedBroker:
    factory = MessagingBackendFactory(broker.backend)
    for name in SUBSCRIBERS:
        factory.init_queue(name, ["orders"])
    broker.backend.declare_queue(
        "audit", broker.backend.declare_topic("orders"), filter_events=["OrderCreated"]
    )
    return broker


def expect_no_violations(front: FrontEnd, where: str) -> None:
    """axe-core (WCAG 2.1 AA) finds nothing in the view, in the light and the dark theme."""
    for light in ("true", "false"):
        front.page.evaluate("(light) => { document.body.dataset.jpThemeLight = light; }", light)
        front.page.wait_for_timeout(700)  # a card's colours ease to the theme's in 0.6 s
        violations = axe_violations(front.page, front.root)
        assert violations == [], f"{where}, light={light}: {describe(violations)}"
    front.page.evaluate("() => { delete document.body.dataset.jpThemeLight; }")


def mount(page: Page, broker: SimulatedBroker, comms: CommRecorder) -> FrontEnd:
    return FrontEnd(page, broker.view(default_registry(), refresh_interval=None), comms)


def publish(broker: SimulatedBroker, n: int = 1, topic: str = "orders") -> list[str]:
    publisher = TopicPublisher(default_registry(), broker.backend)
    return [publisher.publish(topic, {"order_id": f"A{i}"}) for i in range(n)]


def cards(front: FrontEnd, queue: str) -> int:
    return front.root.locator(
        f'.mlv-queue[data-queue="{queue}"] .mlv-card:not(.mlv-leaving)'
    ).count()


def count_line(front: FrontEnd, queue: str) -> str:
    return front.root.locator(f'.mlv-topology text[data-count-of="{queue}"]').text_content() or ""


@pytest.mark.browser
def test_the_token_travels_first_then_the_card_lands_and_the_counts_change(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)

    publish(fan_out)
    front.sync()

    travelling = front.root.locator('.mlv-token[data-phase="travelling"][data-outcome="delivered"]')
    expect(travelling).to_have_count(3)
    assert [cards(front, q) for q in SUBSCRIBERS] == [0, 0, 0]  # nothing has arrived yet
    assert count_line(front, "billing") == "0 messages"
    page.clock.run_for(TRAVEL_MS // 2)
    assert cards(front, "billing") == 0 and overlapping_labels(front.root) == []
    page.clock.run_for(TRAVEL_MS // 2 + 100)
    assert [cards(front, q) for q in SUBSCRIBERS] == [1, 1, 1]
    assert count_line(front, "billing") == "1 message"
    stopped = front.root.locator('.mlv-token[data-outcome="filtered"][data-queue="audit"]')
    expect(stopped).to_have_attribute("data-phase", "stopped")


@pytest.mark.browser
def test_a_token_never_covers_the_text_of_a_box_it_passes_through(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)
    publish(fan_out, 2)
    front.sync()

    hidden = seen = 0
    marks: set[str] = set()
    for _ in range((TRAVEL_MS + STAGGER_MS) // 50):
        page.clock.run_for(50)
        assert overlapping_labels(front.root) == []  # numbers inside tokens included
        tokens = front.root.locator('.mlv-token[data-phase="travelling"]')
        seen += tokens.count()
        hidden += front.root.locator(
            '.mlv-token[data-phase="travelling"][visibility="hidden"]'
        ).count()
        marks.update(front.root.locator(".mlv-token-label").all_text_contents())

    assert 0 < hidden < seen  # seen between the boxes, hidden while passing through one
    assert marks == {"1", "2"}  # two messages travel, numbered as the caption tells them


@pytest.mark.browser
def test_a_burst_draws_the_first_messages_journeys_and_tells_the_rest(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)

    published = publish(fan_out, 40)
    front.sync()

    tokens = front.root.locator(".mlv-token")
    page.clock.run_for(5 * STAGGER_MS)
    moving = set(tokens.evaluate_all("(ts) => ts.map((t) => t.dataset.publishedId)"))
    assert moving == set(published[:5])  # the first five travel, fan-out and filter included
    caption = front.root.locator(".mlv-caption")
    expect(caption).to_contain_text("Not drawn: 35 more messages")
    expect(caption).to_contain_text("the timeline has every event")
    page.clock.run_for(10_000)
    assert (
        cards(front, "billing") == 20
        and "40 visible"
        in front.root.locator('.mlv-queue[data-queue="billing"] .mlv-counts').inner_text()
    )  # one page of cards; the counts have every message


@pytest.mark.browser
def test_an_update_with_nothing_to_travel_says_what_happened_not_that_it_went_undrawn(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    [published] = publish(fan_out)
    front = mount(page, fan_out, comms)
    billing = fan_out.backend.get_queue("billing")

    [received] = fan_out.backend.retrieve_messages(billing)
    fan_out.backend.acknowledge(received)
    front.sync()

    expect(front.root.locator(".mlv-caption")).to_have_text(
        f"Message {published[:8]} received from billing; acknowledged in billing."
    )


@pytest.mark.browser
def test_the_caption_tells_a_messages_steps_in_the_order_they_happened(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    backend = fan_out.backend
    backend.declare_queue("payments", dead_letter_queue_name="payments-dlq", max_receive_count=1)
    payments = backend.get_queue("payments")
    front = mount(page, fan_out, comms)

    published = QueuePublisher(default_registry(), backend).publish("payments", {"n": 1})
    for _ in range(2):  # the second receive finds it received once already: dead-lettered
        backend.retrieve_messages(payments, visibility_timeout=0)
    fan_out.redrive("payments-dlq")
    [received] = backend.retrieve_messages(payments)
    backend.acknowledge(received)
    front.sync()

    expect(front.root.locator(".mlv-caption")).to_have_text(
        f"{published[:8]} published to queue payments; received from payments; dead-lettered to "
        "payments-dlq; redriven to payments; received from payments; acknowledged in payments."
    )


@pytest.mark.browser
def test_a_fan_out_is_told_as_one_moment_its_deliveries_together(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)

    [published] = publish(fan_out)
    front.sync()

    told = front.root.locator(".mlv-caption").inner_text()
    assert told.startswith(f"{published[:8]} published to topic orders; ")
    assert told.count("delivered to") == 1 and told.count("filtered out of audit") == 1, told
    assert all(name in told for name in SUBSCRIBERS), told


@pytest.mark.browser
def test_fan_out_travels_even_when_receives_come_first_in_the_update(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    publish(fan_out, 12)
    front = mount(page, fan_out, comms)
    billing = fan_out.backend.get_queue("billing")

    fan_out.backend.retrieve_messages(billing, max_messages=10)  # ten receives, first
    fresh = publish(fan_out, 2)
    front.sync()
    page.clock.run_for(2 * STAGGER_MS)

    moving = set(front.root.locator(".mlv-token").evaluate_all(
        "(ts) => ts.map((t) => t.dataset.publishedId)"))  # fmt: skip
    assert moving == set(fresh)


@pytest.mark.browser
def test_a_panel_is_busy_until_its_answer_and_ready_again_if_none_comes(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)
    publish_button = front.root.locator('[data-panel="publish"]').get_by_role(
        "button", name="Publish"
    )

    publish_button.click()

    expect(publish_button).to_be_disabled()
    expect(publish_button).to_have_attribute("aria-busy", "true")
    expect_no_violations(front, "a busy panel")
    front.answer()
    expect(publish_button).to_be_enabled()
    expect(front.root.locator('[data-panel="publish"] .mlv-ok')).to_contain_text("Published")

    publish_button.click()  # this time the kernel never answers
    page.clock.run_for(19_000)
    expect(publish_button).to_be_disabled()
    page.clock.run_for(1_500)
    expect(publish_button).to_be_enabled()
    expect(front.root.locator('[data-panel="publish"] .mlv-error')).to_contain_text(
        "No answer from the kernel"
    )
    expect_no_violations(front, "an error shown")


@pytest.mark.browser
def test_replay_starts_at_the_first_publish_and_keeps_the_current_row_in_view(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)
    publish(fan_out, 30)
    front.sync()
    timeline = front.root.locator('[data-section="timeline"]')

    timeline.get_by_role("button", name="Replay").click()

    status = timeline.locator(".mlv-tl-status")
    expect(status).to_contain_text("published")
    for _ in range(60):
        page.clock.run_for(800)
    current = timeline.locator(".mlv-seq-current")
    expect(current).to_have_count(1)
    box, row = timeline.locator(".mlv-sequence").bounding_box(), current.bounding_box()
    assert (
        box
        and row
        and box["y"] <= row["y"]
        and row["y"] + row["height"] <= box["y"] + box["height"]
    )


def newest_row_in_sight(front: FrontEnd) -> bool:
    return bool(
        front.root.locator(".mlv-sequence").evaluate(
            """(box) => {
                 const rows = [...box.querySelectorAll('.mlv-seq-row')];
                 const last = rows.reduce((a, b) => (+a.dataset.seq > +b.dataset.seq ? a : b));
                 const r = last.getBoundingClientRect(), b = box.getBoundingClientRect();
                 return r.top >= b.top && r.bottom <= b.bottom + 1;
               }"""
        )
    )


@pytest.mark.browser
def test_the_newest_events_stay_in_sight_until_the_learner_scrolls_back(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)
    publish(fan_out, 12)
    front.sync()
    sequence = front.root.locator(".mlv-sequence")
    assert sequence.evaluate("(box) => box.scrollHeight > box.clientHeight * 2")
    assert newest_row_in_sight(front)

    sequence.evaluate("(box) => { box.scrollTop = 0; box.dispatchEvent(new Event('scroll')); }")
    publish(fan_out, 3)
    front.sync()

    assert sequence.evaluate("(box) => box.scrollTop") == 0  # the learner's place is kept
    assert not newest_row_in_sight(front)


@pytest.mark.browser
def test_following_one_message_shows_what_happened_to_each_of_its_copies(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)
    [message_id] = publish(fan_out)
    publish(fan_out)  # another message, not followed
    for name in ("billing", "shipping"):
        queue = fan_out.backend.get_queue(name)
        for received in fan_out.backend.retrieve_messages(queue, max_messages=10):
            fan_out.backend.acknowledge(received)
    front.sync()
    timeline = front.root.locator('[data-section="timeline"]')

    timeline.get_by_label("Message").select_option(message_id)

    kinds = timeline.locator(".mlv-event-list li").all_text_contents()  # a closed <details>
    assert all(message_id[:8] in text for text in kinds), kinds
    for words in ("published", "delivered", "filtered", "received", "acknowledged"):
        assert any(f" {words}" in text for text in kinds), (words, kinds)
    assert sum(" received" in text for text in kinds) == 2  # one per queue that received it


@pytest.mark.browser
def test_a_stopped_broker_leaves_its_picture_and_one_calm_line(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)
    publish(fan_out)
    front.sync()
    page.clock.run_for(3000)

    fan_out.stop()
    front.sync()

    status = front.root.locator(".mlv-status")
    expect(status).to_have_text(
        "This broker was stopped; the picture shows it as it was then. Create or start a broker "
        "and a new view to go on."
    )
    assert cards(front, "billing") == 1
    expect(
        front.root.locator('[data-panel="publish"]').get_by_role("button", name="Publish")
    ).to_be_disabled()
    expect_no_violations(front, "a stopped broker")


@pytest.mark.browser
def test_a_view_that_follows_a_new_broker_animates_the_new_brokers_events(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)
    publish(fan_out, 3)
    front.sync()
    page.clock.run_for(5000)

    newer = SimulatedBroker(clock="manual")
    try:
        MessagingBackendFactory(newer.backend).init_queue("invoices", ["bills"])
        front.sync()
        publish(newer, 1, topic="bills")
        front.sync()

        token = front.root.locator('.mlv-token[data-queue="invoices"]')
        expect(token).to_have_count(1)  # event 1 of the new broker is news, not history
        page.clock.run_for(TRAVEL_MS + 200)
        assert cards(front, "invoices") == 1
        assert front.root.locator(".mlv-queue").count() == 1
        expect(front.root.locator(".mlv-status")).to_contain_text("newer SimulatedBroker")
    finally:
        newer.stop()


@pytest.mark.browser
def test_the_inspector_folds_a_long_value_until_asked(
    page: Page, fan_out: SimulatedBroker, comms: CommRecorder
) -> None:
    front = mount(page, fan_out, comms)
    publish(fan_out)
    front.sync()
    page.clock.run_for(3000)

    front.root.locator('.mlv-queue[data-queue="billing"] .mlv-card button').click()
    front.answer()

    signature = front.root.locator(".mlv-envelope tr").filter(
        has=page.get_by_role("rowheader", name="Signature", exact=True)
    )
    fold = signature.get_by_role("button", name="Show all")
    expect(fold).to_have_attribute("aria-expanded", "false")
    assert len(signature.locator("td").inner_text()) < 140
    fold.click()
    assert len(signature.locator("td").inner_text()) > 300
    expect(front.root.locator(".mlv-inspector details summary")).to_contain_text(
        "The body as SQS stores it"
    )


@pytest.mark.browser
def test_a_new_front_end_asks_for_the_earlier_events_and_its_timeline_shows_them(
    page: Page, broker: SimulatedBroker, comms: CommRecorder
) -> None:
    broker.backend.declare_queue("work")
    QueuePublisher(default_registry(), broker.backend).publish("work", {"n": 1})
    front = mount(page, broker, comms)

    assert {"intent": "history"} in front.sent()
    front.answer()

    rows = front.root.locator(".mlv-event-list li")
    expect(rows).to_have_count(2)
    expect(rows.last).to_contain_text("published")
