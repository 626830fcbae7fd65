"""JSON serialization (melange's ``melange.serializers.json``): id 1, manifest ``json``."""

from __future__ import annotations

import json
from typing import Any

from melange_lab.errors import DeserializationFailed, SerializationFailed
from melange_lab.serializers.interfaces import Serializer, nested_too_deeply


class JsonSerializer(Serializer[Any]):
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
        except RecursionError:
            raise SerializationFailed(data, "json", nested_too_deeply()) from None
        except (TypeError, ValueError) as error:
            raise SerializationFailed(data, "json", str(error)) from None

    def deserialize(self, data: str, manifest: str | None = None) -> Any:
        try:
            return json.loads(data)
        except RecursionError:
            raise DeserializationFailed(None, f"the JSON text {nested_too_deeply()}") from None
        except json.JSONDecodeError as error:
            raise DeserializationFailed(None, f"not valid JSON ({error})") from None
