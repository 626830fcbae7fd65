"""The simulated broker answering SNS and SQS over HTTP, for programs outside the kernel.

``broker.serve()`` starts moto's server inside this process, on the broker's own state and
through the lab's layers: a second notebook, a terminal's AWS CLI, a service written in another
language or LocalStack's test suite reach the same topics and queues as the notebook, and what
they do is reported on ``broker.events`` (the view shows it) like anything done in the kernel.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from melange_lab import runtime
from melange_lab.arguments import from_text, host, ranged, whole_number
from melange_lab.errors import (
    InvalidParameter,
    MelangeLabError,
    PortInUse,
    ServeNotAvailable,
    quoted,
)
from melange_lab.simulated_environment import FAKE_KEY

if TYPE_CHECKING:
    from melange_lab.broker import SimulatedBroker
    from melange_lab.moto_internals.http_server import ServingThread

LOOPBACK = "127.0.0.1"
_WILDCARDS = ("0.0.0.0", "::", "")


class BrokerReachableWarning(UserWarning):
    """The broker listens on an address other machines can reach."""


def check_port(parameter: str, value: object) -> int:
    return whole_number(
        parameter, value, 0, 65_535, fix="e.g. serve(port=0) for a free port, or serve(port=9324)."
    )


def check_host(parameter: str, value: object) -> str:
    return host(
        parameter, value, fix="e.g. serve(host='127.0.0.1'), the default: only this machine."
    )


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BrokerServer:
    """A running ``broker.serve()``: its ``url``, ``stop()``, and ``with`` use.

    It stops with its broker. ``environment()`` gives the settings another program needs
    (endpoint, region, credentials moto accepts).
    """

    def __init__(self, broker: SimulatedBroker, host: str, port: int) -> None:
        if runtime.in_pyodide():
            raise ServeNotAvailable()
        self.broker = broker
        self.host = host
        self.region = broker.region
        self._serving = _bind(host, port, broker.region)
        self.port = self._serving.port
        if not is_loopback(host):
            warnings.warn(
                f"broker.serve(host={quoted(host)}): anyone who can reach this machine on that "
                "network can read, send and delete the broker's messages; there is no "
                "password. Leave host out (127.0.0.1) to serve this machine only.",
                BrokerReachableWarning,
                stacklevel=4,  # the learner's serve() call, past the option checks
            )

    @property
    def url(self) -> str:
        """The endpoint to give clients, e.g. ``http://127.0.0.1:50123``."""
        host = LOOPBACK if self.host in _WILDCARDS else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._serving.alive

    def environment(self) -> dict[str, str]:
        """Environment variables that point boto3 or the AWS CLI (in another process) here."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": FAKE_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_KEY,
        }

    def stop(self) -> None:
        """Stops answering and frees the port; the broker itself keeps running."""
        self._serving.stop()
        self.broker._server_stopped(self)

    def __enter__(self) -> BrokerServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "serving" if self.running else "stopped"
        return f"<BrokerServer {state} {self.url} region={self.region}>"


def _bind(host: str, port: int, region: str) -> ServingThread:
    try:  # Flask, on first use only: importing it costs a notebook's start a third of a second
        from melange_lab.moto_internals.http_server import ServingThread
    except ImportError as missing:
        raise ServeNotAvailable(
            f"moto's server application needs {missing.name or 'Flask'}, which is not "
            "installed: pip install 'melange-lab[lab]' (or flask and flask-cors)"
        ) from None
    try:
        return ServingThread(host, port, region)
    except socket.gaierror:
        raise InvalidParameter(
            "host", host, "an address or name of this machine", "e.g. host='127.0.0.1'."
        ) from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        if error.errno == errno.EACCES:
            raise InvalidParameter(
                "port",
                port,
                "a port this user may listen on (below 1024 needs administrator rights)",
                "e.g. serve(port=0) for a free one.",
            ) from None
        if error.errno == errno.EADDRNOTAVAIL:
            raise InvalidParameter(
                "host", host, "an address of this machine", "e.g. host='127.0.0.1'."
            ) from None
        raise


_CLI_PORT = ranged(0, 65_535, whole=True, fix="e.g. --port 0 for a free port, or --port 9324.")


def _cli_host(parameter: str, value: object) -> str:
    return host(parameter, value, fix="e.g. --host 127.0.0.1, the default: only this machine.")


def _cli_region(parameter: str, value: object) -> str:
    from melange_lab.broker import check_region  # the broker imports this module

    return check_region(parameter, value)


def serve_main(argv: Sequence[str]) -> int:
    """``melange-lab serve``: a simulated broker answering SNS and SQS until Ctrl+C, printing
    what happens on it, one event per line."""
    parser = argparse.ArgumentParser(
        prog="melange-lab serve",
        description=(
            "Run a simulated SNS/SQS broker that other programs (the AWS CLI, boto3, LocalStack's "
            "tests, a service in any language) reach over HTTP. Prints its address and every "
            "event on it; stops on Ctrl+C."
        ),
    )
    parser.add_argument(
        "--port",
        type=lambda text: int(from_text(text, _CLI_PORT, int)),
        default=0,
        help="port to listen on, 0 to 65535 (default 0: a free one)",
    )
    parser.add_argument(
        "--host",
        type=lambda text: str(from_text(text, _cli_host, str)),
        default=LOOPBACK,
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument(
        "--region",
        type=lambda text: str(from_text(text, _cli_region, str)),
        default=None,
        help="the broker's region (default us-east-1)",
    )
    options = parser.parse_args(argv)
    from melange_lab.broker import SimulatedBroker  # the broker imports this module

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        broker = SimulatedBroker(**({"region": options.region} if options.region else {}))
        with warnings.catch_warnings():  # said below in the command line's words
            warnings.simplefilter("ignore", BrokerReachableWarning)
            server = broker.serve(port=options.port, host=options.host)
    except MelangeLabError as error:
        print(f"melange-lab serve: {error}", file=sys.stderr)
        return 2
    if not is_loopback(options.host):
        print(
            f"melange-lab serve: warning: --host {options.host}: anyone who can reach this "
            "machine on that network can read, send and delete the broker's messages; there "
            "is no password. Leave --host out to serve this machine only.",
            file=sys.stderr,
            flush=True,
        )
    with broker:
        broker.subscribe(lambda event: print(event.describe(), flush=True))
        print(f"Serving SNS and SQS at {server.url} (region {server.region}).", flush=True)
        print("In another terminal:", flush=True)
        settings = " ".join(f"{name}={value}" for name, value in server.environment().items())
        print(f"  export {settings}", flush=True)
        print(f"  aws --endpoint-url {server.url} sqs list-queues", flush=True)
        print("Ctrl+C stops the broker (its topics and queues are gone then).", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0
