"""The serializer interface (melange's ``melange.serializers.interfaces``)."""

from __future__ import annotations

from typing import ClassVar, Generic

from melange_lab.helpers.typing import T


class Serializer(Generic[T]):
    """Turns one family of objects into text (``serialize``) and back (``deserialize``).

    A registry instantiates the classes named in its settings with no arguments, as melange
    does, so a subclass's constructor must work without any.
    """

    name: ClassVar[str] = "serializer"

    @staticmethod
    def identifier() -> int:
        """A number unique per serializer, sent as the ``serializer_id`` message attribute."""
        raise NotImplementedError

    def manifest(self, data: T) -> str | None:
        """A name for the kind of ``data``, sent as the ``manifest`` attribute (filters use it)."""
        return None

    def serialize(self, data: T) -> str:
        raise NotImplementedError

    def deserialize(self, data: str, manifest: str | None = None) -> T:
        raise NotImplementedError

    def bind(self, data_type: type) -> None:
        """Told by the registry that ``data_type`` is bound to this serializer."""

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} id={self.identifier()}>"


def nested_too_deeply() -> str:
    """The reason given when a payload overflows Python's recursion limit."""
    return (
        "it is nested too deeply for Python's recursion limit; flatten the structure "
        "(e.g. send a list of nodes with parent ids instead of nested objects)"
    )
