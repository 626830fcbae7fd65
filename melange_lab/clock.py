"""The broker's clock: moves the simulated broker's time, never the kernel's.

Two modes. ``"real"`` follows the wall clock (plus whatever was advanced), as a real broker
does; background consumers need it. ``"manual"`` stands still until ``advance`` moves it, so a
notebook or a test sees visibility timeouts and delays expire exactly when it says so.
Even then each reading is one microsecond after the one before, as on a real clock: moto
compares times strictly ("visible once now > visible_at"), so a clock that returned the same
instant twice would keep a released message hidden forever.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from melange_lab.arguments import checked, choice, number
from melange_lab.errors import InvalidParameter

ClockMode = Literal["real", "manual"]
_TICK = 1e-6  # how far a manual clock moves per reading
MAX_ADVANCE = 10 * 365 * 24 * 3600.0  # ten years: far past any SQS/SNS limit, far from overflow
MAX_OFFSET = 100 * 365 * 24 * 3600.0  # in total: dates stay well inside what datetime handles
CLOCK_MODES = ("real", "manual")


class BrokerClock:
    def __init__(
        self,
        mode: ClockMode = "real",
        on_advance: Callable[[float], None] | None = None,
    ) -> None:
        choice("clock", mode, CLOCK_MODES)
        self._lock = threading.Lock()
        self._offset = 0.0
        self._readings = 0
        self._frozen_at: float | None = time.time() if mode == "manual" else None
        self._on_advance = on_advance

    @property
    def mode(self) -> ClockMode:
        return "manual" if self._frozen_at is not None else "real"

    def now(self) -> float:
        """The broker's current time, in epoch seconds."""
        frozen = self._frozen_at
        if frozen is None:
            return time.time() + self._offset
        with self._lock:
            self._readings += 1
            return frozen + self._offset + self._readings * _TICK

    @checked()
    def advance(self, seconds: float) -> float:
        """Moves broker time forward: timeouts, delays and retention expire as if it had passed."""
        step = number(
            "seconds",
            seconds,
            0,
            MAX_ADVANCE,
            unit="seconds (the broker clock only moves forward, and at most ten years at once)",
            fix="e.g. broker.clock.advance(30).",
        )
        with self._lock:
            if self._offset + step > MAX_OFFSET:
                raise InvalidParameter(
                    "seconds",
                    seconds,
                    f"at most {MAX_OFFSET - self._offset:,.0f} more seconds (100 years in all)",
                    "Create a new SimulatedBroker to start from today again.",
                )
            self._offset += step
        if self._on_advance is not None:
            self._on_advance(step)
        return self.now()

    def freeze(self) -> None:
        """Switches to manual mode: broker time stands still until ``advance``."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time()

    def use_real_time(self) -> None:
        """Switches to real mode, carrying on from the current broker time."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset += self._frozen_at - time.time()
                self._frozen_at = None

    def __repr__(self) -> str:
        return f"BrokerClock(mode={self.mode!r}, now={self.now():.3f})"
