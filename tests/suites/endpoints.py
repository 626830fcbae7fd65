"""The three endpoints LocalStack's suite runs against: the lab over HTTP, stock moto's
server, and LocalStack, each started on 127.0.0.1 and a free port and always stopped.

All three answer for account 000000000000, LocalStack's default: moto's default,
123456789012, also appears as a literal inside some of LocalStack's test payloads, which
its snapshot transformers would then rewrite as if it were the account.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.localstack import ACCOUNT_ID, running_localstack
from tests.moto_server import HOST, moto_server_command, running_moto_server
from tests.suites.localstack_suite import Target

ENDPOINTS = ("lab", "moto", "localstack")
TITLES = {"lab": "the lab", "moto": "stock moto's server", "localstack": "LocalStack"}


def lab_command(port: int) -> list[str]:
    """``melange-lab serve``: the simulated broker, every layer installed, over HTTP."""
    return [sys.executable, "-m", "melange_lab.cli", "serve", "--host", HOST, "--port", str(port)]


_SERVERS: dict[str, Callable[[int], list[str]]] = {"lab": lab_command, "moto": moto_server_command}


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
