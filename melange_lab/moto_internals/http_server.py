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
    """moto's dispatcher, refusing every service but SNS and SQS, and moto's own API."""

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
        app = self.get_application(environ)
        service = next((name for name, known in self.app_instances.items() if known is app), "")
        if service not in SERVED:
            return _refuse(
                start_response,
                "400 Bad Request",
                "UnsupportedOperation",
                f"This simulated broker answers SNS and SQS only, not {service or 'this request'}.",
            )
        try:
            result: Iterable[bytes] = app(environ, start_response)
        except _UNREADABLE as error:  # moto read a parameter it could not convert
            logger.debug("an unreadable %s request", service, exc_info=True)
            return _unreadable(environ, start_response, service, error)
        return result


# What moto raises while it converts a request's parameters (int("nan"), a 5,000-digit
# number, a JSON list where an object goes, JSON nested too deeply): the sender's mistake,
# answered as SNS and SQS answer one, not as a 500 page with moto's traceback in the log.
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, OverflowError, RecursionError)


def _unreadable(
    environ: dict[str, Any], start_response: _Respond, service: str, error: Exception
) -> list[bytes]:
    message = (
        f"The request could not be read ({type(error).__name__}: {shortened(str(error))}). "
        "Check each parameter's type and range: e.g. DelaySeconds, MaxNumberOfMessages and "
        "VisibilityTimeout are whole numbers, MessageBody is text."
    )
    code = "InvalidParameterValue" if service == "sqs" else "InvalidParameter"
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-amz-json"):
        body = json.dumps(
            {"__type": f"com.amazonaws.{service}#{code}Exception", "message": message}
        ).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-query-error", f"{code};Sender"),
            ("Content-Length", str(len(body))),
        ]
        start_response("400 Bad Request", headers)
        return [body]
    return _refuse(start_response, "400 Bad Request", code, message)


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

    def __init__(self, host: str, port: int) -> None:
        _check_supported()
        app = _SnsAndSqsOnly(create_backend_app)
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
