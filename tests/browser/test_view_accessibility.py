"""The broker view for every learner (WCAG 2.1 AA): axe-core finds nothing in any state or tab,
light and dark; a keyboard alone publishes, consumes, acknowledges and inspects without
JupyterLab taking a key; the accessibility tree names every queue and subscription."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from .axe import axe_violations, describe
from .conftest import SaveScreenshot
from .lab_harness import (
    DARK_THEME,
    LIGHT_THEME,
    Lab,
    open_notebook,
    set_theme,
    start_run_all,
    wait_run_all,
)

EVERY_STATE = """\
from melange_lab import SimulatedBroker, TopicPublisher
from melange_lab.serializers import JsonSerializer, SerializerRegistry

broker = SimulatedBroker(clock="manual")
backend = broker.backend
registry = SerializerRegistry({"serializers": {"json": JsonSerializer}, "default": "json"})
orders = backend.declare_topic("orders")
backend.declare_queue("billing", orders, dead_letter_queue_name="billing-dlq", max_receive_count=1)
backend.declare_queue("shipping", orders, delay_seconds=60)
backend.declare_queue("audit", orders, filter_events=["OrderCreated"])
publisher = TopicPublisher(registry, backend)
for number in range(3):
    publisher.publish("orders", {"order_id": f"A{number}"}, message_attributes={"n": number})
billing = backend.get_queue("billing")
for _ in range(2):  # received twice with maxReceiveCount 1: all three are dead-lettered
    backend.retrieve_messages(billing, max_messages=10, visibility_timeout=0)
publisher.publish("orders", {"order_id": "B1"})
backend.retrieve_messages(billing, max_messages=1, visibility_timeout=600)  # in flight
view = broker.view(registry)
view
"""
DEAD_LETTER_LATER = """\
import time

time.sleep(2)  # the view is on screen before the moves
publisher.publish("orders", {"order_id": "C1"})
for _ in range(2):
    backend.retrieve_messages(billing, max_messages=10, visibility_timeout=0)
publisher.publish("orders", {"order_id": "B2"})  # visible
"""
TABS = ("Publish", "Consume", "Inspect")
VIEW = ".mlv"


def expect_every_state(view: Locator) -> None:
    for state in ("visible", "in_flight", "delayed", "dead_lettered"):
        expect(view.locator(f'.mlv-card[data-state="{state}"]').first).to_be_attached()


def expect_no_violations(page: Page, where: str) -> None:
    violations = axe_violations(page, VIEW)
    assert violations == [], f"{where}: {describe(violations)}"


@pytest.mark.browser
def test_axe_finds_no_violation_in_any_state_or_tab_in_light_and_dark(
    lab: Lab, console_errors: list[str], save_screenshot: SaveScreenshot
) -> None:
    lab.write_notebook("every_state.ipynb", [EVERY_STATE, DEAD_LETTER_LATER])
    page = open_notebook(lab.page, lab.server, "every_state.ipynb")
    start_run_all(page)
    view = page.locator(VIEW)
    moving = view.locator('.mlv-token[data-outcome="dead-lettered"][data-queue="billing-dlq"]')
    expect(moving.first).to_be_attached(timeout=30_000)  # travels the dashed edge to the DLQ
    wait_run_all(page)
    expect_every_state(view)
    probe = view.evaluate_handle(
        """(root) => { const probe = document.createElement('span');
             probe.textContent = 'faint'; probe.style.color = '#d0d0d0';
             root.prepend(probe); return probe; }"""
    )
    assert "color-contrast" in {v["id"] for v in axe_violations(page, VIEW)}  # contrast is checked
    probe.evaluate("(probe) => probe.remove()")

    for theme in (LIGHT_THEME, DARK_THEME):
        set_theme(page, theme)
        for tab in TABS:
            view.get_by_role("tab", name=tab).click()
            if tab == "Inspect":
                view.locator('.mlv-card[data-state="dead_lettered"] button').first.click()
                expect(view.locator(".mlv-inspector h4")).to_contain_text("billing-dlq")
            expect_no_violations(page, f"{theme}, {tab} tab")
        view.evaluate("(el) => el.scrollIntoView({block: 'start'})")
        save_screenshot(page, f"every-state-{'dark' if theme == DARK_THEME else 'light'}")
    view.get_by_role("button", name="Step").click()
    expect(view.locator(".mlv-seq-current")).to_have_count(1)
    expect_no_violations(page, "dark, timeline replay")
    save_screenshot(page, "timeline-dark")
    set_theme(page, LIGHT_THEME)
    assert console_errors == []


TUTORIAL = """\
from melange_lab import SimulatedBroker, TopicPublisher, MessagingBackendFactory
from melange_lab.serializers import PickleSerializer, SerializerRegistry

