"""Text botocore cannot encode, answered as the service's own error while a broker runs.

SNS speaks AWS's query protocol: botocore encodes each parameter as UTF-8 before the request
leaves the process, so a lone surrogate half (``"\\ud800"``, which no UTF-8 text can hold) in
a message, subject or attribute ends as a ``UnicodeEncodeError`` inside botocore's signer, not
as an answer from the broker. While a simulated broker runs, plain boto3 clients made in this
process get a handler that finds such text first and answers with SNS's ``InvalidParameter``
(a ``ClientError`` like any other refusal), naming the parameter. SQS speaks JSON, whose
encoder escapes the character, so the broker itself refuses it (``moto_internals.sqs_checks``).
"""

from __future__ import annotations

import threading
from typing import Any

from botocore import handlers
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from melange_lab import limits

EVENT = "before-call.sns"


class _Switch:
    """Whether a simulated broker runs (the handler, once installed, stays in botocore)."""

    def __init__(self) -> None:
        self.on = False
        self.installed = False
        self.lock = threading.Lock()


_switch = _Switch()


def unencodable(params: dict[str, Any]) -> tuple[str, str, int] | None:
    """(parameter, text, position) of the first request parameter UTF-8 cannot encode."""
    body = params.get("body")
    if not isinstance(body, dict):
        return None
    for name, value in body.items():
        if isinstance(value, str):
            found = limits.NOT_UTF8.search(value)
            if found is not None:
                return str(name), value, found.start()
    return None


def refuse_unencodable(
    params: dict[str, Any], **_: Any
) -> tuple[AWSResponse, dict[str, Any]] | None:
    """botocore's before-call handler: SNS's answer to text it could never receive, or None."""
    if not _switch.on:
        return None
    problem = unencodable(params)
    if problem is None:
        return None
    name, text, position = problem
    message = (
        f"Invalid parameter: {name} holds U+{ord(text[position]):04X} at position {position:,}, "
        f"half of a surrogate pair, alone: {limits.SNS_CHARACTERS}."
    )
    parsed = {
        "Error": {"Code": "InvalidParameter", "Message": message, "Type": "Sender"},
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
    }
    return AWSResponse(str(params.get("url", "")), 400, HTTPHeaders(), None), parsed


def turn_on() -> None:
    """From now on, clients made in this process refuse unencodable SNS text as SNS would."""
    with _switch.lock:
        if not _switch.installed:
            handlers.BUILTIN_HANDLERS.append((EVENT, refuse_unencodable))
            _switch.installed = True
        _switch.on = True


def turn_off() -> None:
    """Back to botocore's own behaviour (the broker stopped)."""
    _switch.on = False
