"""Fixtures for melange's ported suite (lab code, not melange's).

melange's tests expect an ElasticMQ that outlives them; here every test gets a fresh simulated
broker, started by the ported backend line (``SimulatedBroker.default().backend``) and shared
by every later such line, stopped afterwards, which also ends any ``consume_loop`` a test
left waiting in a thread.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from melange_lab import SimulatedBroker
from melange_lab.backends import BackendManager


@pytest.fixture(autouse=True)
def stop_the_shared_broker() -> Iterator[None]:
    earlier = SimulatedBroker.current()
    if earlier is not None:  # left live by a test outside this suite
        earlier.stop()
    try:
        yield
    finally:
        broker = SimulatedBroker.current()
        if broker is not None:
            broker.stop()
        BackendManager().reset()
