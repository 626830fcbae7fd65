"""melange's ``melange.utils``."""

from __future__ import annotations

from typing import Any


def get_fully_qualified_name(obj: Any) -> str:
    """``module.ClassName`` of ``obj``'s class, as melange names consumers in cache keys."""
    return f"{type(obj).__module__}.{type(obj).__name__}"
