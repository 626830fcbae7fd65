"""The three endpoints LocalStack's suite runs against: the lab over HTTP, stock moto's
server, and LocalStack, each started on 127.0.0.1 and a free port and always stopped.

All three answer for account 000000000000, LocalStack's default: moto's default,
123456789012, also appears as a literal inside some of LocalStack's test payloads, which
its snapshot transformers would then rewrite as if it were the account.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.localstack import ACCOUNT_ID, running_localstack
from tests.moto_server import running_moto_server
from tests.suites.localstack_suite import Target

ENDPOINTS = ("lab", "moto", "localstack")
TITLES = {"lab": "the lab", "moto": "stock moto's server", "localstack": "LocalStack"}
_SERVERS = {"lab": "tests.suites.lab_server", "moto": "moto.server"}


@contextmanager
def running(name: str) -> Iterator[Target]:
    """The endpoint ``name`` (one of ``ENDPOINTS``), for the length of the block."""
    if name in _SERVERS:
        environment = {"MOTO_ACCOUNT_ID": ACCOUNT_ID}
        with running_moto_server(60.0, _SERVERS[name], environment) as server:
            yield Target(name, server.url, ACCOUNT_ID)
    elif name == "localstack":
        with running_localstack() as localstack:
            yield Target("localstack", localstack.url, ACCOUNT_ID)
    else:
        raise ValueError(f"unknown endpoint {name!r}; one of {ENDPOINTS}")
