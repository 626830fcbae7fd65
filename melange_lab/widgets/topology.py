"""Where the broker view draws each topic, subscription and queue, computed once in Python.

The live view (``static/view.js``) and the static picture (``html.py``) both draw this layout
as it is: node boxes, the lines of text inside them, edges, the routes a message travels, and
the timeline's lanes. Columns run topics, subscriptions, queues, dead-letter queues; each
queue's subscriptions sit beside it and its dead-letter queue on its row, so edges only join
neighbouring columns and never cross a box. Text is set in a monospace font whose advance is
known, so lines are wrapped here to fit their box and never overlap (the front end shrinks a
line only if a wider fallback font would still overflow).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from melange_lab.backends.sqs import Subscription
from melange_lab.filter_policies import FilterPolicy, FilterPolicyScope
from melange_lab.inspection import QueueInfo, TopicInfo

# Monospace text: the advance of DejaVu Sans Mono, Menlo and Liberation Mono is 0.602 em,
# Consolas 0.55 em; 0.62 leaves room for rounding.
TITLE_PX, SMALL_PX, CHAR_EM = 12.0, 10.5, 0.62
PAD_X, PAD_TOP, PAD_BOTTOM = 8, 5, 6
LINE_PX = {"kind": 13, "title": 16, "small": 14}  # baseline to baseline: no two lines touch
WIDTH = {"topic": 140, "subscription": 210, "queue": 176, "dlq": 196}
GAP_X, GAP_Y = 34, 10
MAX_LINES = {"title": 2, "policy": 4}
LANE_PX = 94  # the narrowest timeline lane (11 fit 1,080 px); lane titles are wrapped to fit it
LANE_TITLE_PX = 10.5
# An edge's arrowhead, as an SVG marker (a dead-letter edge's has its own class).
ARROW = {"view_box": "0 0 10 10", "path": "M0,0 L10,5 L0,10 z", "ref_x": 9, "ref_y": 5, "size": 7}


def chars_fitting(width: float, font_px: float) -> int:
    """How many monospace characters fit in ``width`` pixels."""
    return max(4, int(width // (font_px * CHAR_EM)))


def wrap(text: str, chars: int, max_lines: int) -> list[str]:
    """``text`` in lines of at most ``chars``, broken after spaces, hyphens, dots, commas or
    underscores where possible; a cut last line ends with an ellipsis."""
    pieces = re.findall(r"[^ \-_.,/:]*[ \-_.,/:]?", text)
    lines: list[str] = []
    current = ""
    for piece in (p for p in pieces if p):
        while len(piece) > chars:  # a word longer than a line: hard break
            room = chars - len(current)
            lines.append(current + piece[:room])
            current, piece = "", piece[room:]
        if len((current + piece).rstrip()) > chars:
            lines.append(current.rstrip())
            current = ""
        current += piece
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return cut_lines(lines, chars, max_lines)


def cut_lines(lines: list[str], chars: int, most: int) -> list[str]:
    """The first ``most`` lines, the last ending with an ellipsis if any were left out."""
    if len(lines) <= most:
        return lines
    return [*lines[: most - 1], lines[most - 1][: chars - 1].rstrip() + "\u2026"]


# -- filter policies in words -----------------------------------------------------------------


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value if value and re.fullmatch(r"[\w.@:/+-]+", value) else json.dumps(value)
    if isinstance(value, dict) and len(value) == 1:
        [(operator, operand)] = value.items()
        return _operator_text(str(operator), operand)
    return json.dumps(value, separators=(",", ":"))


def _operator_text(operator: str, operand: Any) -> str:
    if operator == "prefix":
        return f"starts with {_value_text(operand)}"
    if operator == "suffix":
        return f"ends with {_value_text(operand)}"
    if operator == "exists":
        return "present" if operand else "absent"
    if operator == "equals-ignore-case":
        return f"{_value_text(operand)} (any case)"
    if operator == "wildcard":
        return f"like {_value_text(operand)}"
    if operator == "cidr":
        return f"in {operand}"
    if operator == "numeric" and isinstance(operand, list):
        pairs = [f"{operand[i]} {operand[i + 1]}" for i in range(0, len(operand) - 1, 2)]
        return " and ".join(pairs)
    if operator == "anything-but":
        values = operand if isinstance(operand, list) else [operand]
        return "not " + ", ".join(_value_text(v) for v in values)
    return json.dumps({operator: operand}, separators=(",", ":"))


def _rule_lines(rules: dict[str, Any], path: str = "") -> list[str]:
    lines: list[str] = []
    for key, value in rules.items():
        name = f"{path}{key}"
        if key == "$or" and isinstance(value, list):
            alternatives = [
                " and ".join(_rule_lines(part)) for part in value if isinstance(part, dict)
            ]
            lines.append("either " + " | or ".join(alternatives))
        elif isinstance(value, dict):
            lines.extend(_rule_lines(value, f"{name}."))
        elif isinstance(value, list):
            lines.append(f"{name}: " + " or ".join(_value_text(v) for v in value))
        else:
            lines.append(f"{name}: {_value_text(value)}")
    return lines


def policy_lines(policy: FilterPolicy | None) -> list[str]:
    """A filter policy in words, one line per rule (all must match), e.g.
    ``manifest: OrderShipped or PaymentFailed``; no policy: ``every message``."""
    if policy is None:
        return ["every message"]
    return _rule_lines(policy.rules)


def policy_text(subscription: Subscription) -> str:
    """The subscription's filter in one line, for tooltips, text lists and notes."""
    policy = subscription.filter_policy
    if policy is None:
        return "no filter: every message"
    scope = "the body" if policy.scope is FilterPolicyScope.MESSAGE_BODY else "attributes"
    return f"filter on {scope}: " + "; ".join(policy_lines(policy))


