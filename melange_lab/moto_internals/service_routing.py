"""Which of SNS and SQS a request to ``broker.serve()`` is for, when its signature does not say.

moto's server tells services apart by the ``Authorization`` header's credential scope
(``.../us-east-1/sqs/aws4_request``). A request signed in its query string instead
(SigV4 query auth: a presigned URL, a ``GET`` on a queue URL) or not signed at all carries
no such header, and moto sends it to S3. SNS and SQS share one endpoint here, so the request
itself decides: the credential scope in the query string, SQS's JSON target header, the
``Action`` (SQS's and SNS's operation names differ but for AddPermission and
RemovePermission), and for those two, or for no action at all, the path or a parameter
naming a queue (a queue URL's path ``/<account>/<queue>``, ``QueueUrl``) or a topic
(``TopicArn``, ``TargetArn``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal
from urllib.parse import parse_qsl

Service = Literal["sns", "sqs"]
_QUEUE_PATH = re.compile(r"/\d{12}/[^/]+/?")
_SCOPE = re.compile(r"^[^/]*/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request$")


@cache
def _operations(service: Service) -> frozenset[str]:
    import botocore.session  # loaded on the first unsigned request only

    model = botocore.session.get_session().get_service_model(service)
    return frozenset(model.operation_names)


def parameters(query_string: str, form_body: str | None) -> dict[str, str]:
    """A query API request's parameters: its query string, then its form body."""
    found = dict(parse_qsl(query_string, keep_blank_values=True))
    if form_body:
        found.update(parse_qsl(form_body, keep_blank_values=True))
    return found


def credential_scope(params: Mapping[str, str]) -> tuple[str, str] | None:
    """(service, region) named by a query-string signature's ``X-Amz-Credential``, or None."""
    matched = _SCOPE.match(params.get("X-Amz-Credential", ""))
    return (matched["service"].lower(), matched["region"]) if matched else None


def service_of(path: str, params: Mapping[str, str], target: str | None = None) -> Service | None:
    """SNS or SQS, for a request whose ``Authorization`` header names no service; None if
    nothing in it says (moto's own rules then apply)."""
    scope = credential_scope(params)
    if scope is not None:
        return scope[0] if scope[0] in ("sns", "sqs") else None  # type: ignore[return-value]
    if target is not None:
        return "sqs" if target.startswith("AmazonSQS.") else None
    names_queue = bool(_QUEUE_PATH.fullmatch(path)) or "QueueUrl" in params
    names_topic = "TopicArn" in params or "TargetArn" in params
    action = params.get("Action")
    if action is not None:
        in_sqs, in_sns = action in _operations("sqs"), action in _operations("sns")
        if in_sqs != in_sns:
            return "sqs" if in_sqs else "sns"
    if names_queue and not names_topic:
        return "sqs"
    if names_topic and not names_queue:
        return "sns"
    return None


_NOT_ON_A_QUEUE = ("CreateQueue", "ListQueues")


@dataclass(frozen=True)
class Refusal:
    """SQS's answer to a query API request a queue URL does not take."""

    status: str
    code: str
    message: str


def queue_url_refusal(path: str, params: Mapping[str, str]) -> Refusal | None:
    """What SQS answers a query API request sent to a queue URL without an operation it takes
    there (recorded in LocalStack's TestSqsQueryApi): no Action is an unknown operation (404);
    an Action SQS does not have, or CreateQueue and ListQueues (which name no queue), are
    InvalidAction. None for any other request."""
    if not _QUEUE_PATH.fullmatch(path):
        return None
    action = params.get("Action")
    if not action:
        return Refusal("404 Not Found", "UnknownOperationException", "")
    if action not in _operations("sqs") or action in _NOT_ON_A_QUEUE:
        reason = f"The action {action} is not valid for this endpoint."
        return Refusal("400 Bad Request", "InvalidAction", reason)
    return None
