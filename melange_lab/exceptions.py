"""melange's ``melange.exceptions``; every lab error lives in ``melange_lab.errors``."""

from melange_lab.errors import SerializationError

__all__ = ["SerializationError"]
