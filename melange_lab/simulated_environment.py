"""The process's AWS settings while a simulated broker runs: plain boto3 just works, offline.

A learner who types ``boto3.client("sqs").list_queues()`` in a tutorial, or brings a melange
service (melange's ``AWSBackend`` builds its clients with ``boto3.resource("sqs")``), must
reach the simulated broker with no setup, and must never reach AWS. moto's mock answers every
boto3 request in the process, but boto3 first needs credentials and a region, and could be
sent elsewhere by an endpoint override. So for the broker's life the environment gets the
broker's region, fake credentials unless some are already set there (they are never used:
moto answers), and loses whatever could send a request elsewhere or need a profile (AWS
profiles, config and credentials files, endpoint overrides, instance metadata); boto3's
default session is dropped so it re-reads them. Everything is put back when the broker stops.
"""

from __future__ import annotations

import os
import threading
from collections.abc import MutableMapping

import boto3

FAKE_KEY = "melange-lab"  # moto accepts any credentials; these name where they came from
_REMOVED_PREFIXES = ("AWS_ENDPOINT_URL",)
_REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def simulated_settings(region: str, environ: MutableMapping[str, str]) -> dict[str, str]:
    """What the environment holds while the simulated broker runs."""
    has_keys = bool(environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"))
    keys = {} if has_keys else {"AWS_ACCESS_KEY_ID": FAKE_KEY, "AWS_SECRET_ACCESS_KEY": FAKE_KEY}
    return {
        **keys,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


class SimulatedEnvironment:
    """Applies ``simulated_settings`` to an environment and restores it exactly."""

    def __init__(self, region: str, environ: MutableMapping[str, str] | None = None) -> None:
        self._region = region
        self._environ = os.environ if environ is None else environ
        self._saved: dict[str, str | None] | None = None
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            if self._saved is not None:
                return
            removed = [
                name
                for name in self._environ
                if name in _REMOVED or name.startswith(_REMOVED_PREFIXES)
            ]
            settings = simulated_settings(self._region, self._environ)
            self._saved = {name: self._environ.get(name) for name in [*settings, *removed]}
            for name in removed:
                del self._environ[name]
            self._environ.update(settings)
            boto3.DEFAULT_SESSION = None  # it may hold credentials resolved before

    def exit(self) -> None:
        with self._lock:
            if self._saved is None:
                return
            for name, value in self._saved.items():
                if value is None:
                    self._environ.pop(name, None)
                else:
                    self._environ[name] = value
            self._saved = None
            boto3.DEFAULT_SESSION = None  # forget the simulated credentials
