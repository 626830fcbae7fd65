"""The serializer registry (melange's ``melange.serializers.registry``): which serializer
each message type uses, and each serializer by name and id.

Bindings match as melange's ``issubclass`` does: a type uses its own binding, else its most
specific bound superclass (virtual ones too, e.g. ``collections.abc.Mapping``), else the
default. ``typing`` aliases such as ``typing.Dict`` (melange's default settings) stand for
their plain class, ``dict``.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Any

from melange_lab.errors import DeserializationFailed, MelangeLabError, SerializerNotFound
from melange_lab.serializers.interfaces import Serializer
from melange_lab.serializers.json import JsonSerializer
from melange_lab.serializers.pickle import PickleSerializer

SerializerSpec = type[Serializer[Any]] | Serializer[Any]
ClassSerializer = tuple[type, Any]

default_settings: dict[str, Any] = {
    "serializers": {"json": JsonSerializer, "pickle": PickleSerializer},
    "serializer_bindings": {dict: "json"},
    "default": "pickle",
}


def plain_type(data_type: Any) -> Any:
    """``typing.Dict`` -> ``dict``, ``typing.Mapping`` -> ``collections.abc.Mapping``, ...;
    anything else unchanged."""
    origin = typing.get_origin(data_type)
    return origin if isinstance(origin, type) else data_type


def _is_subclass(data_type: type, bound: Any) -> bool:
    try:
        return issubclass(data_type, bound)
    except TypeError:  # a binding key that is not a class cannot match by inheritance
        return False


def sort(list_items: Iterable[ClassSerializer]) -> list[ClassSerializer]:
    """Orders (type, serializer) pairs so every subtype comes before its supertypes
    (melange's ``sort``); unrelated types keep their order."""
    ordered: list[ClassSerializer] = []
    for item in list_items:
        index = next(
            (i for i, (bound, _) in enumerate(ordered) if _is_subclass(item[0], bound)), None
        )
        if index is None:
            ordered.append(item)
        else:
            ordered.insert(index, item)
    return ordered


class SerializerRegistry:
    """Knows the serializers by name and id, and which one each message type uses.

    ``config`` is melange's: ``{"serializers": {name: class}, "serializer_bindings":
    {type: name}, "default": name}`` (``default`` optional). A serializer may also be given as
    an instance, e.g. ``PickleSerializer(allowed=[...])``.

    As in melange, ``serializer_for``, ``get_serializer_by_id`` and ``get_serializer_by_name``
    return the serializer as configured (usually its class); ``find_serializer_for`` and the
    ``serialize``/``deserialize_*`` methods use the registry's own instance of it, which knows
    the bindings (the pickle serializer loads only bound classes).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        serializers: Mapping[str, SerializerSpec] = config.get("serializers", {})
        self._specs: dict[str, SerializerSpec] = dict(serializers)
        self._by_name: dict[str, Serializer[Any]] = {
            name: spec() if isinstance(spec, type) else spec for name, spec in serializers.items()
        }
        self._name_by_id: dict[int, str] = {
            s.identifier(): name for name, s in self._by_name.items()
        }
        self._bindings: dict[type, str] = {
            plain_type(t): name for t, name in config.get("serializer_bindings", {}).items()
        }
        for data_type, name in self._bindings.items():
            self._instance(name).bind(data_type)
        self._sorted = sort(self._bindings.items())
        self._default: str | None = config.get("default")
        if self._default is not None:
            self._instance(self._default)

    @property
    def bindings(self) -> dict[type, str]:
        return dict(self._bindings)

    # -- melange's lookups: what the settings hold --------------------------------------------

    def serializer_for(self, type: Any) -> Any:
        """The serializer configured for ``type`` (melange returns the class).

        The exact binding, else the most specific bound superclass, else the default.
        """
        return self._specs[self._name_for(plain_type(type))]

    def get_serializer_by_id(self, id: int) -> Any:
        """The serializer configured with identifier ``id`` (melange returns the class)."""
        return self._specs[self._name_of_id(id)]

    def get_serializer_by_name(self, name: str) -> Any:
        """The serializer configured under ``name`` (melange returns the class)."""
        self._instance(name)
        return self._specs[name]

    # -- the registry's working instances -----------------------------------------------------

    def find_serializer_for(self, obj: Any) -> Serializer[Any]:
        """The serializer instance that serializes ``obj``."""
        return self._instance(self._name_for(type(obj)))

    def serializer_instance_by_id(self, serializer_id: int) -> Serializer[Any]:
        """The registry's instance of the serializer with this id (it knows the bindings)."""
        return self._instance(self._name_of_id(serializer_id))

    def default_serializer(self) -> Serializer[Any] | None:
        return None if self._default is None else self._by_name[self._default]

    def serialize(self, obj: Any) -> str:
        return self.find_serializer_for(obj).serialize(obj)

    def deserialize_with_serializerid(
        self, data: str, serializer_id: int, manifest: str | None = None
    ) -> Any:
        return self.serializer_instance_by_id(serializer_id).deserialize(data, manifest)

    def deserialize_with_class(self, data: str, klass: type, manifest: str | None = None) -> Any:
        """Deserializes with the serializer ``klass`` would be serialized with."""
        return self._instance(self._name_for(plain_type(klass))).deserialize(data, manifest)

    # -- internals ----------------------------------------------------------------------------

    def _name_for(self, data_type: type) -> str:
        mro: tuple[type, ...] = getattr(data_type, "__mro__", ())
        for klass in mro:
            if klass in self._bindings:
                return self._bindings[klass]
        for bound, name in self._sorted:  # virtual superclasses: ABCs, typing protocols
            if _is_subclass(data_type, bound):
                return str(name)
        if self._default is not None:
            return self._default
        raise SerializerNotFound(data_type, self._bindings, has_default=False)

    def _instance(self, name: str) -> Serializer[Any]:
        try:
            return self._by_name[name]
        except KeyError:
            raise MelangeLabError(
                f"No serializer named '{name}' (known: {sorted(self._by_name)}). Add it under "
                f"\"serializers\" in the registry settings, e.g. {{'{name}': ...}}."
            ) from None

    def _name_of_id(self, serializer_id: int) -> str:
        try:
            return self._name_by_id[int(serializer_id)]
        except (KeyError, TypeError, ValueError):
            raise DeserializationFailed(
                None,
                f"no serializer with id {serializer_id} in the registry "
                f"(known ids: {sorted(self._name_by_id)})",
            ) from None
