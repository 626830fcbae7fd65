"""The process-wide default backend, as in melange, but resettable for tests and notebooks."""

from __future__ import annotations

import threading

from melange_lab.backends.base import MessagingBackend
from melange_lab.errors import MelangeLabError, NoDefaultBackend


class _DefaultBackend:
    def __init__(self) -> None:
        self.backend: MessagingBackend | None = None
        self.lock = threading.Lock()


_default = _DefaultBackend()


class BackendManager:
    """Holds the default backend used by publishers and dispatchers created without one.

    Every ``BackendManager()`` sees the same default, like melange's singleton.
    """

    def set_default_backend(self, backend: MessagingBackend) -> None:
        if not isinstance(backend, MessagingBackend):
            raise MelangeLabError(
                f"{backend!r} is not a messaging backend. Pass one, e.g. "
                "BackendManager().set_default_backend(SimulatedBroker.default().backend), or an "
                "instance of a subclass of melange_lab.backends.MessagingBackend."
            )
        with _default.lock:
            _default.backend = backend

    def get_default_backend(self) -> MessagingBackend:
        backend = _default.backend
        if backend is None:
            raise NoDefaultBackend()
        return backend

    def has_default_backend(self) -> bool:
        return _default.backend is not None

    def reset(self) -> None:
        """Forgets the default backend (tests call this between cases)."""
        with _default.lock:
            _default.backend = None


def resolve_backend(backend: MessagingBackend | None) -> MessagingBackend:
    """The given backend, else the default one (with a clear error when none is set)."""
    return backend if backend is not None else BackendManager().get_default_backend()
