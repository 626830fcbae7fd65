"""``default_backend()``: older code passes a backend; there is only one here."""

from __future__ import annotations


class PurePythonBackend:
    """The one backend: plain Python integers and ``hashlib``."""


_BACKEND = PurePythonBackend()


def default_backend() -> PurePythonBackend:
    return _BACKEND
