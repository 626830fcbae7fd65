"""moto's HTTP server mode in a child process, for tests against a real SNS/SQS endpoint.

A child process, not ``ThreadedMotoServer``: moto's state is process-wide, and the simulated
broker's ``mock_aws`` resets all of it when it starts, so an in-process server would lose its
queues whenever a simulated test runs. Everything binds to and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import boto3

from melange_lab.backends import LocalSQSBackend

HOST = "127.0.0.1"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: where it is, how to reset it, and clients pointed at it."""

    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def reset(self) -> None:
        """Deletes every topic, queue and message on the server (moto's reset endpoint)."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request("POST", "/moto-api/reset")
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"moto server reset failed with HTTP {response.status}")

    def backend(self, **options: Any) -> LocalSQSBackend:
        """The lab's backend on this server, as a learner would write it."""
        return LocalSQSBackend(host=f"http://{HOST}", port=self.port, **options)

    def client(self, service: Literal["sqs", "sns"]) -> Any:
        """A plain boto3 client on this server: what a melange program (or any tool) uses."""
        return boto3.session.Session().client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
        connection.request("GET", "/moto-api/")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def moto_server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]


@contextmanager
def running_moto_server(
    start_timeout: float = 30.0,
    command: Callable[[int], list[str]] = moto_server_command,
    environment: dict[str, str] | None = None,
) -> Iterator[MotoServer]:
    """Starts ``python -m moto.server`` (or ``command(port)``, another server speaking SNS and
    SQS) on 127.0.0.1 and a free port, with ``environment`` added; always stops it."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command(port),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(environment or {})},
        )
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(
                        f"moto server on port {port} did not come up within {start_timeout}s "
                        f"(exit code {process.poll()}); its output:\n{output}"
                    )
                time.sleep(0.1)
            yield MotoServer(port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


class NonLoopbackConnection(AssertionError):
    """A test tried to reach beyond 127.0.0.1."""


@contextmanager
def loopback_only() -> Iterator[None]:
    """Makes any socket connection to an address other than loopback fail the test."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def check(address: Any) -> None:
        if isinstance(address, tuple) and str(address[0]) not in LOOPBACK:
            raise NonLoopbackConnection(f"a test tried to connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign, assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
