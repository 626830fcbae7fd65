"""The whole course in a browser tab: the JupyterLite site that ``python -m lite`` builds,
served on 127.0.0.1, runs every tutorial and every exercise's student version in headless
Chromium with every request outside the site's own origin refused, and its broker views draw,
update and stay live.

One page and one Pyodide kernel serve all the notebooks (a cold Pyodide start costs seconds);
each notebook is opened in the lab and run with Run All. The first test opens tutorial 2 on a
cold page and measures the time to its fan-out on screen (written to
test-output/lite-timings.json; docs/performance.md has the figures).
"""

from __future__ import annotations

import json
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.browser.view_checks import wait_until_live
from tests.lite.harness import (
    REPOSITORY,
    Network,
    RanNotebook,
    build_site,
    current_kernel_id,
    describe,
    open_first_notebook,
    open_notebook_in_kernel,
    run_cells,
    run_new_cell,
    serve,
    set_cell_sources,
)

pytestmark = [pytest.mark.lite, pytest.mark.timeout(900)]

CHROMIUM = Path("/usr/bin/chromium")
KERNEL_START_S = 240.0  # a cold Pyodide kernel on a loaded 2-core machine
RUN_S = 240.0
SETTLE_S = 60.0  # a view's redraw after the kernel went idle, on a loaded machine
TIMINGS = REPOSITORY / "test-output" / "lite-timings.json"
EXERCISES = sorted((REPOSITORY / "notebooks" / "exercises").glob("*.ipynb"))

#: Outputs each tutorial must show (as it shows on a normal kernel), besides having no error.
KEY_OUTPUTS: dict[str, list[str]] = {
    "01-publishing-to-a-queue.ipynb": [
        "Message sent successfully!",
        "melangetutorial-queue: visible=1 in_flight=0",
        "payload:        MyTestMessage 'Hello World!'",
    ],
    "02-publishing-to-a-topic.ipynb": [
        "analytics: 1 message(s) waiting",
        "billing: 1 message(s) waiting",
        "shipping: 1 message(s) waiting",
        "envelope type: Notification",
    ],
    "03-serializers-and-the-registry.ipynb": [
        "decoded: PaymentReceived(order_id=7, amount=25.0)",
        "which the pickle serializer does not trust, so it was refused",
        "OrderPlaced 3 99.0",
    ],
    "04-consumers-and-dispatchers.ipynb": [
        "acknowledged=3",
        "order 11 cancelled before shipping",
        # the background consumer (an asyncio task in Pyodide) handled both orders
        "ConsumeSummary(received=2, processed=2",
        "stopped_because='stopped'",
    ],
    "05-routing-with-filter-policies.ipynb": [
        "refunds    1 message(s): ['OrderCancelled']",
        "big-spain got orders: [2]",
        "Invalid filter policy",
    ],
    "06-retries-and-dead-letter-queues.ipynb": [
        "t=30s  payments-dlq: visible, received 3x",
        "charged 25 for order 1",
    ],
    "07-fifo-ordering-and-deduplication.ipynb": [
        "stored after 3 identical sends: 1",
        "stored after the window: 2",
        "ledger.fifo ['open', 'deposit 50', 'close']",
    ],
    "08-at-least-once-and-idempotent-consumers.ipynb": [
        "charged: 140",  # the naive consumer, fooled by injected duplicates (seeded)
        "deliveries skipped as duplicates: 12",
        "charged: 100 for 10 payments",
    ],
    "09-case-study-orders-and-payments.ipynb": [
        "order status: {'o-1': 'paid', 'o-2': 'cancelled (insufficient funds)'",
        "notification-service-dlq: 1 message(s)",
        "CHECK ADDRESS 'cai at example.com': order o-3 is on its way",
    ],
    "10-from-the-lab-to-a-real-broker.ipynb": [
        "the cells that need moto's server only say so",
        "{'welcome-email': ['lucia', 'marc'], 'crm': ['lucia', 'marc', 'tom']}",
        # tutorial 10's cells that start or use moto's server (a child process) print a note
        "Skipped in a browser tab: this cell needs moto's server",
    ],
}
#: Tutorial 10's cells that use moto's server, each of which must say it was skipped in Lite.
SERVER_CELLS_OF_TUTORIAL_10 = 7
FAN_OUT = "02-publishing-to-a-topic.ipynb"
#: Where tutorial 2 replaces its broker with a new one (delivery latency): the fan-out and the
#: view's update are checked on the first broker, before that section runs.
NEW_BROKER_SECTION = "## On AWS, delivery takes a moment"
ONE_MORE = 'publisher.publish("melangetutorial-topic", MyTestMessage("one more"))'


