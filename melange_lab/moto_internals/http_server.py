"""moto's server inside this process: SNS and SQS over HTTP, answered from the same moto state
(and through the same lab layers) as the in-process broker.

moto's ``ThreadedMotoServer`` binds its socket in its own thread and waits for it forever if
binding fails (a busy port would hang the caller; werkzeug even exits the process), and it
answers every AWS service plus the ``/moto-api`` reset. So the socket is bound here, in the
caller's thread (a bind error raises at once, as ``OSError``), werkzeug serves that socket, and
the application answers SNS and SQS only; requests are logged at debug level, not printed.
Checked against moto 5.2.1 to 5.2.6 (``moto.moto_server.werkzeug_app``) and werkzeug 3.1.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import logging
import socket
import textwrap
import threading
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from melange_lab.errors import UnsupportedMotoVersion, shortened
from melange_lab.moto_internals.service_routing import (
    Refusal,
    credential_scope,
    parameters,
    queue_url_refusal,
    service_of,
)
from melange_lab.moto_internals.versions import SUPPORTED_MOTO

logger = logging.getLogger(__name__)
SERVED = ("sns", "sqs")
_Respond = Any  # WSGI start_response


# sha256 (first 16 hex digits) of the moto code the server relies on (as in versions.py);
# checked when serving starts, so importing Flask stays off the broker's start.
_FINGERPRINTS: dict[Callable[..., Any], str] = {
    DomainDispatcherApplication.get_application: "5d1372e9a2e5f6d7",
    DomainDispatcherApplication.__call__: "36eb7f931a4a093d",
}


def _check_supported() -> None:
    for function, digest in _FINGERPRINTS.items():
        source = textwrap.dedent(inspect.getsource(function))
        if hashlib.sha256(source.encode()).hexdigest()[:16] != digest:
            raise UnsupportedMotoVersion(
                f"moto changed {function.__qualname__}, which broker.serve() relies on. "
                f"Fix: pip install 'moto[sns,sqs]{SUPPORTED_MOTO}', or re-check "
                "melange_lab/moto_internals/http_server.py against the new moto."
            )


class _SnsAndSqsOnly(DomainDispatcherApplication):
    """moto's dispatcher, refusing every service but SNS and SQS, and moto's own API; a request
    whose ``Authorization`` header names no service goes to SNS or SQS by what it asks
    (``service_routing``), not to moto's default, S3, and in the broker's region (moto reads a
    request's region from its Authorization header, else its user agent's ``region/...``, else
    takes us-east-1): the region of a query-string signature, else the broker's."""

    def __init__(self, create_app: Callable[..., Any], region: str) -> None:
        super().__init__(create_app)
        self.region = region

    def _name_the_region(self, environ: dict[str, Any]) -> None:
        agent = str(environ.get("HTTP_USER_AGENT", ""))
        if "region/" not in agent:
            scope = credential_scope(parameters(str(environ.get("QUERY_STRING", "")), None))
            region = scope[1] if scope is not None else self.region
            environ["HTTP_USER_AGENT"] = f"{agent} region/{region}".strip()

    def infer_service_region_host(self, environ: dict[str, Any], path: str) -> str | None:
        if not environ.get("HTTP_AUTHORIZATION"):
            params = parameters(str(environ.get("QUERY_STRING", "")), _form_body(environ))
            service = service_of(path, params, environ.get("HTTP_X_AMZ_TARGET"))
            if service is not None:  # the host only picks moto's app; its region is unused
                return f"{service}.us-east-1.amazonaws.com"
        host: str | None = super().infer_service_region_host(environ, path)
        return host

    def __call__(self, environ: dict[str, Any], start_response: _Respond) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/moto-api"):
            return _refuse(
                start_response,
                "403 Forbidden",
                "AccessDenied",
                "moto's own API is not served: reset the broker from its notebook "
                "(broker.reset()).",
            )
        if not environ.get("HTTP_AUTHORIZATION"):
            self._name_the_region(environ)
        app = self.get_application(environ)
        service = next((name for name, known in self.app_instances.items() if known is app), "")
        if service not in SERVED:
            return _refuse(
                start_response,
                "400 Bad Request",
                "UnsupportedOperation",
                f"This simulated broker answers SNS and SQS only, not {service or 'this request'}.",
            )
        if service == "sqs" and "HTTP_X_AMZ_TARGET" not in environ:
            refused = _sqs_query_api(environ, path)
            if refused is not None:
                return _answer(start_response, refused)
        if _json_protocol(environ) and not _json_object_body(environ):
            message = (
                "The request body is not a JSON object (cut short, malformed, or nested too "
                'deeply to read). Send one, e.g. {"QueueUrl": "...", "MessageBody": "..."}.'
            )
            return _sender_error(
                environ, start_response, service, "SerializationException", message
            )
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[[bytes], None]:
            answered.append((status, headers))
            return _no_write

        try:
            body = b"".join(app(environ, keep))
        except _UNREADABLE as error:  # moto read a parameter it could not convert
            logger.debug("an unreadable %s request", service, exc_info=True)
            code = "InvalidParameterValue" if service == "sqs" else "InvalidParameter"
            message = (
                f"The request could not be read ({type(error).__name__}: "
                f"{shortened(str(error))}). Check each parameter's type and range: e.g. "
                "DelaySeconds, MaxNumberOfMessages and VisibilityTimeout are whole numbers, "
                "MessageBody is text."
            )
            return _sender_error(environ, start_response, service, code, message)
        status, headers = answered[0]
        if status.startswith("404") and not body:  # moto knows no such action
            message = (
                f"The request names no {service.upper()} action this broker knows (Action=... "
                "on the query protocol, X-Amz-Target on JSON). Check its spelling, e.g. "
                "Action=SendMessage."
            )
            return _sender_error(environ, start_response, service, "InvalidAction", message)
        start_response(status, headers)
        return [body]


