"""Pickle serialization (melange's ``melange.serializers.pickle``): id 2, base64 text.

Unlike melange's, it does not unpickle anything it is handed: a crafted pickle can run any
code. It loads only what it trusts: the classes bound to it in the registry (and their
subclasses), the types it serialized itself, anything listed in ``allowed``, and a fixed set of
standard values that bound classes carry by value (containers, dates and time zones, decimals,
uuids), none of which can run code when loaded.
"""

from __future__ import annotations

import base64
import binascii
import io
import pickle
import sys
from collections.abc import Iterable
from typing import Any

from melange_lab.errors import (
    DeserializationFailed,
    MelangeLabError,
    SerializationFailed,
    UnsafePickle,
)
from melange_lab.serializers.interfaces import Serializer, nested_too_deeply

# Globals that pickles of ordinary data need and that cannot run code when loaded.
SAFE_GLOBALS = frozenset(
    {
        *(
            ("builtins", name)
            for name in (
                *("bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset", "int"),
                *("list", "object", "range", "set", "slice", "str", "tuple"),
            )
        ),
        ("copyreg", "_reconstructor"),  # protocol 0/1 objects; its arguments are checked too
        ("collections", "OrderedDict"),
        ("collections", "deque"),
        ("collections", "defaultdict"),
        ("collections", "Counter"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
        ("uuid", "UUID"),
        ("uuid", "SafeUUID"),
        ("zoneinfo", "ZoneInfo"),
        ("zoneinfo._zoneinfo", "ZoneInfo._unpickle"),
        ("zoneinfo", "ZoneInfo._unpickle"),
        ("pytz", "_UTC"),  # pytz.utc, as simple_cqrs DomainEvent timestamps carry it
        ("pytz", "_p"),  # any other pytz zone, rebuilt from its name
        ("pytz.tzinfo", "unpickler"),
        ("dateutil.tz.tz", "tzutc"),
        ("dateutil.tz.tz", "tzoffset"),
    }
)


class _TrustingUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, trust: _Trust, message_id: str | None) -> None:
        super().__init__(io.BytesIO(data))
        self._trust = trust
        self._message_id = message_id

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("builtins", "getattr"):
            return self._getattr  # how pickle reaches a classmethod, e.g. ZoneInfo._unpickle
        if (module, name) in SAFE_GLOBALS or f"{module}.{name}" in self._trust.names:
            return super().find_class(module, name)
        found = _lookup_loaded(module, name)
        if found is not None and self._trust.admits(found):
            return found
        raise UnsafePickle(self._message_id, f"{module}.{name}", isinstance(found, type))

    def _getattr(self, owner: object, attribute: str) -> Any:
        """``getattr`` restricted to attributes that are themselves trusted globals."""
        module = str(getattr(owner, "__module__", "?"))
        dotted = f"{getattr(owner, '__qualname__', '?')}.{attribute}"
        if (module, dotted) in SAFE_GLOBALS or f"{module}.{dotted}" in self._trust.names:
            return getattr(owner, attribute)
        raise UnsafePickle(self._message_id, f"{module}.{dotted}")


def _lookup_loaded(module: str, qualname: str) -> object:
    """Finds ``module.qualname`` among modules already imported; never imports anything."""
    found: object = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


class _Trust:
    """What one PickleSerializer may load: classes (with subclasses), objects, dotted names."""

    def __init__(self, allowed: Iterable[object]) -> None:
        self.classes: list[type] = []
        self.objects: list[object] = []
        self.names: set[str] = set()
        for item in allowed:
            self.add(item)

    def add(self, item: object) -> None:
        if isinstance(item, str):
            self.names.add(item)
        elif isinstance(item, type):
            if item not in self.classes:
                self.classes.append(item)
        elif not any(item is known for known in self.objects):
            self.objects.append(item)

    def admits(self, found: object) -> bool:
        if any(found is known for known in self.objects):
            return True
        return isinstance(found, type) and issubclass(found, tuple(self.classes))


class PickleSerializer(Serializer[Any]):
    """Pickle (base64 text) for any class bound to it; manifest is the class's qualified name.

    ``allowed`` lists more globals to trust: classes (their subclasses too), functions or other
    objects, or dotted names such as ``"pytz._p"``. To use it in a registry, give the instance:
    ``{"serializers": {"pickle": PickleSerializer(allowed=[...])}}``.
    """

    name = "pickle"

    def __init__(self, allowed: Iterable[object] = ()) -> None:
        self._trust = _Trust(allowed)

    @staticmethod
    def identifier() -> int:
        return 2

    def manifest(self, data: Any) -> str | None:
        return str(type(data).__qualname__)

    def bind(self, data_type: type) -> None:
        self._trust.add(data_type)

    @property
    def allowed(self) -> list[object]:
        """Everything this serializer trusts besides the standard safe values."""
        return [*self._trust.classes, *self._trust.objects, *sorted(self._trust.names)]

    def serialize(self, data: Any) -> str:
        try:
            pickled = pickle.dumps(data)
        except RecursionError:
            raise SerializationFailed(data, "pickle", nested_too_deeply()) from None
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise SerializationFailed(data, "pickle", str(error)) from None
        # A type this serializer wrote itself is trusted when it reads it back (as melange's
        # own test does with one instance); a consumer elsewhere still needs it bound.
        self._trust.add(type(data))
        return base64.b64encode(pickled).decode("ascii")

    def deserialize(
        self, data: str, manifest: str | None = None, message_id: str | None = None
    ) -> Any:
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise DeserializationFailed(message_id, "the content is not base64 text") from None
        try:
            return _TrustingUnpickler(raw, self._trust, message_id).load()
        except MelangeLabError:
            raise
        except RecursionError:
            raise DeserializationFailed(message_id, f"the pickle {nested_too_deeply()}") from None
        except Exception as error:  # a corrupt pickle can raise almost anything
            raise DeserializationFailed(message_id, f"not a valid pickle ({error})") from None