@dataclass
class Session:
    page: Page
    network: Network
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    kernel_id: str = ""
    ran: dict[str, RanNotebook] = field(default_factory=dict)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/ensure-chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # belt and braces with the route below: no name resolves, except loopback's
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def session(browser: Browser) -> Iterator[Session]:
    site = build_site()
    with serve(site) as base_url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        network = Network(origin=base_url)
        context.route("**/*", network.route)
        page = context.new_page()
        current = Session(page, network, base_url)
        page.on(
            "console",
            lambda message: (
                current.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.on(
            "requestfailed",
            lambda request: (
                network.refused.append(request.url)
                if not request.url.startswith(base_url) and request.url not in network.refused
                else None
            ),
        )
        try:
            yield current
        finally:
            context.close()


def _cards(page: Page, queue: str) -> Locator:
    """The message cards of ``queue`` in the (first) broker view on the page."""
    return page.locator(".mlv").first.locator(f'.mlv-queue[data-queue="{queue}"] .mlv-card')


def _check_tutorial(name: str, ran: RanNotebook) -> None:
    assert not ran.errors(), f"{name} raised in Lite: {ran.errors()}\n{describe(ran)}"
    assert not ran.not_run(), f"{name}: cells {ran.not_run()} did not run"
    text = ran.text()
    assert "Traceback" not in text, f"{name} logged a traceback in Lite:\n{text[-4000:]}"
    missing = [expected for expected in KEY_OUTPUTS[name] if expected not in text]
    assert not missing, f"{name} lacks {missing} in its outputs:\n{text[-4000:]}"


LIVE_PROBE = """\
from melange_lab import QueuePublisher, SimulatedBroker
from melange_lab.serializers import JsonSerializer, SerializerRegistry

_probe_registry = SerializerRegistry(
    {{"serializers": {{"json": JsonSerializer}}, "serializer_bindings": {{dict: "json"}}}}
)
QueuePublisher(_probe_registry, SimulatedBroker.current().backend).publish(
    {queue!r}, {{"probe": "is the view live?"}}{group}
)
"""


def _check_the_last_view_is_live(page: Page, name: str) -> None:
    """The notebook's last broker view is on screen, shows the live broker's totals, and draws
    a message sent after Run All to the live broker (so the view follows the broker the notebook
    ended with). The view redraws a moment after the kernel goes idle (about a second in
    Pyodide on a loaded machine), so its cards are counted once it shows the broker's totals."""
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.get_by_text("Error displaying widget")).to_have_count(0)
    view = panel.locator(".mlv").last
    expect(view).to_be_visible(timeout=RUN_S * 1000)
    wait_until_live(page, view, timeout_s=SETTLE_S)
    queues = view.locator(".mlv-queue[data-queue]")
    names = [queues.nth(i).get_attribute("data-queue") or "" for i in range(queues.count())]
    assert names, f"{name}: its last view shows no queue"
    queue = min(names, key=lambda queue: (queue.endswith(".fifo"), _cards_in(view, queue).count()))
    cards = _cards_in(view, queue)
    before = cards.count()
    group = ', message_group_id="probe"' if queue.endswith(".fifo") else ""
    cell = run_new_cell(page, LIVE_PROBE.format(queue=queue, group=group), RUN_S)
    assert not RanNotebook([cell]).errors(), describe(RanNotebook([cell]))
    expect(cards, f"{name}: the last view did not draw a message sent to {queue}").to_have_count(
        before + 1, timeout=30_000
    )


def _cards_in(view: Locator, queue: str) -> Locator:
    return view.locator(f'.mlv-queue[data-queue="{queue}"] .mlv-card')


def _shows_a_view(ran: RanNotebook) -> bool:
    return any(".view(" in cell["source"] for cell in ran.cells if cell["type"] == "code")


def test_tutorial_2_fans_out_in_a_cold_tab_and_the_broker_view_updates(
    session: Session,
) -> None:
    page = session.page
    started = time.monotonic()
    open_first_notebook(page, session.base_url, FAN_OUT, KERNEL_START_S)
    kernel_ready = time.monotonic() - started
    session.kernel_id = current_kernel_id(page)
    ran = run_cells(page, RUN_S, up_to=NEW_BROKER_SECTION)
    assert not ran.errors(), f"{FAN_OUT} raised in Lite: {ran.errors()}\n{describe(ran)}"
    # the fan-out on screen: every subscriber queue's panel in the broker view holds the message
    for queue in ("billing", "shipping", "analytics"):
        expect(_cards(page, queue).first).to_be_visible(timeout=RUN_S * 1000)
    fan_out_on_screen = time.monotonic() - started
    session.ran[FAN_OUT] = ran
    TIMINGS.parent.mkdir(exist_ok=True)
    TIMINGS.write_text(
        json.dumps(
            {
                "open_to_idle_kernel_s": round(kernel_ready, 1),
                "open_to_tutorial_2_fan_out_on_screen_s": round(fan_out_on_screen, 1),
            },
            indent=1,
        )
    )
    print(
        f"\nLite, cold: kernel idle after {kernel_ready:.1f} s, fan-out on screen after "
        f"{fan_out_on_screen:.1f} s"
    )
    expect(page.get_by_text("Error displaying widget")).to_have_count(0)


def test_the_broker_view_updates_after_a_publish_from_the_notebook(session: Session) -> None:
    """One more publish, from a cell added above the section that replaces the broker: the view
    draws one more card."""
    page = session.page
    assert session.kernel_id, "tutorial 2 did not open"
    cards = _cards(page, "billing")
    before = cards.count()
    assert before >= 1, "tutorial 2's fan-out is not on screen"
    cell = run_new_cell(page, ONE_MORE, RUN_S, before=NEW_BROKER_SECTION)
    assert not RanNotebook([cell]).errors(), cell
    expect(cards).to_have_count(before + 1, timeout=RUN_S * 1000)


def test_the_views_publish_button_publishes_with_its_defaults(session: Session) -> None:
    page = session.page
    assert session.kernel_id, "tutorial 2 did not open"
    cards = _cards(page, "billing")
    before = cards.count()
    publish = page.locator(".mlv").first.locator('[data-panel="publish"]')
    publish.get_by_role("button", name="Publish").click()
    expect(publish.locator(".mlv-ok")).to_contain_text("Published", timeout=RUN_S * 1000)
    expect(cards).to_have_count(before + 1, timeout=RUN_S * 1000)


def test_a_visibility_timeout_ends_on_screen_on_the_real_clock(session: Session) -> None:
    """Tutorial 2's broker runs on the real clock: a received message shows in flight, then
    visible again when its visibility timeout ends, with no refresh (redraws on the asyncio
    loop, no thread)."""
    page = session.page
    assert session.kernel_id, "tutorial 2 did not open"
    receive = 'backend.retrieve_messages(backend.get_queue("billing"), visibility_timeout=2)'
    cell = run_new_cell(page, receive, RUN_S, before=NEW_BROKER_SECTION)
    assert not RanNotebook([cell]).errors(), cell
    billing = page.locator(".mlv").first.locator('.mlv-queue[data-queue="billing"]')
    in_flight = billing.locator('.mlv-card[data-state="in_flight"]')
    expect(in_flight.first).to_be_visible(timeout=RUN_S * 1000)
    expect(in_flight).to_have_count(0, timeout=30_000)
    expect(billing.locator('.mlv-card[data-state="visible"]').first).to_be_visible()


def test_the_rest_of_tutorial_2_runs(session: Session) -> None:
    """The section that replaces the broker with one with a delivery latency, and then the
    whole tutorial (with the cells added above) is checked."""
    assert session.kernel_id, "tutorial 2 did not open"
    ran = run_cells(session.page, RUN_S, starting_at=NEW_BROKER_SECTION)
    session.ran[FAN_OUT] = ran
    _check_tutorial(FAN_OUT, ran)
    _check_the_last_view_is_live(session.page, FAN_OUT)


@pytest.mark.parametrize("name", [name for name in KEY_OUTPUTS if name != FAN_OUT])
def test_tutorial_runs_in_the_browser_tab(session: Session, name: str) -> None:
    assert session.kernel_id, "tutorial 2 did not open, so there is no kernel to share"
    open_notebook_in_kernel(session.page, name, session.kernel_id, KERNEL_START_S)
    assert current_kernel_id(session.page) == session.kernel_id, f"{name} got a kernel of its own"
    ran = run_cells(session.page, RUN_S)
    session.ran[name] = ran
    _check_tutorial(name, ran)
    if _shows_a_view(ran):
        _check_the_last_view_is_live(session.page, name)
    if name.startswith("10-"):
        skipped = ran.text().count("Skipped in a browser tab: this cell needs moto's server")
        assert skipped == SERVER_CELLS_OF_TUTORIAL_10, describe(ran)


def _solutions(exercise: Path) -> dict[str, str]:
    """The teacher's answer cells of an exercise, by their grading id."""
    notebook = json.loads(exercise.read_text())
    return {
        cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        and cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def _check_cells(exercise: Path) -> list[str]:
    notebook = json.loads(exercise.read_text())
    return [
        cell["metadata"]["nbgrader"]["grade_id"]
        for cell in notebook["cells"]
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell["cell_type"] == "code"
    ]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda path: path.stem)
def test_an_exercise_stops_at_the_students_answer_then_its_checks_pass_once_answered(
    session: Session, exercise: Path
) -> None:
    """The student version as a learner opens it: Run All stops at the first answer still to
    write (NotImplementedError), everything above it ran; with the answers written in, Run All
    runs every check and each one passes."""
    assert session.kernel_id, "tutorial 2 did not open, so there is no kernel to share"
    path = f"exercises/{exercise.name}"
    open_notebook_in_kernel(session.page, path, session.kernel_id, KERNEL_START_S)
    unanswered = run_cells(session.page, RUN_S)
    errors = unanswered.errors()
    assert len(errors) == 1 and "NotImplementedError" in errors[0], describe(unanswered)
    stopped_at = int(errors[0].split(":")[0].removeprefix("cell "))
    assert not unanswered.not_run(up_to=stopped_at), describe(unanswered)

    solutions = _solutions(exercise)
    assert solutions, f"{exercise.name} has no answer cell"
    set_cell_sources(session.page, solutions)
    answered = run_cells(session.page, RUN_S)
    session.ran[path] = answered
    assert not answered.errors(), describe(answered)
    assert not answered.not_run(), describe(answered)
    checks = _check_cells(exercise)
    assert checks, f"{exercise.name} has no check"
    ran_checks = [cell for cell in answered.cells if cell["gradeId"] in checks and cell["outputs"]]
    assert len(ran_checks) == len(checks), describe(answered)


SIGNATURE_VERIFIES = """\
import base64
import moto.sns.models as sns_models
from cryptography import __version__ as cryptography_version, x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from melange_lab import MessagingBackendFactory, SimulatedBroker, TopicPublisher
from melange_lab.serializers import JsonSerializer, SerializerRegistry

signing = SimulatedBroker()
MessagingBackendFactory(signing.backend).init_queue("signed", ["signatures"])
TopicPublisher(
    SerializerRegistry(
        {"serializers": {"json": JsonSerializer}, "serializer_bindings": {dict: "json"}}
    ),
    signing.backend,
).publish("signatures", {"n": 1})
envelope = signing.peek("signed")[0].envelope
keys = sns_models.sns_backends["123456789012"]["us-east-1"]._message_public_keys
certificate = x509.load_pem_x509_certificate(keys[envelope["SigningCertURL"].rsplit("/", 1)[1]])
signed = "".join(
    f"{name}\\n{envelope[name]}\\n"
    for name in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    if name in envelope
)
certificate.public_key().verify(
    base64.b64decode(envelope["Signature"]), signed.encode(), padding.PKCS1v15(), hashes.SHA1()
)
print("cryptography", cryptography_version, "SignatureVersion", envelope["SignatureVersion"],
      "verified by", certificate.subject.rfc4514_string())
signing.stop()
"""


def test_sns_envelopes_are_signed_in_the_tab_and_their_signatures_verify(
    session: Session,
) -> None:
    """moto's SNS signs each envelope with melange-lab's pure-Python cryptography, which the
    site serves to Pyodide in place of the compiled one: the signature verifies against the
    certificate at SigningCertURL."""
    assert session.kernel_id, "no tutorial opened, so there is no kernel"
    cell = run_new_cell(session.page, SIGNATURE_VERIFIES, RUN_S)
    ran = RanNotebook([cell])
    assert not ran.errors(), describe(ran)
    assert (
        "cryptography 46.0.0+melangelab SignatureVersion 1 verified by CN=sns.amazonaws.com"
        in ran.text()
    ), ran.text()


SERVE_IN_A_TAB = """\
from melange_lab import SimulatedBroker
from melange_lab.errors import ServeNotAvailable

try:
    SimulatedBroker().serve()
except ServeNotAvailable as error:
    print("refused:", error)
"""


def test_serving_the_broker_in_a_tab_says_there_are_no_sockets(session: Session) -> None:
    assert session.kernel_id, "no tutorial opened, so there is no kernel"
    cell = run_new_cell(session.page, SERVE_IN_A_TAB, RUN_S)
    ran = RanNotebook([cell])
    assert not ran.errors(), describe(ran)
    assert "refused:" in ran.text() and "no network sockets" in ran.text(), ran.text()


LATE_DELIVERY = """\
import asyncio
from melange_lab import MessagingBackendFactory, SimulatedBroker, TopicPublisher
from melange_lab.serializers import JsonSerializer, SerializerRegistry

json_only = SerializerRegistry(
    {"serializers": {"json": JsonSerializer}, "serializer_bindings": {dict: "json"}}
)
late = SimulatedBroker(delivery_latency=0.2)  # the real clock: delivered in the background
MessagingBackendFactory(late.backend).init_queue("inbox", ["news"])
TopicPublisher(json_only, late.backend).publish("news", {"n": 1})
print("in transit:", late.pending_deliveries(), "stored:", len(late.peek("inbox")))
for _ in range(200):
    if late.peek("inbox"):
        break
    await asyncio.sleep(0.05)
print("after awaiting, in transit:", late.pending_deliveries(), "stored:", len(late.peek("inbox")))
late.stop()
"""


def test_late_deliveries_on_the_real_clock_arrive_in_the_tab_without_a_thread(
    session: Session,
) -> None:
    """``delivery_latency`` on the real clock: the copy waits in transit, then the broker's
    background job (an asyncio task in Pyodide) delivers it while the cell awaits."""
    assert session.kernel_id, "no tutorial opened, so there is no kernel"
    cell = run_new_cell(session.page, LATE_DELIVERY, RUN_S)
    ran = RanNotebook([cell])
    assert not ran.errors(), describe(ran)
    text = ran.text()
    assert "in transit: 1 stored: 0" in text, text
    assert "after awaiting, in transit: 0 stored: 1" in text, text
    assert "Traceback" not in text and "can't start new thread" not in text, text


def test_a_tab_whose_wheel_was_blocked_is_told_in_the_first_cell_what_is_missing_and_why(
    browser: Browser,
) -> None:
    """A filter that lets the site through but blocks one of its wheels: the kernel still
    starts, and the first cell names the missing package and the likely cause."""
    with serve(build_site()) as base_url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        network = Network(origin=base_url, blocked=("/xmltodict-",))
        context.route("**/*", network.route)
        page = context.new_page()
        try:
            open_first_notebook(page, base_url, "01-publishing-to-a-queue.ipynb", KERNEL_START_S)
            ran = run_cells(page, RUN_S, up_to="# 1. Publishing to a queue")  # install cell
        finally:
            context.close()
    assert any("xmltodict" in url for url in network.refused), network.refused
    errors = ran.errors()
    assert len(errors) == 1 and errors[0].startswith("cell 0: "), describe(ran)
    assert "missing xmltodict, which melange-lab needs" in errors[0], errors[0]
    assert "firewall or proxy" in errors[0], errors[0]


def test_the_site_carries_the_broker_views_front_end_and_its_dependencies() -> None:
    """anywidget's JupyterLab extension is in the site, and the view's ES module and CSS are in
    melange-lab's wheel beside anywidget, psygnal and typing-extensions: nothing from a CDN."""
    site = build_site()  # the session's site, reused
    assert (site / "extensions" / "anywidget" / "package.json").is_file()
    wheels = {path.name.split("-")[0].lower() for path in (site / "static/pyodide").glob("*.whl")}
    assert {"anywidget", "psygnal", "typing_extensions", "melange_lab"} <= wheels, wheels
    (wheel,) = (site / "static/pyodide").glob("melange_lab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        view_js = archive.read("melange_lab/widgets/static/view.js").decode()
        assert "melange_lab/widgets/static/view.css" in archive.namelist()
    assert view_js == (REPOSITORY / "melange_lab/widgets/static/view.js").read_text()
    web_import = re.compile(r"""(import\s*\(|from\s+)["']https?://""")
    assert not web_import.search(view_js), "the view imports a module from the web"


def test_the_site_names_no_file_outside_itself() -> None:
    """Pyodide's lock file names only wheels beside it, each present with its hash; nothing in
    the kernel's configuration points elsewhere."""
    site = build_site()
    pyodide = site / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    for name, entry in lock["packages"].items():
        assert "/" not in entry["file_name"], (name, entry["file_name"])
        assert (pyodide / entry["file_name"]).is_file(), entry["file_name"]
    assert lock["packages"]["cryptography"]["version"].endswith("+melangelab")
    config = (site / "jupyter-lite.json").read_text()
    assert not re.search(r"https?://", config), config


def test_the_site_asked_for_nothing_outside_its_own_origin(session: Session) -> None:
    assert session.ran, "no tutorial ran"
    assert session.network.refused == []


def test_no_python_traceback_reached_the_browser_console(session: Session) -> None:
    """The kernel's stderr goes to the console too: a failed redraw or background job would
    show here even if no cell printed it."""
    assert session.ran, "no tutorial ran"
    assert [error for error in session.console_errors if "Traceback" in error] == []