def delivery_text(subscription: Subscription) -> str:
    return "raw delivery" if subscription.raw_message_delivery else "in the SNS envelope"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def receives_text(count: int | None) -> str:
    return f"after {plural(count, 'receive')}" if count else "dead letters"


# -- nodes ------------------------------------------------------------------------------------


@dataclass
class Node:
    key: str
    kind: str
    label: str  # the small capitals on top: TOPIC, SUBSCRIPTION, QUEUE...
    title: list[str]
    small: list[str] = field(default_factory=list)
    tip: str = ""
    count_of: str | None = None  # the queue whose live count the last line shows
    x: float = 0
    y: float = 0

    @property
    def width(self) -> int:
        return WIDTH[self.kind]

    @property
    def height(self) -> int:
        count = 1 if self.count_of else 0
        return (
            PAD_TOP + LINE_PX["kind"] + LINE_PX["title"] * len(self.title)
            + LINE_PX["small"] * (len(self.small) + count) + PAD_BOTTOM
        )  # fmt: skip

    def lines(self, counts: dict[str, int]) -> list[dict[str, Any]]:
        """Each line of text with its class and baseline (relative to the box's top)."""
        room = self.width - 2 * PAD_X
        out: list[dict[str, Any]] = []
        y = PAD_TOP + 10
        out.append({"text": self.label, "cls": "kind", "dx": PAD_X, "dy": y, "max": room})
        y += LINE_PX["title"]
        for text in self.title:
            out.append({"text": text, "cls": "title", "dx": PAD_X, "dy": y, "max": room})
            y += LINE_PX["title"]
        for text in self.small:
            out.append({"text": text, "cls": "small", "dx": PAD_X, "dy": y, "max": room})
            y += LINE_PX["small"]
        if self.count_of is not None:
            total = counts.get(self.count_of)
            shown = "" if total is None else plural(total, "message")
            out.append({"text": shown, "cls": "small count", "dx": PAD_X, "dy": y, "max": room,
                        "count_of": self.count_of})  # fmt: skip
        return out

    def as_dict(self, counts: dict[str, int]) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "x": round(self.x, 1),
            "y": round(self.y, 1),
            "w": self.width,
            "h": self.height,
            "tip": self.tip,
            "lines": self.lines(counts),
        }


def _title(text: str, kind: str) -> list[str]:
    return wrap(text, chars_fitting(WIDTH[kind] - 2 * PAD_X, TITLE_PX), MAX_LINES["title"])


def _topic_node(topic: TopicInfo, subscriptions: int) -> Node:
    label = "TOPIC \u00b7 FIFO" if topic.fifo else "TOPIC"
    return Node(
        f"t:{topic.name}", "topic", label, _title(topic.name, "topic"),
        [plural(subscriptions, "subscription")], f"topic {topic.name} ({topic.arn})",
    )  # fmt: skip


