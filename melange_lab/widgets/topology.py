"""The topology diagram: topics -> subscriptions -> queues -> dead-letter queues, as SVG."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets

from melange_lab.backends.sqs import Subscription
from melange_lab.inspection import QueueInfo, TopicInfo
from melange_lab.widgets.html import topology_svg


class TopologyDiagram(widgets.HTML):  # type: ignore[misc]
    """An inline SVG of the broker's wiring; each subscription box shows its filter and raw flag."""

    def __init__(self) -> None:
        super().__init__()
        self.add_class("ml-topology")

    def update(
        self,
        topics: Sequence[TopicInfo],
        subscriptions: Sequence[Subscription],
        queues: Sequence[QueueInfo],
    ) -> None:
        """Redraws; an unchanged drawing sends nothing to the front end."""
        self.value = topology_svg(topics, subscriptions, queues)
