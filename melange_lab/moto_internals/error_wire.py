"""Errors on the wire as SNS and SQS send them.

moto 5.2 serializes an error's modelled ``message`` member next to ``Message``, so every SNS
and SQS (query protocol) error carries both ``<Message>`` and a lowercase ``<message>``, and
boto3 shows both (``error.response["Error"]["message"]``). AWS sends ``Message`` only (every
error recorded in LocalStack's snapshots): the duplicate is dropped.

On SQS's JSON protocol the error's type names an exception shape, from which boto3 fills
``Error.QueryErrorCode``; for SQS's two common errors moto sends the code itself as the type,
where SQS sends ``InvalidParameterValueException`` and ``MissingRequiredParameterException``
(recorded), so code that reads QueryErrorCode sees what it sees on AWS.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from moto.core.serialize import BaseJSONSerializer, QuerySerializer

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


_SQS_JSON_TYPES = {
    "InvalidParameterValue": "InvalidParameterValueException",
    "MissingParameter": "MissingRequiredParameterException",
}


def _sqs_exception_types(stock: Callable[..., str]) -> Callable[..., str]:
    def _get_protocol_specific_error_code(self: BaseJSONSerializer, error: Any) -> str:
        code = stock(self, error)
        namespace, _, name = code.rpartition("#")
        if self.service_model.service_name == "sqs" and name in _SQS_JSON_TYPES:
            return f"{namespace}#{_SQS_JSON_TYPES[name]}" if namespace else _SQS_JSON_TYPES[name]
        return code

    return _get_protocol_specific_error_code


def install_error_wire() -> None:
    """Errors carry Message once and SQS's exception types, as AWS sends them."""
    _set_feature(
        "error_wire",
        [
            (QuerySerializer, "_serialized_error_to_response", _message_once),
            (BaseJSONSerializer, "_get_protocol_specific_error_code", _sqs_exception_types),
        ],
    )


def uninstall_error_wire() -> None:
    _set_feature("error_wire", None)
