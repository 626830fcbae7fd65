"""Serializers turn message objects into text and back; the registry picks one per type.

Same names, ids and manifests as melange, so a message written by one is read by the other.
The pickle serializer differs on purpose: it only loads classes the registry has bound to it.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import sys
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from melange_lab.errors import (
    DeserializationFailed,
    MelangeLabError,
    SerializationFailed,
    SerializerNotFound,
    UnsafePickle,
)


class Serializer:
    """Turns one family of objects into text (``serialize``) and back (``deserialize``)."""

    name: ClassVar[str] = "serializer"

    @staticmethod
    def identifier() -> int:
        """A number unique per serializer, sent as the ``serializer_id`` message attribute."""
        raise NotImplementedError

    def manifest(self, data: Any) -> str | None:
        """A name for the kind of ``data``, sent as the ``manifest`` attribute (filters use it)."""
        return None

    def serialize(self, data: Any) -> str:
        raise NotImplementedError

    def deserialize(self, data: str, manifest: str | None = None) -> Any:
        raise NotImplementedError

    def bind(self, data_type: type) -> None:
        """Told by the registry that ``data_type`` is bound to this serializer."""


class JsonSerializer(Serializer):
    """JSON for dicts and other plain JSON values; manifest ``json``."""

    name = "json"

    @staticmethod
    def identifier() -> int:
        return 1

    def manifest(self, data: Any) -> str | None:
        return "json"

    def serialize(self, data: Any) -> str:
        try:
            return json.dumps(data)
        except (TypeError, ValueError) as error:
            raise SerializationFailed(data, "json", str(error)) from None

    def deserialize(self, data: str, manifest: str | None = None) -> Any:
        try:
            return json.loads(data)
        except json.JSONDecodeError as error:
            raise DeserializationFailed(None, f"not valid JSON ({error})") from None


# Globals that pickles of ordinary data need and that cannot run code when loaded.
_SAFE_GLOBALS = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "complex"),
        ("builtins", "range"),
        ("builtins", "slice"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("uuid", "UUID"),
        ("collections", "OrderedDict"),
        ("collections", "deque"),
    }
)


class _AllowListUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, allowed: tuple[type, ...], message_id: str | None) -> None:
        super().__init__(io.BytesIO(data))
        self._allowed = allowed
        self._message_id = message_id

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        found = _lookup_loaded(module, name)
        if isinstance(found, type) and issubclass(found, self._allowed):
            return found
        raise UnsafePickle(self._message_id, f"{module}.{name}")


def _lookup_loaded(module: str, qualname: str) -> object:
    """Finds ``module.qualname`` among modules already imported; never imports anything."""
    found: object = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


class PickleSerializer(Serializer):
    """Pickle (base64 text) for any class bound to it; manifest is the class's qualified name.

    Unlike melange's, it refuses to load any class that is not bound in the registry or
    listed in ``allowed``: a crafted pickle can otherwise run arbitrary code.
    """

    name = "pickle"

    def __init__(self, allowed: Iterable[type] = ()) -> None:
        self._allowed: list[type] = list(allowed)

    @staticmethod
    def identifier() -> int:
        return 2

    def manifest(self, data: Any) -> str | None:
        return str(type(data).__qualname__)

    def bind(self, data_type: type) -> None:
        if data_type not in self._allowed:
            self._allowed.append(data_type)

    def serialize(self, data: Any) -> str:
        try:
            pickled = pickle.dumps(data)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise SerializationFailed(data, "pickle", str(error)) from None
        return base64.b64encode(pickled).decode("ascii")

    def deserialize(
        self, data: str, manifest: str | None = None, message_id: str | None = None
    ) -> Any:
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise DeserializationFailed(message_id, "the content is not base64 text") from None
        try:
            return _AllowListUnpickler(raw, tuple(self._allowed), message_id).load()
        except MelangeLabError:
            raise
        except Exception as error:  # a corrupt pickle can raise almost anything
            raise DeserializationFailed(message_id, f"not a valid pickle ({error})") from None


SerializerSpec = type[Serializer] | Serializer


class SerializerRegistry:
    """Knows the serializers by name and id, and which one each message type uses.

    ``config`` is melange's: ``{"serializers": {name: class}, "serializer_bindings":
    {type: name}, "default": name}`` (``default`` optional).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        serializers: Mapping[str, SerializerSpec] = config.get("serializers", {})
        self._by_name: dict[str, Serializer] = {
            name: spec() if isinstance(spec, type) else spec for name, spec in serializers.items()
        }
        self._by_id: dict[int, Serializer] = {s.identifier(): s for s in self._by_name.values()}
        self._bindings: dict[type, str] = dict(config.get("serializer_bindings", {}))
        for data_type, name in self._bindings.items():
            self.get_serializer_by_name(name).bind(data_type)
        self._default: str | None = config.get("default")
        if self._default is not None:
            self.get_serializer_by_name(self._default)

    @property
    def bindings(self) -> dict[type, str]:
        return dict(self._bindings)

    def serializer_for(self, data_type: type) -> Serializer:
        """The exact binding, else the most specific bound superclass, else the default."""
        for klass in data_type.__mro__:
            if klass in self._bindings:
                return self.get_serializer_by_name(self._bindings[klass])
        if self._default is not None:
            return self.get_serializer_by_name(self._default)
        raise SerializerNotFound(data_type, self._bindings, has_default=False)

    def find_serializer_for(self, obj: Any) -> Serializer:
        return self.serializer_for(type(obj))

    def serialize(self, obj: Any) -> str:
        return self.find_serializer_for(obj).serialize(obj)

    def get_serializer_by_name(self, name: str) -> Serializer:
        try:
            return self._by_name[name]
        except KeyError:
            raise MelangeLabError(
                f"No serializer named '{name}' (known: {sorted(self._by_name)}). Add it under "
                f"\"serializers\" in the registry settings, e.g. {{'{name}': ...}}."
            ) from None

    def get_serializer_by_id(self, serializer_id: int) -> Serializer:
        try:
            return self._by_id[serializer_id]
        except KeyError:
            raise DeserializationFailed(
                None,
                f"no serializer with id {serializer_id} in the registry "
                f"(known ids: {sorted(self._by_id)})",
            ) from None

    def default_serializer(self) -> Serializer | None:
        return None if self._default is None else self._by_name[self._default]

    def deserialize_with_serializerid(
        self, text: str, serializer_id: int, manifest: str | None = None
    ) -> Any:
        return self.get_serializer_by_id(serializer_id).deserialize(text, manifest)
