"""Shared fixtures. Each fixture cleans up after itself (yield fixtures)."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from melange_lab import SimulatedBroker
from melange_lab.backends import BackendManager, LocalSQSBackend
from melange_lab.serializers import JsonSerializer, PickleSerializer, SerializerRegistry
from tests import fidelity
from tests.fidelity import pytest_addoption, pytest_collection_modifyitems
from tests.localstack import LocalStack, running_localstack
from tests.messages import OrderCreated
from tests.moto_server import MotoServer, loopback_only, running_moto_server


@pytest.fixture
def broker() -> Iterator[SimulatedBroker]:
    """A running simulated broker on a manual clock, stopped afterwards."""
    simulated = SimulatedBroker(clock="manual")
    try:
        yield simulated
    finally:
        simulated.stop()
        BackendManager().reset()


@pytest.fixture
def registry() -> SerializerRegistry:
    return SerializerRegistry(
        {
            "serializers": {"json": JsonSerializer, "pickle": PickleSerializer},
            "serializer_bindings": {dict: "json", OrderCreated: "pickle"},
        }
    )


# -- a real SNS/SQS endpoint: moto's server mode in a child process (issue 8) -------------------


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's HTTP server on 127.0.0.1 and a free port, for the whole run; always stopped."""
    with running_moto_server() as server:
        yield server


@pytest.fixture
def http_backend(moto_server: MotoServer) -> Iterator[LocalSQSBackend]:
    """``LocalSQSBackend`` on an emptied moto server; connecting beyond 127.0.0.1 fails the test."""
    moto_server.reset()
    with loopback_only():
        yield moto_server.backend()
    BackendManager().reset()


# -- a second, independent endpoint: LocalStack in host mode (issue 12) -------------------------


@pytest.fixture(scope="session")
def localstack() -> Iterator[LocalStack]:
    """LocalStack on 127.0.0.1 and a free port for the whole run (installed once, cached)."""
    with running_localstack() as running:
        yield running


@pytest.fixture
def localstack_backend(localstack: LocalStack) -> Iterator[LocalSQSBackend]:
    """``LocalSQSBackend`` on an emptied LocalStack; connecting beyond 127.0.0.1 fails the test."""
    localstack.reset()
    with loopback_only():
        yield localstack.backend()
    BackendManager().reset()


# -- the fidelity table (tests/fidelity.py) ------------------------------------------------------

__all__ = ["pytest_addoption", "pytest_collection_modifyitems"]  # hooks, imported to register


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    outcome = yield
    fidelity.record(item, outcome.get_result())  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    fidelity.write_table(session.config)
