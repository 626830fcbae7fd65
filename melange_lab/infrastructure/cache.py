"""The dispatcher's memory of what each consumer has already processed.

A broker delivers each message at least once, so a consumer may be handed the same message
again. With a ``DeduplicationCache`` the dispatcher skips a consumer that already processed a
message id; with ``NullCache`` (melange's default) it processes every delivery.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Protocol


class ProcessedCache(Protocol):
    """What the dispatcher needs from a cache: ask for a key, and store one."""

    def __contains__(self, key: object) -> bool: ...

    def store(self, key: str, value: Any = True) -> None: ...


class DeduplicationCache:
    """In-memory and bounded: keeps the newest ``max_entries`` keys, forgets the oldest.

    The dispatcher's key is the consumer's qualified name plus the message id
    (see ``cache_key``), so two different consumers of one message do not skip each other.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}.")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        """The stored value, or None when the key is unknown (melange's interface)."""
        with self._lock:
            return self._entries.get(key)

    def store(self, key: str, value: Any = True) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __repr__(self) -> str:
        return f"DeduplicationCache({len(self)}/{self.max_entries} keys)"


class NullCache:
    """Remembers nothing: every delivery is processed, duplicates included (melange's default)."""

    def get(self, key: str) -> Any:
        return None

    def store(self, key: str, value: Any = True) -> None:
        """Forgets ``key`` at once: that is this cache's whole purpose."""

    def __contains__(self, key: object) -> bool:
        return False

    def __len__(self) -> int:
        return 0


def cache_key(consumer_name: str, message_id: str | None) -> str:
    """The key a dispatcher stores once ``consumer_name`` has processed ``message_id``."""
    return f"{consumer_name}:{message_id}"
