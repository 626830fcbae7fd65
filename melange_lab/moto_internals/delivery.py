"""SNS to SQS delivery: raw delivery of Binary attributes, and delivery after a latency.

Raw delivery: moto 5.2 hands a Binary attribute of an SNS publish to SQS as base64 text, and
the SQS receive that follows crashes computing its MD5 (it expects bytes). SNS delivers the
attribute's bytes. The fix decodes them before moto's raw-delivery code sees them.

Latency: SNS delivers to SQS asynchronously, a little after Publish returns, so a test that
counts a queue right after publishing races on AWS. moto delivers inside Publish. With a
latency installed, each copy for an SQS subscriber waits in a schedule until the broker's
clock reaches publish time + latency; ``deliver_due`` delivers what is due (in publish order),
so on a manual clock the race is deterministic: nothing arrives until the clock moves.
``drop_pending`` reports what is still in transit when the broker stops.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.sns.models import Subscription

from melange_lab.moto_internals.patching import _set_feature


def _bytes_for_binary(stock: Callable[..., None]) -> Callable[..., None]:
    def publish(self: Subscription, message: str, message_id: str, *args: Any, **kw: Any) -> None:
        attributes = kw.get("message_attributes")
        if attributes and self.attributes.get("RawMessageDelivery") in (True, "true"):
            kw["message_attributes"] = {name: _decoded(value) for name, value in attributes.items()}
        stock(self, message, message_id, *args, **kw)

    return publish


def _decoded(attribute: dict[str, Any]) -> dict[str, Any]:
    value = attribute.get("Value")
    if not str(attribute.get("Type", "")).startswith("Binary") or not isinstance(value, str):
        return attribute
    try:
        return {**attribute, "Value": base64.b64decode(value, validate=True)}
    except (binascii.Error, ValueError):
        return {**attribute, "Value": value.encode("utf-8")}


def install_raw_binary_fix() -> None:
    """Raw delivery hands a Binary attribute's bytes to SQS, as SNS does."""
    _set_feature("raw_binary", [(Subscription, "publish", _bytes_for_binary)])


def uninstall_raw_binary_fix() -> None:
    _set_feature("raw_binary", None)


# --- delivery after a latency on the broker's clock -----------------------------------------
#
# The fan-out (``fan_out``) decides each subscription's fate at publish time (filtered or
# not) and hands each copy that must travel here; a copy is delivered, or reported as dropped,
# never silently lost.


@dataclass(order=True)
class _Pending:
    due: float
    order: int
    deliver: Callable[[], None] = field(compare=False)
    drop: Callable[[str], None] = field(compare=False)


@dataclass
class _Schedule:
    latency: float
    now: Callable[[], float]
    pending: list[_Pending] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)
    delivering: int = 0  # taken from ``pending``, not yet in their queue


_schedule: _Schedule | None = None
_schedule_lock = threading.RLock()
_delivering = threading.RLock()  # one deliver_due at a time, so publish order is kept


def install_delivery_latency(seconds: float, now: Callable[[], float]) -> None:
    """Deliver SNS to SQS ``seconds`` after publish on the clock ``now`` (see deliver_due)."""
    global _schedule
    with _schedule_lock:
        _schedule = _Schedule(float(seconds), now)


def uninstall_delivery_latency() -> None:
    """Deliver inside Publish again; call ``drop_pending`` first to report copies in transit."""
    global _schedule
    with _schedule_lock:
        _schedule = None


def schedule_delivery(deliver: Callable[[], None], drop: Callable[[str], None]) -> bool:
    """Queues one copy's delivery for publish time + latency; False when there is no latency
    (the caller delivers at once). ``drop(reason)`` reports the copy if it is never delivered.
    """
    with _schedule_lock:
        schedule = _schedule
        if schedule is None:
            return False
        due = schedule.now() + schedule.latency
        heapq.heappush(schedule.pending, _Pending(due, next(schedule.counter), deliver, drop))
        return True


def pending_deliveries() -> int:
    """How many SNS to SQS deliveries are still on their way (waiting, or being delivered)."""
    with _schedule_lock:
        return 0 if _schedule is None else len(_schedule.pending) + _schedule.delivering


def next_delivery_due() -> float | None:
    """When the next waiting delivery is due (broker clock seconds), if any."""
    with _schedule_lock:
        if _schedule is None or not _schedule.pending:
            return None
        return _schedule.pending[0].due


def deliver_due() -> int:
    """Delivers every waiting delivery whose time has come, oldest first; returns how many.

    Each delivery reports its own outcome (delivered, or delivery_failed when its queue is
    gone or refuses it); none of them raises here.
    """
    delivered = 0
    with _delivering:
        while True:
            with _schedule_lock:
                schedule = _schedule
                if schedule is None or not schedule.pending:
                    return delivered
                if schedule.pending[0].due > schedule.now():
                    return delivered
                item = heapq.heappop(schedule.pending)
                schedule.delivering += 1
            try:
                item.deliver()
            finally:
                with _schedule_lock:
                    schedule.delivering -= 1
            delivered += 1


def drop_pending(reason: str) -> int:
    """Reports every copy still in transit as dropped (``reason`` says why); returns how many."""
    with _delivering, _schedule_lock:
        schedule = _schedule
        if schedule is None:
            return 0
        dropped, schedule.pending = sorted(schedule.pending), []
    for item in dropped:
        item.drop(reason)
    return len(dropped)
