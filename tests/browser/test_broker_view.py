"""broker.view() in a real kernel, in JupyterLab, Notebook 7 and Voila: tutorial 2's fan-out
travels the topology while the test watches and each card lands only after its token, a
filtered copy stops at its subscription, two views keep to themselves, a visibility timeout
ends on screen, and the view reads the same in each host (no overflow, no overlapping label,
nothing for axe-core)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Locator, Page, expect

from .axe import axe_violations, describe
from .conftest import SaveScreenshot
from .lab_harness import (
    Lab,
    open_notebook,
    start_run_all,
    wait_run_all,
)
from .view_checks import overlapping_labels, sideways_overflow

TUTORIAL_2 = """\
from melange_lab import MessagingBackendFactory, SimulatedBroker, TopicPublisher
from melange_lab.serializers import PickleSerializer, SerializerRegistry

broker = SimulatedBroker(clock=CLOCK)
backend = broker.backend


class MyTestMessage:
    def __init__(self, message: str) -> None:
        self.message = message


serializer_registry = SerializerRegistry(
    {
        "serializers": {"pickle": PickleSerializer},
        "serializer_bindings": {MyTestMessage: "pickle"},
    }
)
publisher = TopicPublisher(serializer_registry, backend)
factory = MessagingBackendFactory(backend)
for service in ["billing", "shipping", "analytics"]:
    factory.init_queue(service, ["melangetutorial-topic"])
# one more subscriber whose filter keeps tutorial 2's message out
_ = backend.declare_queue(
    "audit", backend.declare_topic("melangetutorial-topic"), filter_events=["OrderCreated"]
)
"""
VIEW = "view = broker.view(serializer_registry)\nview"
PUBLISH_LATER = """\
import time

time.sleep(2)  # the view is on screen before the message travels
message_id = publisher.publish("melangetutorial-topic", MyTestMessage("Hello again!"))
"""
SUBSCRIBERS = ("analytics", "billing", "shipping")
TOKEN_WAIT_MS = 30_000
OFFLINE_CDNS = ("https://cdn.jsdelivr.net/", "https://cdnjs.cloudflare.com/")


def tutorial(clock: str = "manual") -> str:
    return TUTORIAL_2.replace("CLOCK", repr(clock))


def view_of(page: Page, index: int = 0) -> Locator:
    return page.locator(".mlv").nth(index)


def queue(view: Locator, name: str) -> Locator:
    return view.locator(f'.mlv-queue[data-queue="{name}"]')


def expect_one_copy_in_each_subscriber(view: Locator, copies: int = 1) -> str:
    """Each subscriber holds ``copies`` cards; returns the published id the newest shares."""
    published = set()
    for name in SUBSCRIBERS:
        cards = queue(view, name).locator(".mlv-card:not(.mlv-leaving)")
        expect(cards).to_have_count(copies)
        published.add(cards.last.get_attribute("data-published-id"))
        expect(cards.last).to_contain_text("visible")
        expect(cards.last).to_contain_text("MyTestMessage")
        expect(cards.last.locator(".mlv-fields")).to_contain_text("message:")
    assert len(published) == 1, published
    found = published.pop()
    assert found is not None
    return found


def show(page: Page, view: Locator) -> None:
    view.evaluate("(el) => el.scrollIntoView({block: 'start'})")


@pytest.mark.browser
def test_tutorial_2_fan_out_travels_then_lands_and_the_filter_stops_its_copy(
    lab: Lab, console_errors: list[str], save_screenshot: SaveScreenshot
) -> None:
    lab.write_notebook("fan_out.ipynb", [tutorial(), VIEW, PUBLISH_LATER])
    page = open_notebook(lab.page, lab.server, "fan_out.ipynb")

    start_run_all(page)

    view = view_of(page)
    for name in SUBSCRIBERS:  # caught in flight: no card, no count yet (cause, then effect)
        token = view.locator(f'.mlv-token[data-outcome="delivered"][data-queue="{name}"]')
        expect(token).to_have_attribute("data-phase", "travelling", timeout=TOKEN_WAIT_MS)
        assert queue(view, name).get_attribute("data-total") == "0"
    show(page, view)
    save_screenshot(page, "travelling")
    assert overlapping_labels(view) == []
    stopped = view.locator('.mlv-token[data-outcome="filtered"][data-queue="audit"]')
    expect(stopped).to_have_attribute("data-phase", "stopped")
    expect(stopped.locator("title")).to_contain_text("manifest")
    save_screenshot(page, "filtered")
    wait_run_all(page)
    published = expect_one_copy_in_each_subscriber(view)
    ids = {queue(view, n).locator(".mlv-card").get_attribute("data-message-id")
           for n in SUBSCRIBERS}  # fmt: skip
    assert len(ids) == 3 and published not in ids  # each copy its own queue id, one published id
    for name in SUBSCRIBERS:
        expect(queue(view, name).locator(".mlv-ids")).to_contain_text(f"published {published[:8]}")
        expect(queue(view, name)).to_have_attribute("data-total", "1")
    audit = queue(view, "audit")
    expect(audit.locator(".mlv-card")).to_have_count(0)
    expect(audit.locator(".mlv-filtered summary")).to_contain_text("Filtered out 1 message")
    audit.locator(".mlv-filtered summary").click()
    expect(audit.locator(".mlv-filtered")).to_contain_text("manifest")
    assert console_errors == []


BURST = """\
import time

