"""Hostile intents through the real front end, in JupyterLab: what a careless learner types
into the view's forms, and what a page sends by changing the form under the view.

The kernel checks every intent (``widgets/intents.py``); here the answer must reach the panel
that sent it, replacing "Publishing...", and nothing may be published. Then the view works.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .lab_harness import Lab

SETUP = """\
from melange_lab import SimulatedBroker

broker = SimulatedBroker(clock="manual")
topic = broker.backend.declare_topic("orders")
broker.backend.declare_queue("billing", topic)
view = broker.view()
view
"""
COUNT = "print('copies:', sum(q.total for q in broker.queues()))"


@pytest.mark.browser
def test_hostile_input_in_the_forms_is_refused_in_its_panel_and_the_view_still_publishes(
    lab: Lab, console_errors: list[str]
) -> None:
    lab.write_notebook("hostile.ipynb", [SETUP])
    page = lab.run_notebook("hostile.ipynb")
    view = page.locator(".mlv").first
    publish = view.locator('[data-panel="publish"]')
    button = publish.get_by_role("button", name="Publish")
    payload = publish.get_by_label("Payload (JSON fields)")

    payload.fill('{"amount": ' + "9" * 5_000 + "}")  # more digits than Python reads
    button.click()
    error = publish.locator(".mlv-error")
    expect(error).to_contain_text("number too long")
    expect(publish).not_to_contain_text("Publishing\u2026")

    # a page that rewrites the form: a target name no topic could have
    publish.get_by_label("Name").evaluate(
        "(select) => select.add(new Option('x'.repeat(100000), 'x'.repeat(100000), true, true))"
    )
    payload.fill('{"order_id": "A1"}')
    button.click()
    expect(error).to_contain_text("Name = 'xxxx")
    expect(error).to_contain_text("(100,000 characters)")
    queue_cards = view.locator('.mlv-queue[data-queue="billing"] .mlv-card')
    expect(queue_cards).to_have_count(0)

    view.get_by_role("tab", name="Consume").click()
    consume = view.locator('[data-panel="consume"]')
    consume.get_by_label("Seconds").fill("-5")  # the field's min=0 does not stop a click
    consume.get_by_role("button", name="Advance clock").click()
    expect(consume.locator(".mlv-error")).to_contain_text("Seconds = -5 is not allowed")

    view.get_by_role("tab", name="Publish").click()
    publish.get_by_label("Name").select_option("orders")
    button.click()
    expect(publish.locator(".mlv-ok")).to_contain_text("Published")
    expect(queue_cards).to_have_count(1)
    assert console_errors == []
