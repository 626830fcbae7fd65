"""X-Ray trace headers carried as SQS and SNS carry them (AWS's recordings in LocalStack's
``test_sqs``/``test_sns`` snapshots).

SQS keeps the ``X-Amzn-Trace-Id`` HTTP header of a SendMessage as the message's
``AWSTraceHeader`` system attribute (unless the request gives one), and SendMessage answers
``MD5OfMessageSystemAttributes`` when the request gives system attributes; SNS hands the header of a
Publish on to the copies it delivers to SQS queues. moto does none of this. The lab traces
nothing itself (X-Ray is another service): it only carries the header. A delivery the broker
holds back (``delivery_latency``) is sent later, outside the Publish, and carries none.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from moto.core.responses import ActionResult
from moto.sns.responses import SNSResponse
from moto.sqs.models import Message, SQSBackend
from moto.sqs.responses import SQSResponse

from melange_lab.moto_internals.patching import _Layer, _set_feature

HEADER = "X-Amzn-Trace-Id"
_SYSTEM_ATTRIBUTES = 6  # system_attributes is send_message's sixth argument after queue_name
_publishing_trace: ContextVar[str | None] = ContextVar("publishing_trace", default=None)


def system_attributes_md5(attributes: dict[str, Any]) -> str:
    """The MD5 SQS answers for message system attributes: the message attributes' digest."""
    probe = Message("md5", "")  # moto's digest lives on Message
    probe.message_attributes = attributes
    return str(probe.attribute_md5)


def _trace_attribute(header: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": header}


def _sqs_keeps_the_header(stock: Callable[..., ActionResult]) -> Callable[..., ActionResult]:
    def send_message(self: SQSResponse) -> ActionResult:
        given = dict(self._get_param("MessageSystemAttributes") or {})
        header = self.headers.get(HEADER)
        if header and "AWSTraceHeader" not in given:
            self.params["MessageSystemAttributes"] = {
                **given,
                "AWSTraceHeader": _trace_attribute(header),
            }
        answer = stock(self)
        if given and isinstance(answer.result, dict):
            md5 = system_attributes_md5(given)
            return ActionResult({**answer.result, "MD5OfMessageSystemAttributes": md5})
        return answer

    return send_message


def _sns_passes_the_header_on(stock: Callable[..., Any]) -> Callable[..., Any]:
    def publish(self: SNSResponse) -> Any:
        token = _publishing_trace.set(self.headers.get(HEADER) or None)
        try:
            return stock(self)
        finally:
            _publishing_trace.reset(token)

    return publish


def _delivered_with_the_header(stock: Callable[..., Message]) -> Callable[..., Message]:
    def send_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Message:
        header = _publishing_trace.get()
        if header and len(args) < _SYSTEM_ATTRIBUTES:
            system = dict(kwargs.get("system_attributes") or {})
            system.setdefault("AWSTraceHeader", _trace_attribute(header))
            kwargs["system_attributes"] = system
        return stock(self, queue_name, *args, **kwargs)

    return send_message


_TRACE_HEADERS: list[_Layer] = [
    (SQSResponse, "send_message", _sqs_keeps_the_header),
    (SNSResponse, "publish", _sns_passes_the_header_on),
    (SQSBackend, "send_message", _delivered_with_the_header),
]


def install_trace_headers() -> None:
    """SQS keeps, and SNS passes on to SQS, an X-Ray trace header, as AWS does."""
    _set_feature("trace_headers", _TRACE_HEADERS)


def uninstall_trace_headers() -> None:
    _set_feature("trace_headers", None)
