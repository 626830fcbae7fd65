"""What the broker view shows, as plain data computed once: the structure (with its laid-out
diagram and the same in words), each queue's panel (counts, one page of cards, filter notes),
the inspector's rows, and each event's words.

``BrokerView`` syncs these dicts to the front end (``static/view.js``), which only draws them;
``html.py`` draws the same dicts as a static page. So every text and number is decided here.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

from melange_lab.backends.sqs import Subscription
from melange_lab.events import Event
from melange_lab.inspection import PeekedMessage, QueueInfo, TopicInfo, payload_text, readable
from melange_lab.widgets import topology
from melange_lab.widgets.topology import plural, policy_text, receives_text

# state -> (symbol, words); the CSS also gives each its own border style: never colour alone.
STATES: dict[str, tuple[str, str]] = {
    "visible": ("\u25cf", "visible"),
    "in_flight": ("\u25d0", "in flight"),
    "delayed": ("\u25f7", "delayed"),
    "dead_lettered": ("\u2716", "dead-lettered"),
}
PAGE_SIZE = 20  # cards per queue page
FOLD_CHARS = 96  # longer values are folded, with a button to show them whole
CARD_FIELDS = 6  # fields shown on a card; the inspector shows all
FIELD_CHARS = 48
PREVIEW_CHARS = 140
FILTERED_SHOWN = 3
# Texts both drawings show where there is nothing to draw (html.py and view.js read them here).
NO_TOPOLOGY = "No topics or queues yet: declare some."
NO_MESSAGES = "No messages."


def short(message_id: str | None) -> str:
    return (message_id or "")[:8]


def clock_time(at: float | None, millis: bool = False) -> str:
    """Broker time as ``HH:MM:SS`` (UTC), with milliseconds if asked; an em dash if unknown."""
    if at is None:
        return "\u2014"
    moment = datetime.datetime.fromtimestamp(at, tz=datetime.timezone.utc)
    return moment.strftime("%H:%M:%S.%f")[:-3] if millis else moment.strftime("%H:%M:%S")


def counts_text(visible: int, in_flight: int, delayed: int) -> str:
    return f"{visible:,} visible, {in_flight:,} in flight, {delayed:,} delayed"


# -- the structure ----------------------------------------------------------------------------


def structure(
    topics: Sequence[TopicInfo],
    subscriptions: Sequence[Subscription],
    queues: Sequence[QueueInfo],
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Topics, subscriptions and queues (in the diagram's order), the diagram, its words.
    ``counts`` (queue -> total) fills the queue boxes' count lines; the live view leaves them
    empty and fills them in as messages land."""
    ordered = topology.queue_order(topics, subscriptions, queues)
    diagram = topology.layout(topics, subscriptions, ordered)
    return {
        "topics": [{"name": t.name, "fifo": t.fifo} for t in topics],
        "subscriptions": [
            {
                "topic": s.topic,
                "queue": s.queue,
                "filter": policy_text(s),
                "raw": s.raw_message_delivery,
            }
            for s in subscriptions
        ],
        "queues": [_queue_facts(q) for q in ordered],
        "diagram": diagram.as_dict(counts),
        "words": topology_words(topics, subscriptions, ordered),
        "summary": f"{plural(len(topics), 'topic')} \u00b7 {plural(len(queues), 'queue')}",
        "states": STATES,
        "texts": {"no_topology": NO_TOPOLOGY, "no_messages": NO_MESSAGES},
    }


def _queue_facts(q: QueueInfo) -> dict[str, Any]:
    links = []
    if q.dead_letter_queue:
        links.append(
            f"Dead letters go to {q.dead_letter_queue} {receives_text(q.max_receive_count)}."
        )
    if q.dead_letter_sources:
        links.append(f"Takes the dead letters of {', '.join(q.dead_letter_sources)}.")
    tags = [{"text": "FIFO", "cls": "mlv-tag"}] if q.fifo else []
    if q.is_dead_letter_queue:
        tags.append({"text": "dead-letter queue", "cls": "mlv-tag mlv-tag-dlq"})
    return {
        "name": q.name,
        "fifo": q.fifo,
        "tags": tags,
        "is_dlq": q.is_dead_letter_queue,
        "dead_letter_queue": q.dead_letter_queue,
        "links": links,
    }