def _json_protocol(environ: dict[str, Any]) -> bool:
    return str(environ.get("CONTENT_TYPE", "")).startswith("application/x-amz-json")


def _json_object_body(environ: dict[str, Any]) -> bool:
    """Whether the body is a JSON object; it is read, then put back for moto to read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        return False
    if length < 0:  # chunked: moto reads it as it comes
        return True
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        return isinstance(json.loads(raw or b"{}"), dict)
    except (ValueError, RecursionError):
        return False


def _no_write(_: bytes) -> None:
    """moto returns its bodies; nothing writes through start_response's callable."""


def _sqs_query_api(environ: dict[str, Any], path: str) -> Refusal | None:
    """SQS's query API as AWS answers it: parameters in a GET's query string are a request
    (moto reads a request without a form body as SQS's JSON protocol, and finds no operation),
    answered in JSON if the GET accepts only that (moto's ``ContentType=JSON``), and a queue URL
    refuses what it does not take (``queue_url_refusal``)."""
    query = str(environ.get("QUERY_STRING", ""))
    params = parameters(query, _form_body(environ))
    refused = queue_url_refusal(path, params)
    if refused is not None:
        return refused
    if not environ.get("CONTENT_TYPE"):
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    wants_json = "application/json" in str(environ.get("HTTP_ACCEPT", ""))
    if environ.get("REQUEST_METHOD") == "GET" and wants_json and "ContentType" not in params:
        environ["QUERY_STRING"] = f"{query}&ContentType=JSON" if query else "ContentType=JSON"
    return None


def _answer(start_response: _Respond, refused: Refusal) -> list[bytes]:
    if not refused.message:
        body = f"<{refused.code}/>".encode()
        start_response(
            refused.status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
        )
        return [body]
    return _refuse(start_response, refused.status, refused.code, refused.message)


def _form_body(environ: dict[str, Any]) -> str | None:
    """A form-encoded request body (a query API request's parameters), left readable."""
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return None
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(size) if size > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body.decode("utf-8", errors="replace")


# What moto raises while it converts a request's parameters (int("nan"), a 5,000-digit
# number, a JSON list where an object goes, JSON nested too deeply): the sender's mistake,
# answered as SNS and SQS answer one, not as a 500 page with moto's traceback in the log.
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, OverflowError, RecursionError)


# the exception shapes SQS's JSON protocol names these errors by
_JSON_ERROR_SHAPES = {
    "InvalidAction": "UnknownOperationException",
    "SerializationException": "SerializationException",
}


def _sender_error(
    environ: dict[str, Any], start_response: _Respond, service: str, code: str, message: str
) -> list[bytes]:
    """A 400 answer in the request's protocol: JSON (SQS's JSON protocol) or XML."""
    if not _json_protocol(environ):
        return _refuse(start_response, "400 Bad Request", code, message)
    shape = _JSON_ERROR_SHAPES.get(code, f"{code}Exception")
    body = json.dumps({"__type": f"com.amazonaws.{service}#{shape}", "message": message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-query-error", f"{code};Sender"),
        ("Content-Length", str(len(body))),
    ]
    start_response("400 Bad Request", headers)
    return [body]


def _refuse(start_response: _Respond, status: str, code: str, message: str) -> list[bytes]:
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{escape(message)}</Message>"
        "</Error><RequestId>melange-lab</RequestId></ErrorResponse>"
    ).encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


class _QuietRequestHandler(MotoRequestHandler):
    """moto's handler, logging through ``logging`` (a notebook shows no line per request)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.WARNING if type == "error" else logging.DEBUG
        logger.log(level, "%s " + message, self.address_string(), *args)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``; raises OSError (or socket.gaierror) if it cannot."""
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listening = socket.socket(family, kind, protocol)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(128)
    except BaseException:
        listening.close()
        raise
    return listening


class ServingThread:
    """A bound server answering in a daemon thread until ``stop()``."""

    def __init__(self, host: str, port: int, region: str = "us-east-1") -> None:
        _check_supported()
        app = _SnsAndSqsOnly(create_backend_app, region)
        listening = _listening_socket(host, port)  # OSError here, in the caller's thread
        try:
            self._server: BaseWSGIServer = make_server(
                host,
                port,
                app,
                threaded=True,
                request_handler=_QuietRequestHandler,
                fd=listening.fileno(),
            )
        finally:
            listening.close()  # werkzeug serves its own duplicate of the socket
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="melange-lab-serve", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stops answering and frees the port (requests in progress finish first)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
