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

ClockMode = Literal["real", "manual"]
_TICK = 1e-6  # how far a manual clock moves per reading


class BrokerClock:
    def __init__(
        self,
        mode: ClockMode = "real",
        on_advance: Callable[[float], None] | None = None,
    ) -> None:
        if mode not in ("real", "manual"):
            raise ValueError(f"Clock mode must be 'real' or 'manual', not {mode!r}.")
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

    def advance(self, seconds: float) -> float:
        """Moves broker time forward: timeouts, delays and retention expire as if it had passed."""
        if seconds < 0:
            raise ValueError(f"The broker clock only moves forward; got advance({seconds}).")
        with self._lock:
            self._offset += seconds
        if self._on_advance is not None:
            self._on_advance(seconds)
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