def _subscription_node(subscription: Subscription) -> Node:
    policy = subscription.filter_policy
    words = ["SUBSCRIPTION"]
    if policy is not None and policy.scope is FilterPolicyScope.MESSAGE_BODY:
        words.append("BODY FILTER")
    if subscription.raw_message_delivery:
        words.append("RAW")
    chars = chars_fitting(WIDTH["subscription"] - 2 * PAD_X, TITLE_PX)
    lines: list[str] = []
    for rule in policy_lines(policy):
        lines.extend(wrap(rule, chars, MAX_LINES["policy"]))
    lines = cut_lines(lines, chars, MAX_LINES["policy"])
    tip = (
        f"subscription of queue {subscription.queue} to topic {subscription.topic}: "
        f"{policy_text(subscription)}; {delivery_text(subscription)}"
    )
    return Node(subscription_key(subscription), "subscription", " \u00b7 ".join(words), lines,
                tip=tip)  # fmt: skip


def subscription_key(subscription: Subscription) -> str:
    return f"s:{subscription.topic}>{subscription.queue}"


def _queue_node(queue: QueueInfo, sources: Sequence[QueueInfo]) -> Node:
    if queue.is_dead_letter_queue:
        counts = {s.max_receive_count for s in sources}
        after = receives_text(counts.pop()) if len(counts) == 1 else plural(len(sources), "source")
        tip = f"dead-letter queue {queue.name}: takes the dead letters of " + ", ".join(
            f"{s.name} ({receives_text(s.max_receive_count)})" for s in sources
        )
        label = "DEAD-LETTER QUEUE"
        return Node(f"q:{queue.name}", "dlq", label, _title(queue.name, "dlq"), [after], tip,
                    queue.name)  # fmt: skip
    label = "QUEUE \u00b7 FIFO" if queue.fifo else "QUEUE"
    tip = f"queue {queue.name}" + (
        f"; dead letters go to {queue.dead_letter_queue} {receives_text(queue.max_receive_count)}"
        if queue.dead_letter_queue
        else ""
    )
    return Node(f"q:{queue.name}", "queue", label, _title(queue.name, "queue"), [], tip,
                queue.name)  # fmt: skip


# -- placing them -----------------------------------------------------------------------------


def queue_order(
    topics: Sequence[TopicInfo], subscriptions: Sequence[Subscription], queues: Sequence[QueueInfo]
) -> list[QueueInfo]:
    """Queues top to bottom, each dead-letter queue right after its (first) source queue.

    Subscribed queues first, ordered by the mean position of the topics they hear (so
    subscription edges do not cross), then queues nobody subscribed, by name."""
    topic_index = {t.name: i for i, t in enumerate(topics)}
    heard: dict[str, list[int]] = {}
    for s in subscriptions:
        heard.setdefault(s.queue, []).append(topic_index.get(s.topic, len(topic_index)))

    def rank(q: QueueInfo) -> tuple[int, float, str]:
        indices = heard.get(q.name)
        return (0, sum(indices) / len(indices), q.name) if indices else (1, 0.0, q.name)

    by_name = {q.name: q for q in queues}
    ordered: list[QueueInfo] = []
    for q in sorted((q for q in queues if not q.is_dead_letter_queue), key=rank):
        ordered.append(q)
        dlq = by_name.get(q.dead_letter_queue or "")
        if dlq is not None and dlq not in ordered:
            ordered.append(dlq)
    ordered += sorted((q for q in queues if q not in ordered), key=rank)
    return ordered


@dataclass
class _Block:
    """One row of the diagram: a queue, its subscriptions and its dead-letter queue."""

    subscriptions: list[Node]
    queue: Node | None
    dlq: Node | None

    @property
    def stacked(self) -> float:
        heights = [n.height for n in self.subscriptions]
        return sum(heights) + GAP_Y * max(0, len(heights) - 1)

    @property
    def height(self) -> float:
        return max([self.stacked] + [n.height for n in (self.queue, self.dlq) if n is not None])

    def place(self, top: float, xs: dict[str, float]) -> list[Node]:
        """Puts the subscriptions stacked and the queues centred on the row starting at ``top``."""
        y = top + (self.height - self.stacked) / 2
        for node in self.subscriptions:
            node.x, node.y = xs["subscription"], y
            y += node.height + GAP_Y
        boxes = [n for n in (self.queue, self.dlq) if n is not None]
        for node in boxes:
            node.x, node.y = xs[node.kind], top + (self.height - node.height) / 2
        return self.subscriptions + boxes


