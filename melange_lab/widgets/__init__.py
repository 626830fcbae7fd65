"""Widgets that show a broker live in Jupyter: ``BrokerView`` (what ``broker.view()`` returns),
an anywidget whose front end is ``static/view.js`` and ``static/view.css``.

``melange_lab.widgets.html`` draws a static picture (``_repr_html_``) without importing any
widget library; ``BrokerView`` (and anywidget) is imported only when first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from melange_lab.widgets.broker_view import BrokerView

__all__ = ["BrokerView"]


def __getattr__(name: str) -> Any:
    if name == "BrokerView":
        from melange_lab.widgets.broker_view import BrokerView

        return BrokerView
    raise AttributeError(f"module 'melange_lab.widgets' has no attribute {name!r}")
