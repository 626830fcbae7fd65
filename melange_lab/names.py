"""The naming rules AWS applies to queues and topics, checked before anything is created."""

from __future__ import annotations

import re

from melange_lab.errors import InvalidName

_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,80}")
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,256}")


def check_queue_name(name: str) -> str:
    _check("queue", name, _QUEUE, 80)
    return name


def check_topic_name(name: str) -> str:
    _check("topic", name, _TOPIC, 256)
    return name


def _check(kind: str, name: object, pattern: re.Pattern[str], limit: int) -> None:
    if not isinstance(name, str):
        raise InvalidName(kind, name, f"a {kind} name must be a string")
    stem = name.removesuffix(".fifo")
    if pattern.fullmatch(name) or (stem != name and pattern.fullmatch(stem) and len(name) <= limit):
        return
    raise InvalidName(
        kind,
        name,
        f"use 1 to {limit} letters, digits, hyphens or underscores, optionally ending in "
        f"'.fifo' for a FIFO {kind} (e.g. 'orders' or 'orders.fifo').",
    )


def name_from_arn(arn: str) -> str:
    """A topic's (or queue's) name from its ARN: the part after the last colon."""
    return arn.rsplit(":", 1)[-1]


def name_from_url(url: str) -> str:
    """A queue's name from its URL: the last path segment."""
    return url.rstrip("/").rsplit("/", 1)[-1]
