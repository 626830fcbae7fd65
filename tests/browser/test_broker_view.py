"""broker.view() in a real JupyterLab: each subscriber queue's panel shows the published
message, the filtered queue says why it has none, and a publish from the panel shows up live."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import SaveScreenshot
from .lab_harness import DARK_THEME, Lab

SETUP_CELL = """\
from melange_lab import SimulatedBroker, TopicPublisher
from melange_lab.serializers import JsonSerializer, SerializerRegistry

broker = SimulatedBroker(clock="manual")
backend = broker.backend
orders = backend.declare_topic("orders")
backend.declare_queue("billing", orders, dead_letter_queue_name="billing-dlq")
backend.declare_queue("shipping", orders, raw_message_delivery=True)
backend.declare_queue("audit", orders, filter_events=["OrderCreated"])
registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
TopicPublisher(registry, backend).publish("orders", {"order_id": "A1", "amount": 3})
"""
VIEW_CELL = "broker.view()"


def panel(page: Page, queue: str) -> Locator:
    return page.locator(".ml-queue-panel").filter(
        has=page.locator(f'.ml-title[data-queue="{queue}"]')
    )


def expect_fan_out_drawn(page: Page, published: int = 1) -> None:
    expect(page.get_by_text("Error displaying widget")).to_have_count(0)
    for queue in ("billing", "shipping"):
        cards = panel(page, queue).locator(".ml-card")
        expect(cards).to_have_count(published)
        expect(cards.first).to_contain_text("visible")
        expect(cards.first).to_contain_text('"order_id": "A1"')
    audit = panel(page, "audit")
    expect(audit.locator(".ml-card")).to_have_count(0)
    noun = "message" if published == 1 else "messages"
    expect(audit.locator(".ml-filtered")).to_contain_text(f"Filtered out {published} {noun}")
    expect(audit.locator(".ml-filtered")).to_contain_text("manifest")
    expect(page.locator(".ml-topology svg .ml-node")).to_have_count(
        8
    )  # 1 topic, 3 subscriptions, 3 queues, 1 DLQ


@pytest.mark.browser
def test_broker_view_shows_the_message_in_each_subscriber_queue_and_the_filter_note(
    lab: Lab, save_screenshot: SaveScreenshot
) -> None:
    lab.write_notebook("broker_view.ipynb", [SETUP_CELL, VIEW_CELL])

    page = lab.run_notebook("broker_view.ipynb")

    expect_fan_out_drawn(page)
    view = page.locator(".ml-broker-view")
    view.scroll_into_view_if_needed()
    page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer").evaluate(
        "(el, top) => { el.scrollTop = top; }",
        view.evaluate("(el) => el.getBoundingClientRect().top")
        - page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer").evaluate(
            "(el) => el.getBoundingClientRect().top - el.scrollTop"
        )
        - 8,
    )
    save_screenshot(page, "light")

    lab.set_theme(DARK_THEME)
    expect_fan_out_drawn(page)
    save_screenshot(page, "dark")

    publish = page.locator(".ml-publish")
    publish.get_by_placeholder("topic or queue name").fill("orders")
    publish.locator("textarea").first.fill('{"order_id": "A1", "amount": 5}')
    publish.get_by_role("button", name="Publish").click()

    expect(publish.locator(".ml-ok")).to_contain_text("Published")
    expect_fan_out_drawn(page, published=2)  # arrived without pressing Refresh
