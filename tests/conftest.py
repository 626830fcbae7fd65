"""Shared fixtures. Each fixture cleans up after itself (yield fixtures)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from melange_lab import SimulatedBroker
from melange_lab.backends import BackendManager
from melange_lab.serializers import JsonSerializer, PickleSerializer, SerializerRegistry
from tests.messages import OrderCreated


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