def _blocks(subscriptions: Sequence[Subscription], queues: Sequence[QueueInfo]) -> list[_Block]:
    by_queue: dict[str, list[Subscription]] = {}
    for s in subscriptions:
        by_queue.setdefault(s.queue, []).append(s)
    sources: dict[str, list[QueueInfo]] = {}
    for q in queues:
        if q.dead_letter_queue:
            sources.setdefault(q.dead_letter_queue, []).append(q)
    blocks: list[_Block] = []
    for q in queues:
        node = _queue_node(q, sources.get(q.name, []))
        subs = [_subscription_node(s) for s in by_queue.get(q.name, [])]
        if (
            node.kind == "dlq"
            and blocks
            and blocks[-1].queue is not None
            and (
                blocks[-1].dlq is None and blocks[-1].queue.key == f"q:{_first_source(q, sources)}"
            )
        ):
            blocks[-1].dlq = node  # on its source queue's row
            blocks[-1].subscriptions += subs
        elif node.kind == "dlq":
            blocks.append(_Block(subs, None, node))
        else:
            blocks.append(_Block(subs, node, None))
    return blocks


def _first_source(dlq: QueueInfo, sources: dict[str, list[QueueInfo]]) -> str:
    found = sources.get(dlq.name) or []
    return found[0].name if found else ""


@dataclass
class Diagram:
    """The laid-out topology: its size, boxes, edges, the routes tokens travel, and lanes."""

    width: int
    height: int
    nodes: list[Node]
    edges: list[dict[str, Any]]
    routes: dict[str, str]
    lanes: list[dict[str, Any]]

    def as_dict(self, counts: dict[str, int] | None = None) -> dict[str, Any]:
        """As JSON; each queue box's count line from ``counts`` (queue -> total), or empty for
        the live view, which fills it in as messages land."""
        return {
            "width": self.width,
            "height": self.height,
            "nodes": [n.as_dict(counts or {}) for n in self.nodes],
            "edges": self.edges,
            "routes": self.routes,
            "lanes": self.lanes,
            "lane_px": LANE_PX,
            "arrow": ARROW,
        }


def layout(
    topics: Sequence[TopicInfo],
    subscriptions: Sequence[Subscription],
    queues: Sequence[QueueInfo],
) -> Diagram:
    """The whole diagram; ``queues`` in ``queue_order``."""
    topic_names = {t.name for t in topics}
    subscriptions = sorted(
        (
            s
            for s in subscriptions
            if s.topic in topic_names and s.queue in {q.name for q in queues}
        ),
        key=lambda s: ([t.name for t in topics].index(s.topic), s.queue),
    )
    blocks = _blocks(subscriptions, queues)
    has = {
        "topic": bool(topics),
        "subscription": bool(subscriptions),
        "queue": any(b.queue for b in blocks),
        "dlq": any(b.dlq for b in blocks),
    }
    xs: dict[str, float] = {}
    x = 2.0 if has["topic"] or has["subscription"] else 2.0 + GAP_X  # room for a send's token
    for kind in ("topic", "subscription", "queue", "dlq"):
        if has[kind]:
            xs[kind] = x
            x += WIDTH[kind] + GAP_X
    width = x - GAP_X + 2 if xs else 0
    nodes: list[Node] = []
    y = 2.0
    for block in blocks:
        nodes += block.place(y, xs)
        y += block.height + GAP_Y
    nodes += _place_topics(topics, subscriptions, nodes, xs.get("topic", 2.0))
    height = max([y - GAP_Y + 2.0] + [n.y + n.height + 2 for n in nodes]) if nodes else 0.0
    places = {n.key: n for n in nodes}
    return Diagram(
        round(width), round(height), nodes, _edges(subscriptions, queues, places),
        _routes(subscriptions, queues, places), lanes(topics, queues),
    )  # fmt: skip


def _place_topics(
    topics: Sequence[TopicInfo], subscriptions: Sequence[Subscription], placed: list[Node], x: float
) -> list[Node]:
    """Each topic level with the middle of its subscriptions, pushed down to not overlap."""
    centre = {n.key: n.y + n.height / 2 for n in placed}
    wanted: list[tuple[float, Node]] = []
    last = max((n.y + n.height for n in placed), default=0.0)
    for topic in topics:
        mine = [centre[subscription_key(s)] for s in subscriptions if s.topic == topic.name]
        node = _topic_node(topic, len(mine))
        target = sum(mine) / len(mine) - node.height / 2 if mine else last + GAP_Y
        if not mine:
            last = target + node.height
        wanted.append((target, node))
    bottom = 2.0 - GAP_Y
    for target, node in sorted(wanted, key=lambda pair: pair[0]):
        node.x, node.y = x, max(target, bottom + GAP_Y)
        bottom = node.y + node.height
    return [node for _, node in wanted]


