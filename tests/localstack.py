"""LocalStack in host mode, as a second SNS/SQS implementation that is not moto.

``localstack-core`` needs a newer Python than the lab, so it gets a venv of its own, built once
with uv (pip if uv is missing) under ``.cache/localstack-venv/<key>`` in the repository (the key
is a hash of the pins and the interpreter) and reused by later runs. It listens on 127.0.0.1
and a free port, keeps its data inside that cache directory, and is stopped by its process
group. No Python new enough is a failure that says so, never a skip: the fidelity table would
otherwise be generated from two brokers while claiming three.
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import boto3

from melange_lab.backends import LocalSQSBackend
from tests.moto_server import HOST, free_port

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "localstack-venv"
# localstack-core runs on Python >= 3.12 by its metadata, but since 4.10 its code imports
# warnings.deprecated (new in 3.13), and 4.9's SNS still needs moto (which would make it no
# longer independent of moto). So in practice: Python >= 3.13 and the release pinned here.
PINS = (
    "localstack-core[base-runtime]==2026.3.0",
    "cbor2<6",
    "pyopenssl==25.1.0",
    "cryptography>=45,<46",
    "service-identity",
)
MINIMUM = (3, 13)
ACCOUNT_ID = "000000000000"  # LocalStack's default account


class NoPythonForLocalStack(RuntimeError):
    """No interpreter new enough to run localstack-core was found."""


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: tuple[int, int]


def _version_of(path: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None  # e.g. a pyenv shim for a version that is not selected
    return (int(out[0]), int(out[1])) if len(out) == 2 else None


def _candidates() -> list[str]:
    names = [f"python3.{minor}" for minor in range(20, 11, -1)]
    found = [p for p in (shutil.which(n) for n in names) if p]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    found += sorted(glob.glob(f"{pyenv_root}/versions/3.*/bin/python3.*[0-9]"), reverse=True)
    found += sorted(glob.glob("/usr/bin/python3.*[0-9]"), reverse=True)
    return list(dict.fromkeys(found))


def find_python() -> Interpreter:
    """The newest Python >= 3.13 on this machine (PATH, pyenv's versions, /usr/bin)."""
    seen: list[str] = []
    best: Interpreter | None = None
    for path in _candidates():
        version = _version_of(path)
        seen.append(f"{path} ({'.'.join(map(str, version)) if version else 'does not run'})")
        if version and version >= MINIMUM and (best is None or version > best.version):
            best = Interpreter(path, version)
    if best is None:
        raise NoPythonForLocalStack(
            "LocalStack (the second, independent broker of the fidelity tests) needs Python "
            f">= {MINIMUM[0]}.{MINIMUM[1]} (3.12 is not enough: localstack-core uses "
            "warnings.deprecated), and none was found. Looked at: "
            f"{', '.join(seen) or 'no python3.1x on PATH, in pyenv or /usr/bin'}. "
            "Fix: install python3.13 (e.g. `pyenv install 3.13` or `apt-get install python3.13`)."
        )
    return best


def _venv_dir(python: Interpreter) -> Path:
    key = hashlib.sha256(json.dumps([python.version, PINS]).encode()).hexdigest()
    return CACHE / key[:16]


def ensure_venv(python: Interpreter) -> Path:
    """LocalStack's venv (cached); returns its interpreter. Built with uv when it is there."""
    home = _venv_dir(python)
    ready = home / ".installed"
    interpreter = home / "venv" / "bin" / "python"
    if ready.exists():
        return interpreter
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    uv = shutil.which("uv")
    if uv:
        steps = [
            [uv, "venv", "-q", str(home / "venv"), "--python", python.path],
            [uv, "pip", "install", "-q", "--python", str(interpreter), *PINS],
        ]
    else:
        steps = [
            [python.path, "-m", "venv", str(home / "venv")],
            [str(interpreter), "-m", "pip", "install", "-q", *PINS],
        ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"installing LocalStack failed: {step}\n{done.stderr[-3000:]}")
    ready.write_text(json.dumps(PINS))
    return interpreter


@dataclass(frozen=True)
class LocalStack:
    """A running LocalStack: where it is, how to empty it, and clients pointed at it."""

    port: int
    version: str

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self, service: Literal["sqs", "sns"]) -> Any:
        return boto3.session.Session().client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def backend(self, **options: Any) -> LocalSQSBackend:
        return LocalSQSBackend(host=f"http://{HOST}", port=self.port, **options)

    def reset(self) -> None:
        """Deletes every queue and topic (LocalStack's community edition has no reset call)."""
        sqs, sns = self.client("sqs"), self.client("sns")
        for page in sqs.get_paginator("list_queues").paginate():
            for url in page.get("QueueUrls", []):
                sqs.delete_queue(QueueUrl=url)
        for page in sns.get_paginator("list_topics").paginate():
            for topic in page.get("Topics", []):
                sns.delete_topic(TopicArn=topic["TopicArn"])


def _health(port: int) -> dict[str, Any] | None:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", "/_localstack/health")
        response = connection.getresponse()
        body = response.read()
        return dict(json.loads(body)) if response.status == 200 else None
    except (OSError, ValueError):
        return None
    finally:
        connection.close()


def _ready(health: dict[str, Any] | None) -> bool:
    services = (health or {}).get("services", {})
    return all(services.get(name) in ("running", "available") for name in ("sqs", "sns"))


@contextmanager
def running_localstack(start_timeout: float = 180.0) -> Iterator[LocalStack]:
    """Installs (once) and starts LocalStack on 127.0.0.1 and a free port; always stops it."""
    python = find_python()
    interpreter = ensure_venv(python)
    port = free_port()
    data = _venv_dir(python) / "data"
    data.mkdir(exist_ok=True)
    address = f"{HOST}:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))},
        "GATEWAY_LISTEN": address,
        "LOCALSTACK_HOST": address,
        "SERVICES": "sqs,sns",
        "EAGER_SERVICE_LOADING": "1",
        "DISABLE_EVENTS": "1",
        "LOCALSTACK_TELEMETRY_DISABLED": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DNS_ADDRESS": "0",
        "SQS_ENDPOINT_STRATEGY": "path",
        "FILESYSTEM_ROOT": str(data),
        "PERSISTENCE": "0",
    }
    log_path = _venv_dir(python) / "localstack.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(interpreter), "-m", "localstack.runtime.main"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(data),
            start_new_session=True,  # its own process group, stopped as a whole
            preexec_fn=_die_with_parent,
        )
    try:
        deadline = time.monotonic() + start_timeout
        health = _health(port)
        while not _ready(health):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"LocalStack on port {port} did not become healthy within {start_timeout}s "
                    f"(exit code {process.poll()}); its log ({log_path}):\n{tail}"
                )
            time.sleep(0.25)
            health = _health(port)
        yield LocalStack(port, str((health or {}).get("version", "?")))
    finally:
        _stop(process)


def _die_with_parent() -> None:
    """In the child: on Linux, get SIGTERM if the test run dies before it can stop us."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the session fixture's stop is the only one


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
