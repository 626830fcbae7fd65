"""melange's ``melange.backends.interfaces``: the backend interface, at melange's path."""

from melange_lab.backends.base import MessagingBackend

__all__ = ["MessagingBackend"]