from melange_lab.models import Message, MessageDto

time.sleep(3)  # both views are on screen before the burst
backend.publish_to_queue_batch(
    [MessageDto(Message.create(f'"m{n}"', "json", 1)) for n in range(1000)],
    backend.get_queue("billing"),
)
"""
# Every text a view's arrivals live region takes, per view, from the moment the page loads.
RECORD_ANNOUNCEMENTS = """
() => {
  window.__announced = [];
  setInterval(() => {  // each view's region lives in its shadow root: looked at every 50 ms
    document.querySelectorAll('.mlv-host').forEach((host, index) => {
      const region = host.shadowRoot && host.shadowRoot.querySelector('.mlv-sr[role="status"]');
      const said = window.__announced[index] || (window.__announced[index] = []);
      if (region && region.textContent && said[said.length - 1] !== region.textContent) {
        said.push(region.textContent);
      }
    });
  }, 50);
}
"""


@pytest.mark.browser
def test_two_views_keep_their_arrowheads_and_a_burst_is_one_announcement(
    lab: Lab, console_errors: list[str]
) -> None:
    cells = [tutorial(), VIEW, "broker.view(serializer_registry)", BURST]
    lab.write_notebook("two_views.ipynb", cells)
    page = open_notebook(lab.page, lab.server, "two_views.ipynb")
    page.evaluate(RECORD_ANNOUNCEMENTS)

    start_run_all(page)
    wait_run_all(page)

    expect(page.locator(".mlv")).to_have_count(2)
    for index in range(2):
        view = view_of(page, index)
        expect(view.locator("svg.mlv-svg path.mlv-edge").first).to_be_attached()
        dangling = view.evaluate(
            """(root) => Array.from(root.querySelectorAll('[marker-end]')).filter((edge) => {
                 const id = edge.getAttribute('marker-end').slice(5, -1);
                 const marker = root.getRootNode().getElementById(id);
                 return !marker || !root.contains(marker);
               }).length"""
        )
        assert dangling == 0
    ids = [i for index in range(2) for i in view_of(page, index).evaluate(
        "(root) => Array.from(root.querySelectorAll('[id]')).map((e) => e.id)")]  # fmt: skip
    assert len(ids) == len(set(ids)), "DOM ids repeat between the two views"
    expect(queue(view_of(page), "billing").locator(".mlv-counts")).to_contain_text("1,000 visible")
    page.wait_for_timeout(2500)  # longer than the announcements' rate limit
    said = page.evaluate("() => window.__announced")
    assert said == [["1,000 messages arrived in billing."]] * 2

    page.emulate_media(reduced_motion="reduce")
    view_of(page).locator('[data-panel="publish"]').get_by_role("button", name="Publish").click()
    arrived = view_of(page).locator('.mlv-token[data-queue="shipping"][data-phase="arrived"]')
    expect(arrived).to_be_attached()  # placed at once, no journey
    assert view_of(page).locator('.mlv-token[data-phase="travelling"]').count() == 0
    assert console_errors == []


@pytest.mark.browser
def test_a_visibility_timeout_ends_on_screen_without_refresh(
    lab: Lab, console_errors: list[str], save_screenshot: SaveScreenshot
) -> None:
    receive = (
        'publisher.publish("melangetutorial-topic", MyTestMessage("Hello again!"))\n'
        'backend.retrieve_messages(backend.get_queue("billing"), visibility_timeout=4)'
    )
    lab.write_notebook("timeout.ipynb", [tutorial("real"), VIEW, receive])
    page = lab.run_notebook("timeout.ipynb")
    view = view_of(page)
    card = queue(view, "billing").locator(".mlv-card")
    expect(card).to_have_attribute("data-state", "in_flight")
    expect(card).to_contain_text("in flight")
    clock = view.locator(".mlv-clock")
    before = clock.inner_text()
    show(page, view)
    save_screenshot(page, "in-flight")

    expect(card).to_have_attribute("data-state", "visible", timeout=15_000)

    expect(card).to_contain_text("visible")
    expect(queue(view, "billing").locator(".mlv-counts")).to_contain_text("1 visible, 0 in flight")
    assert clock.inner_text() != before  # the clock ticks on its own
    assert console_errors == []


def _open_in(page: Page, url: str) -> Page:
    page.goto(url, timeout=90_000)
    return page


@pytest.mark.browser
def test_the_view_reads_the_same_in_notebook_7(
    lab: Lab, console_errors: list[str], save_screenshot: SaveScreenshot
) -> None:
    lab.write_notebook("nb7.ipynb", [tutorial(), VIEW])
    page = _open_in(lab.page, lab.server.url("notebooks/nb7.ipynb"))
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'",
        timeout=90_000,
    )
    start_run_all(page)
    wait_run_all(page)
    view = view_of(page)
    publish = view.locator('[data-panel="publish"]')

    publish.get_by_role("button", name="Publish").click()

    expect(publish.locator(".mlv-ok")).to_contain_text("Published")
    expect_one_copy_in_each_subscriber(view)
    _expect_same_reading(page, view)
    show(page, view)
    save_screenshot(page, "notebook7")
    assert [e for e in console_errors if not _notebook_7_shortcut_bug(e)] == []


@pytest.mark.browser
def test_the_view_reads_the_same_in_voila(
    lab: Lab, console_errors: list[str], save_screenshot: SaveScreenshot
) -> None:
    lab.write_notebook("voila.ipynb", [tutorial(), VIEW, PUBLISH_LATER])
    failed: list[str] = []  # Voila's page template asks CDNs for icons and MathJax: offline here
    lab.page.on("requestfailed", lambda request: failed.append(request.url))
    page = _open_in(lab.page, lab.server.url("voila/render/voila.ipynb"))
    view = view_of(page)
    token = view.locator('.mlv-token[data-outcome="delivered"][data-queue="billing"]')
    expect(token).to_be_attached(timeout=90_000)
    expect_one_copy_in_each_subscriber(view)
    publish = view.locator('[data-panel="publish"]')

    publish.get_by_role("button", name="Publish").click()

    expect(publish.locator(".mlv-ok")).to_contain_text("Published")
    expect_one_copy_in_each_subscriber(view, copies=2)
    _expect_same_reading(page, view)
    save_screenshot(page, "voila")
    assert [e for e in console_errors if not _voila_loads_notebook_7(e)
            and not e.startswith("Failed to load resource")] == []  # fmt: skip
    assert [url for url in failed if not url.startswith(OFFLINE_CDNS)] == []


def _notebook_7_shortcut_bug(error: str) -> bool:
    """Notebook 7.6's own errors, none from the view: its shortcut settings handler reads
    ``plugins[id].schema`` of a plugin it never loaded when any cell runs (it happens with
    ``1+1`` and no widget at all), and its router sometimes asks for the file browser's
    command, which the notebook page does not have."""
    return error in (
        "TypeError: Cannot read properties of undefined (reading 'schema')",
        "Error: Command 'filebrowser:open-path' not registered.",
    )


def _voila_loads_notebook_7(error: str) -> bool:
    """Voila 0.5 loads every federated extension, Notebook 7's too, whose shared modules it
    does not provide; the extension fails to load and Voila goes on without it."""
    return "@jupyter-notebook/lab-extension" in error and "RUNTIME-012" in error


def _expect_same_reading(page: Page, view: Locator) -> None:
    """The host changes nothing: nothing sticks out, no label overlaps, axe finds nothing."""
    time.sleep(0.2)
    assert sideways_overflow(view) == []
    assert overlapping_labels(view) == []
    violations = axe_violations(page, view)
    assert violations == [], describe(violations)
