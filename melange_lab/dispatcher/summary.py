"""What a dispatcher run did: the outcome of each message, and the counts of a run."""

from __future__ import annotations

import dataclasses
import enum


class Outcome(str, enum.Enum):
    """What became of one delivered message."""

    PROCESSED = "processed"  # every accepting consumer succeeded (or had already)
    FAILED = "failed"  # a consumer raised, or the message could not be decoded
    UNHANDLED = "unhandled"  # no consumer accepts it
    CRASHED = "crashed"  # an injected crash between processing and acknowledging


@dataclasses.dataclass
class ConsumeSummary:
    """Counts for one loop, batch or background run; ``stopped_because`` says why it ended."""

    received: int = 0
    processed: int = 0
    failed: int = 0
    unhandled: int = 0
    crashed: int = 0
    acknowledged: int = 0
    duplicates_skipped: int = 0
    released: int = 0
    stopped_because: str = ""

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def add(self, other: ConsumeSummary) -> None:
        for field in dataclasses.fields(self):
            mine = getattr(self, field.name)
            if isinstance(mine, int):
                setattr(self, field.name, mine + getattr(other, field.name))
        self.stopped_because = other.stopped_because
