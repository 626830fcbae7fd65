"""HTML for everything the broker view shows, as plain strings (no ipywidgets import).

The live widgets and the static fallback (``_repr_html_`` for GitHub's preview, nbconvert and
kernels without widgets) draw from these same functions, so both always look alike. Colours
are JupyterLab's CSS variables (with fallbacks for pages outside JupyterLab), so the view
follows the light and dark themes; message states also differ by symbol, label and border
style, never by colour alone.
"""

from __future__ import annotations

import datetime
import html
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from melange_lab.backends.sqs import Subscription
from melange_lab.events import Event, EventKind
from melange_lab.inspection import (
    PeekedMessage,
    PeekNotSupported,
    QueueInfo,
    TopicInfo,
    payload_text,
)
from melange_lab.widgets.source import BrokerSource

PAGE_SIZE = 20
PREVIEW_CHARS = 90

# state -> (symbol, label); the CSS gives each its own border style too.
STATES: dict[str, tuple[str, str]] = {
    "visible": ("\u25cf", "visible"),
    "in_flight": ("\u25d0", "in flight"),
    "delayed": ("\u25f7", "delayed"),
    "dead_lettered": ("\u2716", "dead-lettered"),
}

STYLE = """
.ml-view { --ml-bg: #ffffff; --ml-fg: #1f1f1f; --ml-muted: #545454; --ml-border: #767676;
  --ml-line: #6b6b6b; --ml-surface: #f2f2f2; --ml-accent: #0b57d0; --ml-visible: #1b6b2d;
  --ml-in-flight: #8a4600; --ml-delayed: #0b5394; --ml-dead: #b3261e;
  background: var(--ml-bg); padding: 4px; }
body[data-jp-theme-light="false"] .ml-view { --ml-bg: #1e1e1e; --ml-fg: #ececec;
  --ml-muted: #bdbdbd; --ml-border: #8f8f8f; --ml-line: #a8a8a8; --ml-surface: #2b2b2b;
  --ml-accent: #8ab4f8; --ml-visible: #7fd18b; --ml-in-flight: #ffb86b; --ml-delayed: #8cc4ff;
  --ml-dead: #ff8a80; }
.ml-view { font-family: var(--jp-ui-font-family, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px); color: var(--ml-fg);
  line-height: 1.35; }
.ml-view .widget-html-content { line-height: 1.4; }
.ml-view code, .ml-view pre, .ml-mono { font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 12px); }
.ml-view pre { background: var(--ml-surface); color: var(--ml-fg); padding: 6px 8px;
  border-radius: 4px; white-space: pre-wrap; word-break: break-all;
  margin: 2px 0 8px 0; max-height: 260px; overflow: auto; }
.ml-title { font-weight: 600; font-size: var(--jp-ui-font-size2, 15px); margin: 2px 0 4px 0; }
.ml-muted { color: var(--ml-muted); }
.ml-tag { display: inline-block; border: 1px solid var(--ml-border);
  border-radius: 3px; padding: 0 4px; margin-left: 4px; font-size: 11px;
  color: var(--ml-muted); }
.ml-panel { border: 1px solid var(--ml-border); border-radius: 6px;
  padding: 6px 8px; background: var(--ml-bg); }
.ml-cards { display: flex; flex-direction: column; gap: 4px; margin-top: 4px; }
.ml-card { border: 1px solid var(--ml-border); border-left-width: 5px;
  border-radius: 4px; padding: 3px 6px; background: var(--ml-bg); }
.ml-card-top { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.ml-state { font-weight: 600; white-space: nowrap; }
.ml-card.ml-visible { border-left-color: var(--ml-visible); }
.ml-card.ml-in_flight { border-style: dashed; border-left-style: solid;
  border-left-color: var(--ml-in-flight); }
.ml-card.ml-delayed { border-style: dotted; border-left-style: solid;
  border-left-color: var(--ml-delayed); }
.ml-card.ml-dead_lettered { border-style: double; border-width: 3px; border-left-width: 6px;
  border-left-color: var(--ml-dead); }
.ml-visible .ml-state { color: var(--ml-visible); }
.ml-in_flight .ml-state { color: var(--ml-in-flight); }
.ml-delayed .ml-state { color: var(--ml-delayed); }
.ml-dead_lettered .ml-state { color: var(--ml-dead); }
.ml-payload { white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  color: var(--ml-fg); }
.ml-note { border-left: 3px solid var(--ml-in-flight); padding: 2px 6px;
  margin-top: 4px; background: var(--ml-surface); }
.ml-error { border-left: 3px solid var(--ml-dead); padding: 4px 8px;
  background: var(--ml-surface); white-space: pre-wrap; }
.ml-ok { border-left: 3px solid var(--ml-visible); padding: 4px 8px;
  background: var(--ml-surface); }
.ml-empty { color: var(--ml-muted); font-style: italic; }
.ml-table { border-collapse: collapse; }
.ml-table td, .ml-table th { text-align: left; padding: 1px 10px 1px 0; vertical-align: top; }
.ml-table th { color: var(--ml-muted); font-weight: normal; }
.ml-events { display: grid; grid-template-columns: max-content max-content max-content 1fr;
  column-gap: 10px; row-gap: 1px; }
.ml-svg text { fill: var(--ml-fg); font-size: 12px;
  font-family: var(--jp-ui-font-family, sans-serif); }
.ml-svg text.ml-small { fill: var(--ml-muted); font-size: 11px; }
.ml-svg text.ml-kind { fill: var(--ml-muted); font-size: 10px;
  letter-spacing: 0.05em; }
.ml-svg rect { fill: var(--ml-bg); stroke: var(--ml-border);
  stroke-width: 1.2; }
.ml-svg rect.ml-topic { stroke: var(--ml-accent); stroke-width: 2; }
.ml-svg rect.ml-subscription { stroke-dasharray: 4 2; }
.ml-svg rect.ml-dlq { stroke: var(--ml-dead); stroke-width: 2;
  stroke-dasharray: 6 3; }
.ml-svg path { fill: none; stroke: var(--ml-line); stroke-width: 1.4; }
.ml-svg path.ml-dlq-edge { stroke: var(--ml-dead); stroke-dasharray: 5 3; }
.ml-svg marker path { fill: var(--ml-line); stroke: none; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def style_tag() -> str:
    return f"<style>{STYLE}</style>"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def clock_time(at: float | None) -> str:
    """Broker time as ``HH:MM:SS.mmm`` (UTC), or an em dash."""
    if at is None:
        return "\u2014"
    moment = datetime.datetime.fromtimestamp(at, tz=datetime.timezone.utc)
    return moment.strftime("%H:%M:%S.%f")[:-3]


def to_text(value: Any) -> str:
    """The payload as its fields (an object's type first), never a memory address."""
    return payload_text(value)


# -- message cards ----------------------------------------------------------------------------


def card_state(message: PeekedMessage, in_dead_letter_queue: bool) -> str:
    """A message in a dead-letter queue shows as dead-lettered, whatever its SQS state."""
    return "dead_lettered" if in_dead_letter_queue else message.state


def card_html(message: PeekedMessage, in_dead_letter_queue: bool = False) -> str:
    state = card_state(message, in_dead_letter_queue)
    symbol, label = STATES.get(state, ("?", state))
    preview = shorten(to_text(message.payload), PREVIEW_CHARS)
    if message.decode_error:
        preview = f"cannot decode: {message.decode_error}"
    manifest = message.manifest or "no manifest"
    receives = f"received {message.receive_count}\u00d7"
    return (
        f'<div class="ml-card ml-{esc(state)}" data-message-id="{esc(message.message_id)}" '
        f'data-state="{esc(state)}">'
        f'<div class="ml-card-top"><span class="ml-state">{symbol} {esc(label)}</span>'
        f'<code class="ml-id">{esc(message.short_id)}</code>'
        f'<span class="ml-manifest">{esc(manifest)}</span>'
        f'<span class="ml-muted">{esc(receives)}</span></div>'
        f'<div class="ml-payload ml-mono" title="{esc(shorten(to_text(message.payload), 2000))}">'
        f"{esc(preview)}</div></div>"
    )


def cards_html(messages: Sequence[PeekedMessage], in_dead_letter_queue: bool = False) -> str:
    if not messages:
        return '<div class="ml-cards"><div class="ml-empty">no messages</div></div>'
    cards = "".join(card_html(message, in_dead_letter_queue) for message in messages)
    return f'<div class="ml-cards">{cards}</div>'


def page_summary(total: int, start: int, shown: int) -> str:
    """E.g. "messages 1-20 of 10,000 (9,980 not shown)"."""
    if total == 0:
        return ""
    if shown == total:
        return "1 message" if total == 1 else f"{total:,} messages"
    rest = total - shown
    summary = f"messages {start + 1:,}\u2013{start + shown:,} of {total:,}"
    return summary if rest == 0 else f"{summary} ({rest:,} not shown)"


# -- queue panels -----------------------------------------------------------------------------


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def display_order(queues: Sequence[QueueInfo]) -> list[QueueInfo]:
    """Working queues by name, then dead-letter queues: the order panels are shown in."""
    return sorted(queues, key=lambda q: (q.is_dead_letter_queue, q.name))


def counts_text(info: QueueInfo) -> str:
    counts = (
        f"{info.visible:,} visible",
        f"{info.in_flight:,} in flight",
        f"{info.delayed:,} delayed",
    )
    return " \u00b7 ".join(counts)


def queue_header_html(info: QueueInfo) -> str:
    tags = '<span class="ml-tag">FIFO</span>' if info.fifo else ""
    if info.is_dead_letter_queue:
        tags += '<span class="ml-tag">dead-letter queue</span>'
    links = []
    if info.dead_letter_queue:
        after = f" after {info.max_receive_count} receives" if info.max_receive_count else ""
        links.append(f"dead letters go to <b>{esc(info.dead_letter_queue)}</b>{esc(after)}")
    if info.dead_letter_sources:
        links.append(
            "takes dead letters of "
            + ", ".join(f"<b>{esc(s)}</b>" for s in info.dead_letter_sources)
        )
    link_html = "".join(f'<div class="ml-muted">{link}</div>' for link in links)
    return (
        f'<div class="ml-title" data-queue="{esc(info.name)}">{esc(info.name)}{tags}</div>'
        f'<div class="ml-muted">{esc(counts_text(info))}</div>{link_html}'
    )


def filtered_html(filtered: Sequence[Event], total: int) -> str:
    """What this queue's subscription kept out, newest first, with the filter's reason."""
    if total == 0:
        return ""
    noun = "message" if total == 1 else "messages"
    lines = "".join(
        f"<div><code>{esc((event.published_id or event.message_id or '')[:8])}</code> from topic "
        f"<b>{esc(event.topic)}</b>: {esc(event.reason or 'the filter policy did not match')}</div>"
        for event in reversed(filtered)
    )
    more = total - len(filtered)
    older = f'<div class="ml-muted">and {more:,} earlier</div>' if more > 0 else ""
    return (
        f'<div class="ml-note ml-filtered"><b>Filtered out {total:,} {noun}</b> '
        f"(this queue's subscription filter did not match):{lines}{older}</div>"
    )


def peek_unavailable_html(error: PeekNotSupported) -> str:
    return (
        '<div class="ml-note ml-no-peek"><b>Peeking is not possible on a real endpoint.</b> '
        f"The counts above are all SQS tells without changing messages. {esc(error)}</div>"
    )


def queue_panel_html(
    info: QueueInfo,
    messages: Sequence[PeekedMessage] | PeekNotSupported,
    filtered: Sequence[Event] = (),
    filtered_total: int = 0,
) -> str:
    """One queue's panel as static HTML: header, the first page of cards, filter notes."""
    if isinstance(messages, PeekNotSupported):
        body = peek_unavailable_html(messages)
    else:
        shown = messages[:PAGE_SIZE]
        body = (
            f'<div class="ml-muted ml-page">{esc(page_summary(len(messages), 0, len(shown)))}</div>'
            + cards_html(shown, info.is_dead_letter_queue)
        )
    return (
        f'<div class="ml-panel">{queue_header_html(info)}{body}'
        f"{filtered_html(filtered, filtered_total)}</div>"
    )


# -- topology ---------------------------------------------------------------------------------

_NODE_H = 42
_GAP_Y = 12
_GAP_X = 48
_WIDTHS = {"topic": 150, "subscription": 270, "queue": 190, "dlq": 190}


@dataclass(frozen=True)
class _Node:
    key: str
    kind: str
    kind_label: str
    title: str
    detail: str
    tooltip: str


def _policy_text(subscription: Subscription) -> str:
    policy = subscription.filter_policy
    if policy is None:
        return "no filter: every message"
    scope = "" if policy.scope.value == "MessageAttributes" else " (body)"
    return f"filter{scope}: {json.dumps(policy.rules, separators=(',', ':'))}"


def _delivery_text(subscription: Subscription) -> str:
    return "raw delivery" if subscription.raw_message_delivery else "in SNS envelope"


def _columns(
    topics: Sequence[TopicInfo], subscriptions: Sequence[Subscription], queues: Sequence[QueueInfo]
) -> list[list[_Node]]:
    ordered = sorted(subscriptions, key=lambda s: (s.topic, s.queue))
    queue_order = list(dict.fromkeys([s.queue for s in ordered] + [q.name for q in queues]))
    by_name = {q.name: q for q in queues}
    topic_nodes = [
        _Node(
            f"t:{t.name}", "topic", "TOPIC", t.name, plural(t.subscriptions, "subscription"), t.arn
        )
        for t in topics
    ]
    sub_nodes = [
        _Node(
            f"s:{s.topic}>{s.queue}", "subscription", "SUBSCRIPTION", _policy_text(s),
            _delivery_text(s),
            f"{s.topic} \u2192 {s.queue}: {_policy_text(s)}; {_delivery_text(s)}",
        )
        for s in ordered
    ]  # fmt: skip
    queue_nodes: list[_Node] = []
    dlq_nodes: list[_Node] = []
    for name in queue_order:
        info = by_name.get(name)
        detail = "" if info is None else plural(info.total, "message")
        is_dlq = info is not None and info.is_dead_letter_queue
        kind, label = ("dlq", "DEAD-LETTER QUEUE") if is_dlq else ("queue", "QUEUE")
        node = _Node(
            f"q:{name}", kind, label, name, detail, "" if info is None else counts_text(info)
        )
        (dlq_nodes if is_dlq else queue_nodes).append(node)
    return [column for column in (topic_nodes, sub_nodes, queue_nodes, dlq_nodes) if column]


def _node_svg(node: _Node, x: int, y: int) -> str:
    width = _WIDTHS[node.kind]
    chars = width // 7
    return (
        f'<g class="ml-node" data-node="{esc(node.key)}">'
        f"<title>{esc(node.tooltip or node.title)}</title>"
        f'<rect class="ml-{node.kind}" x="{x}" y="{y}" width="{width}" height="{_NODE_H}" rx="6"/>'
        f'<text class="ml-kind" x="{x + 8}" y="{y + 12}">{esc(node.kind_label)}</text>'
        f'<text x="{x + 8}" y="{y + 25}">{esc(shorten(node.title, chars))}</text>'
        f'<text class="ml-small" x="{x + 8}" y="{y + 37}">'
        f"{esc(shorten(node.detail, chars + 4))}</text></g>"
    )


def _edge_svg(
    start: tuple[int, int], end: tuple[int, int], marker: str, css: str = "", label: str = ""
) -> str:
    (x1, y1), (x2, y2) = start, end
    bend = (x2 - x1) // 2
    title = f"<title>{esc(label)}</title>" if label else ""
    cls = f' class="{css}"' if css else ""
    return (
        f'<path{cls} d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2 - 2},{y2}" '
        f'marker-end="url(#{marker})">{title}</path>'
    )


def topology_svg(
    topics: Sequence[TopicInfo], subscriptions: Sequence[Subscription], queues: Sequence[QueueInfo]
) -> str:
    """Topics -> subscriptions (filter policy, raw flag) -> queues -> dead-letter queues."""
    columns = _columns(topics, subscriptions, queues)
    if not columns:
        return '<div class="ml-empty">No topics or queues yet: declare some.</div>'
    height = max(len(column) for column in columns) * (_NODE_H + _GAP_Y) - _GAP_Y + 4
    places: dict[str, tuple[int, int, int]] = {}  # key -> x, y, width
    x = 2
    parts: list[str] = []
    for column in columns:
        column_height = len(column) * (_NODE_H + _GAP_Y) - _GAP_Y
        y = 2 + (height - 4 - column_height) // 2
        width = max(_WIDTHS[node.kind] for node in column)
        for node in column:
            places[node.key] = (x, y, _WIDTHS[node.kind])
            parts.append(_node_svg(node, x, y))
            y += _NODE_H + _GAP_Y
        x += width + _GAP_X

    def right(key: str) -> tuple[int, int]:
        nx, ny, nw = places[key]
        return nx + nw, ny + _NODE_H // 2

    def left(key: str) -> tuple[int, int]:
        nx, ny, _ = places[key]
        return nx, ny + _NODE_H // 2

    arrow = f"ml-arrow-{uuid.uuid4().hex[:10]}"  # unique: two pictures on a page keep theirs
    edges: list[str] = []
    for s in subscriptions:
        sub, topic, queue = f"s:{s.topic}>{s.queue}", f"t:{s.topic}", f"q:{s.queue}"
        if topic in places and sub in places:
            edges.append(_edge_svg(right(topic), left(sub), arrow))
        if queue in places and sub in places:
            edges.append(_edge_svg(right(sub), left(queue), arrow))
    for q in queues:
        if q.dead_letter_queue and f"q:{q.name}" in places and f"q:{q.dead_letter_queue}" in places:
            label = (
                f"after {q.max_receive_count} receives" if q.max_receive_count else "dead letters"
            )
            edges.append(
                _edge_svg(
                    right(f"q:{q.name}"),
                    left(f"q:{q.dead_letter_queue}"),
                    arrow,
                    "ml-dlq-edge",
                    label,
                )
            )
    marker = (
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    )
    width = x - _GAP_X + 4
    return (
        f'<svg class="ml-svg" role="img" aria-label="{esc(_topology_text(subscriptions, queues))}" '
        f'width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
        f"{marker}{''.join(edges)}{''.join(parts)}</svg>"
    )


def _topology_text(subscriptions: Sequence[Subscription], queues: Sequence[QueueInfo]) -> str:
    """The topology in words, for the static picture's text alternative."""
    parts = [
        f"topic {s.topic} feeds queue {s.queue} ({_policy_text(s)}, {_delivery_text(s)})"
        for s in sorted(subscriptions, key=lambda s: (s.topic, s.queue))
    ]
    parts += [
        f"queue {q.name} sends dead letters to {q.dead_letter_queue}"
        for q in queues
        if q.dead_letter_queue
    ]
    return "Broker topology: " + ("; ".join(parts) or "no subscriptions") + "."


# -- the whole broker, static -----------------------------------------------------------------


def filtered_by_queue(events: Iterable[Event]) -> dict[str, list[Event]]:
    found: dict[str, list[Event]] = {}
    for event in events:
        if event.kind is EventKind.FILTERED and event.queue:
            found.setdefault(event.queue, []).append(event)
        elif event.kind in (EventKind.RESET,):
            found.clear()
    return found


def broker_html(
    topics: Sequence[TopicInfo],
    subscriptions: Sequence[Subscription],
    queues: Sequence[QueueInfo],
    messages: dict[str, Sequence[PeekedMessage] | PeekNotSupported],
    filtered: dict[str, list[Event]],
) -> str:
    """The whole broker as one static page: topology, then each queue's first page of cards."""
    panels = "".join(
        queue_panel_html(
            info, messages.get(info.name, []), filtered.get(info.name, [])[-5:],
            len(filtered.get(info.name, [])),
        )
        for info in display_order(queues)
    )  # fmt: skip
    return (
        f'{style_tag()}<div class="ml-view"><h2 class="ml-title">Broker</h2>'
        f"{topology_svg(topics, subscriptions, queues)}"
        f'<div style="display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));'
        f'gap:8px;margin-top:8px">{panels}</div></div>'
    )


def render_broker(source: BrokerSource) -> str:
    """The static page for any broker source (``SimulatedBroker._repr_html_``)."""
    queues = source.queues()
    messages: dict[str, Sequence[PeekedMessage] | PeekNotSupported] = {}
    for info in queues:
        try:
            messages[info.name] = source.peek(info.name)
        except PeekNotSupported as error:
            messages[info.name] = error
    filtered = filtered_by_queue(source.events)
    return broker_html(source.topics(), source.subscriptions(), queues, messages, filtered)