broker = SimulatedBroker(clock="manual")


class MyTestMessage:
    def __init__(self, message: str) -> None:
        self.message = message


serializer_registry = SerializerRegistry(
    {"serializers": {"pickle": PickleSerializer}, "serializer_bindings": {MyTestMessage: "pickle"}}
)
factory = MessagingBackendFactory(broker.backend)
for service in ["billing", "shipping", "analytics"]:
    factory.init_queue(service, ["melangetutorial-topic"])
view = broker.view(serializer_registry)
view
"""


_FOCUSED_JS = """
() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el;
}
"""


def active_in_view(page: Page) -> bool:
    return bool(page.evaluate(f"() => !!({_FOCUSED_JS})().closest('.mlv')"))


def press(page: Page, key: str) -> None:
    page.keyboard.press(key)
    assert active_in_view(page), f"focus left the view after {key}"


def tab_to(page: Page, name: str, *, role: str = "button", backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until a control of ``role`` whose accessible name starts with
    ``name`` has focus; focus must stay inside the view on every press."""
    for _ in range(80):
        found = page.evaluate(
            f"""([name, role]) => {{ const el = ({_FOCUSED_JS})();
                 const actual = el.getAttribute('role') || el.tagName.toLowerCase();
                 const label = (el.getAttribute('aria-label') || el.innerText || '').trim();
                 return actual === role && label.startsWith(name); }}""",
            [name, role],
        )
        if found:
            return
        press(page, "Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"no {role} named {name!r} reached by keyboard")


@pytest.mark.browser
def test_keyboard_alone_publishes_consumes_acknowledges_and_inspects(
    lab: Lab, console_errors: list[str]
) -> None:
    lab.write_notebook("keyboard.ipynb", [TUTORIAL])
    page = lab.run_notebook("keyboard.ipynb")
    view = page.locator(VIEW)
    cells_before = page.locator(".jp-Notebook .jp-Cell").count()
    snapshot = view.aria_snapshot()
    for name in ("billing", "shipping", "analytics"):
        assert f'heading "{name}"' in snapshot
        assert f"Subscription of queue {name} to topic melangetutorial-topic" in snapshot

    view.get_by_role("button", name="Compact").focus()  # where Tab would enter the view
    for key in ("j", "k", "b", "ArrowDown", "a"):  # JupyterLab's shortcuts must not fire here
        press(page, key)
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before
    tab_to(page, "Publish", role="tab")
    tab_to(page, "Publish")  # the button: topic and message class come preselected
    press(page, "Enter")
    expect(view.locator('[data-panel="publish"] .mlv-ok')).to_contain_text("Published")
    expect(view.locator('.mlv-queue[data-queue="billing"] .mlv-card')).to_have_count(1)

    tab_to(page, "Publish", role="tab", backwards=True)
    press(page, "ArrowRight")  # Consume
    expect(view.get_by_role("tab", name="Consume")).to_be_focused()
    tab_to(page, "Receive one")
    press(page, "Enter")
    consume = view.locator('[data-panel="consume"]')
    expect(consume.locator(".mlv-ok")).to_contain_text("Received")
    expect(view.locator('.mlv-queue[data-queue="analytics"] .mlv-card')).to_have_attribute(
        "data-state", "in_flight"
    )
    tab_to(page, "Acknowledge")
    press(page, "Enter")
    expect(consume.locator(".mlv-ok")).to_contain_text("Acknowledged")
    analytics = view.locator('.mlv-queue[data-queue="analytics"]')
    expect(analytics.locator('.mlv-leaving[data-leaving="acknowledged"]')).to_be_attached()
    expect(analytics.locator(".mlv-card:not(.mlv-leaving)")).to_have_count(0)

    tab_to(page, "\u25cf visible")  # a card of billing or shipping, after the forms
    press(page, "Enter")
    expect(view.get_by_role("tab", name="Inspect")).to_have_attribute("aria-selected", "true")
    expect(view.locator(".mlv-inspector")).to_contain_text("Message attributes")
    expect(view.locator(".mlv-inspector .mlv-attributes")).to_contain_text("MyTestMessage")
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before
    assert console_errors == []
