"""An endpoint that accepts connections and never answers: every call ends, naming it.

The server here is a loopback socket that accepts and then says nothing, the way a stuck
LocalStack or a firewall that drops packets behaves.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from melange_lab import RemoteBroker, models
from melange_lab.backends import AWSBackend, LocalSQSBackend
from melange_lab.backends.endpoints import CONNECT_TIMEOUT, MAX_ATTEMPTS, READ_TIMEOUT
from melange_lab.errors import BrokerRequestFailed

QUICK = {"connect_timeout": 0.3, "read_timeout": 0.3}


class SilentServer:
    """Accepts every connection on 127.0.0.1 and never sends a byte; counts the connections."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server")
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self.accepted:
            connection.close()
        self._listener.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


def _handle(name: str, url: str) -> Any:
    """A queue handle made without asking the endpoint (it would not answer)."""
    sqs_queue = getattr(models, "SQSQueue", None)  # melange's wrapper shape, where it exists
    return (
        models.QueueWrapper(sqs_queue(name, url)) if sqs_queue else models.QueueWrapper(name, url)
    )  # type: ignore[call-arg]


def _calls(backend: LocalSQSBackend) -> dict[str, Callable[[], Any]]:
    queue = _handle("jobs", f"{backend.endpoint_url}/123456789012/jobs")
    return {
        "ListQueues": backend.queue_names,
        "GetQueueUrl": lambda: backend.get_queue("jobs"),
        "CreateTopic": lambda: backend.declare_topic("news"),
        "ReceiveMessage": lambda: backend.retrieve_messages(queue, wait_time_seconds=1),
        "RemoteBroker.queues": lambda: RemoteBroker(backend).queues(),
    }


@pytest.mark.parametrize("call", list(_calls(LocalSQSBackend("http://127.0.0.1", 1))))
def test_a_silent_endpoint_ends_each_call_in_a_named_error(silent: SilentServer, call: str) -> None:
    backend = LocalSQSBackend("http://127.0.0.1", silent.port, max_attempts=2, **QUICK)
    with pytest.raises(BrokerRequestFailed) as raised:
        _calls(backend)[call]()
    assert f"http://127.0.0.1:{silent.port}" in str(raised.value)
    assert str(raised.value.endpoint).startswith(f"http://127.0.0.1:{silent.port}")
    assert "read_timeout" in str(raised.value)  # the fix is named
    assert len(silent.accepted) == 2  # tried twice, then gave up


def test_endpoint_backends_have_timeouts_of_a_few_seconds_by_default() -> None:
    local = LocalSQSBackend("http://127.0.0.1", 4566)
    aws = AWSBackend(
        extra_settings={"region_name": "eu-west-1"}, sns_settings={"region_name": "eu-west-1"}
    )
    for backend in (local, aws):
        for client in (backend._sqs, backend._sns):
            config = client.meta.config
            assert (config.connect_timeout, config.read_timeout) == (
                CONNECT_TIMEOUT,
                READ_TIMEOUT,
            )
            assert config.retries["total_max_attempts"] == MAX_ATTEMPTS
    assert CONNECT_TIMEOUT + READ_TIMEOUT <= 10


def test_a_long_poll_gets_its_wait_added_to_the_read_timeout() -> None:
    backend = LocalSQSBackend("http://127.0.0.1", 4566, read_timeout=2)
    assert backend._receive_client(0).meta.config.read_timeout == 2
    assert backend._receive_client(20).meta.config.read_timeout == 22
    assert backend._receive_client(20) is backend._receive_client(20)  # made once


def test_a_users_own_botocore_config_wins_over_the_defaults() -> None:
    from botocore.config import Config

    backend = LocalSQSBackend(
        "http://127.0.0.1", 4566, extra_settings={"config": Config(read_timeout=9)}
    )
    assert backend._sqs.meta.config.read_timeout == 9
    assert backend._sqs.meta.config.connect_timeout == CONNECT_TIMEOUT
