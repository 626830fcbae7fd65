"""The broker view as one static HTML page (``_repr_html_``: GitHub's preview, nbconvert,
kernels without widgets), with no widget library imported.

It draws the very dicts the live view syncs (``picture``: the laid-out diagram, each queue's
panel and cards) with the live view's own stylesheet, so the two look alike and no text or
layout number is decided twice. What only a live view has (forms, tokens, the timeline) is
left out.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from melange_lab.events import EventKind
from melange_lab.inspection import PeekNotSupported, QueueInfo
from melange_lab.widgets import picture
from melange_lab.widgets.source import BrokerSource

_STYLE = Path(__file__).parent / "static" / "view.css"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def style_tag() -> str:
    """The live view's stylesheet (its ``:host`` rule means nothing outside a shadow root)."""
    return f"<style>{_STYLE.read_text(encoding='utf-8')}</style>"


def diagram_svg(diagram: dict[str, Any], words: str) -> str:
    """The laid-out topology as SVG, with ``words`` as its text alternative."""
    if not diagram["nodes"]:
        return f'<p class="mlv-empty">{esc(picture.NO_TOPOLOGY)}</p>'
    arrow = f"mlv-arrow-{uuid.uuid4().hex[:10]}"  # unique: two pictures on a page keep theirs
    a = diagram["arrow"]
    markers = "".join(
        f'<marker id="{arrow}{suffix}" viewBox="{a["view_box"]}" refX="{a["ref_x"]}" '
        f'refY="{a["ref_y"]}" markerWidth="{a["size"]}" markerHeight="{a["size"]}" '
        f'orient="auto-start-reverse"><path d="{a["path"]}" class="{cls}"/></marker>'
        for suffix, cls in (("", "mlv-arrowhead"), ("-dead", "mlv-arrowhead mlv-arrowhead-dead"))
    )
    edges = "".join(
        f'<path class="mlv-edge mlv-edge-{esc(e["kind"])}" d="{esc(e["d"])}" '
        f'marker-end="url(#{arrow}{"-dead" if e["kind"] == "dead-letter" else ""})">'
        + (f"<title>{esc(e['tip'])}</title>" if e.get("tip") else "")
        + "</path>"
        for e in diagram["edges"]
    )
    nodes = "".join(_node_svg(n) for n in diagram["nodes"])
    width, height = diagram["width"], diagram["height"]
    return (
        f'<div class="mlv-topology"><svg class="mlv-svg" role="img" aria-label="{esc(words)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<defs>{markers}</defs>{edges}{nodes}</svg></div>"
    )


def _node_svg(node: dict[str, Any]) -> str:
    lines = "".join(
        f'<text class="mlv-t-{esc(line["cls"].split()[0])}" x="{node["x"] + line["dx"]}" '
        f'y="{node["y"] + line["dy"]}">{esc(line["text"])}</text>'
        for line in node["lines"]
    )
    return (
        f'<g class="mlv-node mlv-node-{esc(node["kind"])}" data-node="{esc(node["key"])}">'
        f"<title>{esc(node['tip'])}</title>"
        f'<rect x="{node["x"]}" y="{node["y"]}" width="{node["w"]}" height="{node["h"]}" rx="6"/>'
        f"{lines}</g>"
    )


def card_html(card: dict[str, Any]) -> str:
    if card["fields"] is not None:
        fields = "".join(
            f'<span class="mlv-kv"><span class="mlv-k">{esc(k)}:</span> '
            f'<span class="mlv-v">{esc(v)}</span></span>'
            for k, v in card["fields"]
        )
        more = card["more_text"]
        more_html = f'<span class="mlv-muted">{esc(more)}</span>' if more else ""
        body = f'<span class="mlv-fields">{fields}{more_html}</span>'
    else:
        error = " mlv-decode-error" if card["decode_error"] else ""
        body = f'<span class="mlv-preview{error}">{esc(card["preview"])}</span>'
    return (
        f'<li class="mlv-card mlv-{esc(card["state"])}" data-message-id="{esc(card["id"])}" '
        f'data-published-id="{esc(card["published_id"])}" data-state="{esc(card["state"])}">'
        f'<div class="mlv-card-main"><span class="mlv-card-top"><span class="mlv-state">'
        f'{esc(card["state_text"])}</span><span class="mlv-ids">{esc(card["ids"])}</span></span>'
        f'<span class="mlv-meta">{esc(card["meta"])}</span>{body}</div></li>'
    )


