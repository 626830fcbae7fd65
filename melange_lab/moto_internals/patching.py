"""Patching moto undoably: every fix is a list of layers; removing the last puts moto back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

# --- patching, undoably ---------------------------------------------------------------------

# Each feature (clock, fast counts, dead-letter listener) is a list of (owner, name, wrap)
# layers; wrap turns the object below it into its replacement. Layers on the same attribute
# stack in a fixed order, and removing the last layer puts moto's own object back.
_Layer = tuple[type | ModuleType, str, Callable[[Any], Any]]
# Inner layers first: e.g. send_message checks the size (message_size) before the
# deduplication window (fifo_dedup_window) sees the message.
_FEATURE_ORDER = (
    "fifo_group_fix",
    "fifo_receive",
    "fast_counts",
    "fifo_dedup_window",
    "message_size",
    "sqs_checks",
    "sqs_requests",
    "trace_headers",
    "batches",
    "sixty_seconds",
    "sns_checks",
    "error_wire",
    "fast_signing",
    "envelopes",
    "filter_policies",
    "subscription_checks",
    "topic_checks",
    "raw_binary",
    "fifo_topics",
    "dead_letter_source",
    "message_moves",
    "broker_events",
    "fan_out",
    "clock",
)
_features: dict[str, list[_Layer]] = {}
_originals: dict[tuple[type | ModuleType, str], Any] = {}
_lock = threading.RLock()


def _set_feature(feature: str, layers: list[_Layer] | None) -> None:
    with _lock:
        if layers is None:
            _features.pop(feature, None)
        else:
            _features[feature] = layers
        _rebuild()


# What a layer receives for an attribute moto does not have (an API action moto lacks).
MISSING: Any = object()


def _rebuild() -> None:
    active = [layer for f in _FEATURE_ORDER for layer in _features.get(f, [])]
    for owner, name in {(o, n) for o, n, _ in active} | set(_originals):
        original = _originals.setdefault((owner, name), vars(owner).get(name, MISSING))
        value = original
        for layer_owner, layer_name, wrap in active:
            if (layer_owner, layer_name) == (owner, name):
                value = wrap(value)
        if value is not MISSING:
            setattr(owner, name, value)
        elif name in vars(owner):
            delattr(owner, name)
        if value is original:
            del _originals[(owner, name)]


def _wrap_property(wrap_getter: Callable[[Callable[[Any], Any]], Callable[[Any], Any]]) -> Any:
    """A layer for a read-only property: wraps its getter."""
    return lambda prop: property(wrap_getter(prop.fget))


def _stock(owner: type | ModuleType, name: str) -> Any:
    """moto's own object, even while one of our patches sits in its place."""
    with _lock:
        return _originals.get((owner, name), vars(owner).get(name))
