"""The broker view's front end alone in Chromium: ``view.js`` loaded from the package into a
blank page, with a stand-in for the widget model, fed the very states a real ``BrokerView``
syncs (captured by a recording comm, as ipywidgets' own tests capture them). No Jupyter and no
kernel, so a test can run the page's clock by hand; the benchmark measures with it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page

from melange_lab.widgets import broker_view
from melange_lab.widgets.broker_view import BrokerView
from melange_lab.widgets.comm_recorder import CommRecorder

STATIC = Path(broker_view.__file__).parent / "static"
VIEW_JS = (STATIC / "view.js").read_text()
VIEW_CSS = (STATIC / "view.css").read_text()

# A model as anywidget hands one to render(): get/set/on/off/send, plus push() to apply a
# state update the way the widget manager does (all values first, then the change events).
_MOUNT_JS = """
async ([source, state]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const module = await import(url);
  const handlers = {};
  const model = {
    state, sent: [],
    get: (key) => model.state[key],
    set: (key, value) => { model.state[key] = value; },
    save_changes() {},
    on(name, fn) { (handlers[name] = handlers[name] || []).push(fn); },
    off(name, fn) { handlers[name] = (handlers[name] || []).filter((f) => f !== fn); },
    send(message) { model.sent.push(message); },
    push(update) {
      Object.assign(model.state, update);
      for (const key of Object.keys(update)) for (const fn of handlers[`change:${key}`] || []) fn();
    },
    custom(message) { for (const fn of handlers["msg:custom"] || []) fn(message, []); },
  };
  const el = document.createElement("div");
  document.body.append(el);
  window.mlvModel = model;
  module.default.render({ model, el });
}
"""


class FrontEnd:
    """One view's front end in a page, fed by one Python ``BrokerView``."""

    def __init__(self, page: Page, view: BrokerView, comms: CommRecorder) -> None:
        self.page = page
        self.widget = view
        self.comms = comms
        state = {k: v for k, v in view.get_state().items() if not k.startswith("_")}
        state["_css"] = VIEW_CSS
        comms.clear()
        page.evaluate(_MOUNT_JS, [VIEW_JS, state])
        self.root: Locator = page.locator(".mlv")

    def sync(self) -> None:
        """Redraws in Python (``flush``) and delivers what it sent, as a kernel would."""
        self.widget.flush()
        self.deliver()

    def deliver(self) -> None:
        for message in list(self.comms.messages):
            if message.get("method") == "update":
                self.page.evaluate("(update) => window.mlvModel.push(update)", message["state"])
            elif message.get("method") == "custom":
                self.page.evaluate("(m) => window.mlvModel.custom(m)", message["content"])
        self.comms.clear()
        self.page.evaluate("() => new Promise((resolve) => queueMicrotask(resolve))")

    def sent(self) -> list[dict[str, Any]]:
        """The intents the front end sent, oldest first."""
        found: list[dict[str, Any]] = self.page.evaluate("() => window.mlvModel.sent")
        return found

    def answer(self) -> None:
        """Hands every intent sent so far to the Python view, then delivers its answers."""
        for message in self.sent():
            self.widget._handle_custom_msg(message, [])
        self.page.evaluate("() => { window.mlvModel.sent = []; }")
        self.deliver()


@contextmanager
def blank_page(browser: Browser, **options: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    try:
        page = context.new_page()
        page.set_content("<!doctype html><html><body></body></html>")
        yield page
    finally:
        context.close()