def queue_panel_html(facts: dict[str, Any], panel: dict[str, Any]) -> str:
    """One queue's panel: name, counts, dead-letter links, its first page of cards, notes."""
    tags = "".join(f'<span class="{t["cls"]}">{esc(t["text"])}</span>' for t in facts["tags"])
    links = "".join(f'<p class="mlv-muted mlv-link">{esc(t)}</p>' for t in facts["links"])
    if panel["peek_error"]:
        body = f'<p class="mlv-note">{esc(panel["peek_error"])}</p>'
    elif panel["cards"]:
        body = '<ul class="mlv-cards">' + "".join(card_html(c) for c in panel["cards"]) + "</ul>"
    else:
        body = f'<p class="mlv-empty">{esc(picture.NO_MESSAGES)}</p>'
    pager = f'<p class="mlv-muted">{esc(panel["page_text"])}</p>' if panel["page_text"] else ""
    dlq = " mlv-queue-dlq" if facts["is_dlq"] else ""
    return (
        f'<li class="mlv-queue{dlq}" data-queue="{esc(facts["name"])}" '
        f'data-total="{panel["total"]}"><h4 class="mlv-h4">{esc(facts["name"])}{tags}</h4>'
        f'<p class="mlv-counts">{esc(panel["counts"])}</p>{links}{body}{pager}'
        f"{_filtered_html(panel['filtered'])}</li>"
    )


def _filtered_html(note: dict[str, Any] | None) -> str:
    if not note:
        return ""
    items = "".join(
        f"<li><code>{esc(picture.short(f['id']))}</code> {esc(f['text'])}</li>"
        for f in note["items"]
    )
    more = f'<p class="mlv-muted">{esc(note["more"])}</p>' if note["more"] else ""
    return (
        f'<details class="mlv-note mlv-filtered"><summary><strong>{esc(note["title"])}</strong>: '
        f"{esc(note['why'])}.</summary><ul>{items}</ul>{more}</details>"
    )


def _words_text(items: Sequence[dict[str, Any]]) -> str:
    return "Broker topology: " + " ".join(
        " ".join([item["text"], *item.get("items", [])]) for item in items
    )


def render_broker(source: BrokerSource) -> str:
    """The static page for any broker source (``SimulatedBroker._repr_html_``)."""
    queues = source.queues()
    counts = {q.name: q.total for q in queues}
    structure = picture.structure(source.topics(), source.subscriptions(), queues, counts)
    by_name = {q.name: q for q in queues}
    filtered = _filtered_by_queue(source)
    panels = "".join(
        queue_panel_html(facts, _panel(source, by_name[facts["name"]], filtered))
        for facts in structure["queues"]
    )
    diagram = diagram_svg(structure["diagram"], _words_text(structure["words"]))
    return (
        f'{style_tag()}<div class="mlv"><div class="mlv-head"><h2 class="mlv-h2">Broker</h2>'
        f'<span class="mlv-muted mlv-summary">{esc(structure["summary"])}</span></div>'
        f'<div class="mlv-layout"><section class="mlv-section mlv-sec-topology">'
        f"{diagram}"
        f'</section><section class="mlv-section mlv-sec-queues"><ul class="mlv-queues">{panels}'
        f"</ul></section></div></div>"
    )


def _panel(
    source: BrokerSource, info: QueueInfo, filtered: dict[str, list[dict[str, str]]]
) -> dict[str, Any]:
    notes = filtered.get(info.name, [])
    shown = notes[-picture.FILTERED_SHOWN :]
    try:
        stored = source.peek(info.name)[: picture.PAGE_SIZE]
    except PeekNotSupported as error:
        return picture.queue_panel(info, [], 0, picture.PAGE_SIZE, shown, len(notes), str(error))
    cards = [picture.card(m, info.is_dead_letter_queue, m.published_id) for m in stored]
    return picture.queue_panel(info, cards, 0, picture.PAGE_SIZE, shown, len(notes))


def _filtered_by_queue(source: BrokerSource) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for event in source.events:
        if event.kind is EventKind.FILTERED and event.queue:
            found.setdefault(event.queue, []).append(picture.filter_note(event))
        elif event.kind is EventKind.RESET:
            found.clear()
    return found
