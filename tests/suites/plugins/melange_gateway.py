"""A pytest plugin for LocalStack's suite (``-p melange_gateway``): the gateway is the endpoint.

A few of LocalStack's tests address LocalStack's gateway (``config.internal_service_url()``,
``localhost:4566`` as LocalStack's own ``tests/aws/conftest.py`` sets it) instead of the
endpoint the run is given. Against another endpoint that gateway is the endpoint under test:
``MELANGE_GATEWAY`` (host:port; the tests call it ``localhost``) points it there. Runs in
LocalStack's interpreter.
"""

from __future__ import annotations

import os

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    address = os.environ.get("MELANGE_GATEWAY")
    if not address:
        return
    from localstack import config

    host, _, port = address.rpartition(":")
    gateway = config.HostAndPort(host=host, port=int(port))
    config.GATEWAY_LISTEN = config.UniqueHostAndPortList([gateway])