def _right(n: Node) -> tuple[float, float]:
    return n.x + n.width, n.y + n.height / 2


def _left(n: Node) -> tuple[float, float]:
    return n.x, n.y + n.height / 2


def _curve(a: tuple[float, float], b: tuple[float, float], move: str = "M") -> str:
    bend = (b[0] - a[0]) / 2
    return (
        f"{move}{a[0]:.1f},{a[1]:.1f} C{a[0] + bend:.1f},{a[1]:.1f} "
        f"{b[0] - bend:.1f},{b[1]:.1f} {b[0]:.1f},{b[1]:.1f}"
    )


def _edge(kind: str, start: Node, end: Node, tip: str = "") -> dict[str, Any]:
    return {"kind": kind, "from": start.key, "to": end.key, "tip": tip,
            "d": _curve(_right(start), _left(end))}  # fmt: skip


def _edges(
    subscriptions: Sequence[Subscription], queues: Sequence[QueueInfo], places: dict[str, Node]
) -> list[dict[str, Any]]:
    edges = []
    for s in subscriptions:
        sub = places[subscription_key(s)]
        edges.append(_edge("subscribe", places[f"t:{s.topic}"], sub))
        edges.append(_edge("deliver", sub, places[f"q:{s.queue}"]))
    for q in queues:
        source, dlq = places.get(f"q:{q.name}"), places.get(f"q:{q.dead_letter_queue}")
        if source is not None and dlq is not None:
            tip = (
                f"dead letters of {q.name} go to {dlq.key[2:]} {receives_text(q.max_receive_count)}"
            )
            edges.append(_edge("dead-letter", source, dlq, tip))
    return edges


def _routes(
    subscriptions: Sequence[Subscription], queues: Sequence[QueueInfo], places: dict[str, Node]
) -> dict[str, str]:
    """The paths a token travels: ``deliver:<topic>><queue>`` (through the subscription to the
    queue), ``filter:<topic>><queue>`` (stopping at the subscription), ``send:<queue>`` (a
    message sent straight to the queue), ``dead:<queue>`` (to its dead-letter queue)."""
    routes: dict[str, str] = {}
    for q in queues:
        node = places.get(f"q:{q.name}")
        if node is not None:
            x, y = _left(node)
            routes[f"send:{q.name}"] = f"M{x - GAP_X + 4:.1f},{y:.1f} L{x:.1f},{y:.1f}"
    for s in subscriptions:
        topic, sub, queue = (
            places[f"t:{s.topic}"],
            places[subscription_key(s)],
            places[f"q:{s.queue}"],
        )
        first = _curve(_right(topic), _left(sub))
        through = f" L{_right(sub)[0]:.1f},{_right(sub)[1]:.1f}"
        routes[f"deliver:{s.topic}>{s.queue}"] = (
            first + through + " " + _curve(_right(sub), _left(queue), "L")
        )
        routes[f"filter:{s.topic}>{s.queue}"] = first
    for q in queues:
        source, dlq = places.get(f"q:{q.name}"), places.get(f"q:{q.dead_letter_queue}")
        if source is not None and dlq is not None:
            routes[f"dead:{q.name}"] = _curve(_right(source), _left(dlq))
    return routes


def lanes(topics: Sequence[TopicInfo], queues: Sequence[QueueInfo]) -> list[dict[str, Any]]:
    """The timeline's lanes: topics, queues in diagram order, then the consumers. Each name is
    wrapped for the narrowest lane; ``char_px`` tells a wider lane whether it fits on one line."""
    chars = chars_fitting(LANE_PX - 8, LANE_TITLE_PX)
    named = [(f"t:{t.name}", "topic", t.name) for t in topics]
    named += [
        (f"q:{q.name}", "dead-letter queue" if q.is_dead_letter_queue else "queue", q.name)
        for q in queues
    ]
    named.append(("c:consumers", "consumers", "consumers"))
    return [
        {"key": key, "kind": kind, "name": name, "lines": wrap(name, chars, 2),
         "char_px": round(LANE_TITLE_PX * CHAR_EM, 2)}
        for key, kind, name in named
    ]  # fmt: skip
