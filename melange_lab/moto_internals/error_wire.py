"""Query-protocol errors as SNS and SQS send them.

moto 5.2 serializes an error's modelled ``message`` member next to ``Message``, so every SNS
and SQS (query protocol) error carries both ``<Message>`` and a lowercase ``<message>``, and
boto3 shows both (``error.response["Error"]["message"]``). AWS sends ``Message`` only (every
error recorded in LocalStack's snapshots). This layer drops the duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from moto.core.serialize import QuerySerializer

from melange_lab.moto_internals.patching import _set_feature


def _message_once(stock: Callable[..., Any]) -> Callable[..., Any]:
    def _serialized_error_to_response(
        self: QuerySerializer,
        resp: Any,
        error: Exception,
        shape: Any,
        serialized_error: MutableMapping[str, Any],
    ) -> Any:
        if "Message" in serialized_error:
            serialized_error.pop("message", None)
        return stock(self, resp, error, shape, serialized_error)

    return _serialized_error_to_response


def install_error_wire() -> None:
    """Query-protocol errors carry Message once, as AWS sends them."""
    _set_feature(
        "error_wire", [(QuerySerializer, "_serialized_error_to_response", _message_once)]
    )


def uninstall_error_wire() -> None:
    _set_feature("error_wire", None)