def topology_words(
    topics: Sequence[TopicInfo], subscriptions: Sequence[Subscription], queues: Sequence[QueueInfo]
) -> list[dict[str, Any]]:
    """The diagram as a nested list of sentences (its text alternative)."""
    items: list[dict[str, Any]] = []
    for t in topics:
        mine = [s for s in subscriptions if s.topic == t.name]
        inner = [
            f"Subscription of queue {s.queue} to topic {t.name}: {policy_text(s)}; "
            f"{topology.delivery_text(s)}."
            for s in mine
        ]
        fifo = " (FIFO)" if t.fifo else ""
        text = f"Topic {t.name}{fifo} feeds {plural(len(mine), 'queue')}{':' if mine else '.'}"
        items.append({"text": text, "items": inner})
    for q in queues:
        kind = "Dead-letter queue" if q.is_dead_letter_queue else "Queue"
        links = " ".join(_queue_facts(q)["links"])
        items.append({"text": f"{kind} {q.name}{' (FIFO)' if q.fifo else ''}. {links}".strip()})
    return items


# -- queue panels and cards -------------------------------------------------------------------


def queue_panel(
    info: QueueInfo,
    cards: list[dict[str, Any]],
    page: int,
    page_size: int,
    filtered: Sequence[dict[str, str]] = (),
    filtered_total: int = 0,
    peek_error: str | None = None,
) -> dict[str, Any]:
    """One queue's panel: counts, the shown page of cards and its pager, filter notes."""
    pages = max(1, -(-info.total // page_size))
    first = page * page_size + 1
    last = min(info.total, first + page_size - 1)
    return {
        "visible": info.visible,
        "in_flight": info.in_flight,
        "delayed": info.delayed,
        "total": info.total,
        "total_text": plural(info.total, "message"),
        "counts": counts_text(info.visible, info.in_flight, info.delayed),
        "cards": cards,
        "page": page,
        "pages": pages,
        "page_size": page_size,
        "page_text": (
            f"messages {first:,}\u2013{last:,} of {info.total:,} (page {page + 1:,} of {pages:,})"
            if pages > 1
            else ""
        ),
        "filtered": _filtered_note(filtered, filtered_total),
        "peek_error": peek_error,
    }


def _filtered_note(filtered: Sequence[dict[str, str]], total: int) -> dict[str, Any] | None:
    if not total:
        return None
    more = total - len(filtered)
    return {
        "title": f"Filtered out {plural(total, 'message')}",
        "why": "this queue's subscription filter did not match",
        "items": list(reversed(filtered)),
        "more": f"and {more:,} earlier" if more > 0 else "",
    }


def filter_note(event: Event) -> dict[str, str]:
    """One filtered message as a queue panel lists it: its id, then ``text``."""
    reason = event.reason or "the filter policy did not match"
    return {
        "id": event.published_id or event.message_id or "",
        "topic": event.topic or "",
        "reason": reason,
        "text": f"from topic {event.topic or ''}: {reason}",
    }


def card_state(message: PeekedMessage, in_dead_letter_queue: bool) -> str:
    """A message in a dead-letter queue shows as dead-lettered, whatever its SQS state."""
    return "dead_lettered" if in_dead_letter_queue else message.state


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def card(message: PeekedMessage, in_dead_letter_queue: bool, published_id: str) -> dict[str, Any]:
    """One message card: state, ids, type, FIFO group, and the payload's first fields."""
    shown = None if message.decode_error else readable(message.payload)
    fields = shown if isinstance(shown, dict) else None
    more = 0 if fields is None else max(0, len(fields) - CARD_FIELDS)
    meta = [message.type_name, f"received {message.receive_count}\u00d7"]
    if message.message_group_id:
        meta.append(f"group {message.message_group_id}")
    state = card_state(message, in_dead_letter_queue)
    symbol, words = STATES.get(state, ("?", state))
    ids = f"queue id {short(message.message_id)}"
    if published_id != message.message_id:
        ids += f" \u00b7 published {short(published_id)}"
    return {
        "id": message.message_id,
        "published_id": published_id,
        "state": state,
        "state_text": f"{symbol} {words}",
        "ids": ids,
        "meta": " \u00b7 ".join(meta),
        "fields": None
        if fields is None
        else [
            [k, _cut(_value_text(v), FIELD_CHARS)] for k, v in list(fields.items())[:CARD_FIELDS]
        ],
        "more_fields": more,
        "more_text": f"+{more} more" if more else "",
        "preview": None
        if fields is not None
        else _cut(
            f"cannot decode: {message.decode_error}"
            if message.decode_error
            else payload_text(message.payload),
            PREVIEW_CHARS,
        ),
        "decode_error": bool(message.decode_error),
        "group": message.message_group_id,
        "visible_at": message.visible_at,
        "delayed_until": message.delayed_until,
    }


# -- the inspector ----------------------------------------------------------------------------

_ENVELOPE_SHOWN = ("Type", "TopicArn", "Subject", "Timestamp", "SignatureVersion", "Signature",
                   "SigningCertURL", "UnsubscribeURL")  # fmt: skip


def inspected(
    message: PeekedMessage, queue: str, in_dead_letter_queue: bool, published_id: str
) -> dict[str, Any]:
    """Everything stored about one message, each thing once: facts, the payload's fields, its
    attributes, the SNS envelope's own fields, and the raw body folded away."""
    state = card_state(message, in_dead_letter_queue)
    symbol, words = STATES.get(state, ("?", state))
    facts: list[list[str]] = [
        ["queue", queue],
        ["queue message id", message.message_id],
    ]
    if published_id != message.message_id:
        facts.append(["published id", published_id])
    facts += [["state", f"{symbol} {words}"], ["receive count", str(message.receive_count)],
              ["sent at", f"{clock_time(message.sent_at, True)} UTC"]]  # fmt: skip
    if message.visible_at and message.state == "in_flight":
        facts.append(["visible again at", f"{clock_time(message.visible_at, True)} UTC"])
    if message.delayed_until and message.state == "delayed":
        facts.append(["delayed until", f"{clock_time(message.delayed_until, True)} UTC"])
    if not message.manifest or not message.manifest.endswith(message.type_name):
        facts.append(["type", message.type_name])
    for label, value in (
        ("manifest", message.manifest),
        ("serializer id", message.serializer_id),
        ("message group id", message.message_group_id),
        ("deduplication id", message.deduplication_id),
    ):
        if value is not None and value != "":
            facts.append([label, str(value)])
    return {
        "queue": queue,
        "id": message.message_id,
        "published_id": published_id,
        "state": state,
        "title": f"Message {short(message.message_id)} in {queue}",
        "facts": facts,
        "payload": _payload_rows(message),
        "attributes": [[k, v] for k, v in message.envelope_attributes.items()],
        "envelope": None
        if message.envelope is None
        else [
            [k, _value_text(message.envelope[k])] for k in _ENVELOPE_SHOWN if k in message.envelope
        ],
        "body": _pretty(message.body),
        "body_label": f"The body as SQS stores it ({plural(len(message.body), 'character')})",
        "fold_at": FOLD_CHARS,
    }


def _payload_rows(message: PeekedMessage) -> dict[str, Any]:
    if message.decode_error:
        return {"error": message.decode_error, "fields": None, "text": None}
    shown = readable(message.payload)
    if isinstance(shown, dict) and shown:
        return {"error": None, "fields": [[k, _value_text(v)] for k, v in shown.items()],
                "text": None}  # fmt: skip
    return {"error": None, "fields": None, "text": payload_text(message.payload, 2)}


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body


# -- events -----------------------------------------------------------------------------------


def _kind(event: Event) -> str:
    return getattr(event.kind, "value", str(event.kind))


def event_words(event: Event) -> str:
    """One event as a sentence: ``#7 20:14:02 delivered, topic orders, queue billing, ...``."""
    kind = _kind(event).replace("_", " ")
    to = event.detail.get("dead_letter_queue") or event.detail.get("to_queue")
    where = ", ".join(
        part
        for part in (
            f"to {to}" if to else "",
            f"topic {event.topic}" if event.topic else "",
            f"queue {event.queue}" if event.queue else "",
            f"message {short(event.message_id)}" if event.message_id else "",
            f"published as {short(event.published_id)}"
            if event.published_id and event.published_id != event.message_id
            else "",
        )
        if part
    )
    why = f": {event.reason}" if event.reason else ""
    if _kind(event) == "clock_advanced":
        why = f": +{event.detail.get('seconds')} s"
    return f"#{event.seq} {clock_time(event.at)} {kind}{', ' + where if where else ''}{why}"


_DETAIL_SENT = ("dead_letter_queue", "to_queue", "from_message_id")  # what the front end routes by


def event_dict(event: Event) -> dict[str, Any]:
    """An event as the front end reads it: ids from the event itself (``published_id`` only
    where it differs from ``message_id``), the words computed here, little else."""
    data: dict[str, Any] = {"seq": event.seq, "at": round(event.at, 3), "kind": _kind(event)}
    for name in ("queue", "topic", "message_id", "reason"):
        value = getattr(event, name)
        if value is not None:
            data[name] = value
    if event.published_id and event.published_id != event.message_id:
        data["published_id"] = event.published_id
    detail = {k: str(event.detail[k]) for k in _DETAIL_SENT if event.detail.get(k) is not None}
    if detail:
        data["detail"] = detail
    data["text"] = event_words(event)
    return data
