"""The harness end to end: an ipywidgets VBox renders as a live widget in JupyterLab."""

from __future__ import annotations

import sys

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import SaveScreenshot
from .lab_harness import DARK_THEME, Lab

GREETING = "Hello from melange-lab"
BUTTON_LABEL = "Publish"
KERNEL_CELL = "import sys\nprint(sys.executable)"
WIDGET_CELL = f"""\
import ipywidgets as widgets

widgets.VBox([widgets.HTML("<b>{GREETING}</b>"), widgets.Button(description="{BUTTON_LABEL}")])
"""


def rendered_vbox(page: Page) -> Locator:
    """The VBox as drawn by the widget manager (absent if only the text fallback shows)."""
    return page.locator(".jp-OutputArea-output > .jupyter-widgets.widget-vbox")


def expect_live_widget(page: Page) -> None:
    vbox = rendered_vbox(page)
    expect(vbox.locator(".widget-html-content")).to_have_text(GREETING)
    expect(vbox.locator("button.jupyter-button")).to_have_text(BUTTON_LABEL)
    expect(page.get_by_text("Loading widget...")).to_have_count(0)
    expect(page.get_by_text("Error displaying widget")).to_have_count(0)


@pytest.mark.browser
def test_vbox_of_html_and_button_renders_as_a_live_widget_in_light_and_dark_themes(
    lab: Lab, save_screenshot: SaveScreenshot
) -> None:
    lab.write_notebook("smoke.ipynb", [KERNEL_CELL, WIDGET_CELL])

    page = lab.run_notebook("smoke.ipynb")

    expect(page.locator(".jp-OutputArea-output").first).to_have_text(sys.executable)
    expect_live_widget(page)
    save_screenshot(page, "light")

    lab.set_theme(DARK_THEME)

    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    expect_live_widget(page)
    save_screenshot(page, "dark")
