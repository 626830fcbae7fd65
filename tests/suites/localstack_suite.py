"""LocalStack's AWS-validated SNS/SQS tests, run against any endpoint.

LocalStack's repository records real AWS's answers next to its tests (``*.snapshot.json``);
the tests marked ``@markers.aws.validated`` compare an endpoint's answers with them. Its
pytest plugins take the endpoint from ``TEST_AWS_ENDPOINT_URL`` and, with
``TEST_SKIP_LOCALSTACK_START=1``, start nothing themselves. Those test files are on no package
registry (LocalStack's sdists carry no tests), so CI cannot fetch them: ``make fidelity``
takes a checkout (``LOCALSTACK_TESTS=/path``), checks it holds the pinned files, and runs
them in a Python 3.13 venv of their own (``.cache/localstack-tests-venv``) whose packages
come from PyPI. The checkout's own ``localstack-core`` comes first on the path, so the
tests run with the testing library they were written with.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.localstack import find_python
from tests.suites.outcomes import Outcomes

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "localstack-tests-venv"
PLUGINS = Path(__file__).resolve().parent / "plugins"
# localstack/localstack at this commit (2026-03-23, v4.14.0-27); the files the run reads, by
# sha256 (first 32 hex digits), so a different checkout is refused instead of compared with
# the wrong list.
COMMIT = "8b9a79f05846835cf4dff63ab7eefdde9df83783"
_SQS, _SNS = "tests/aws/services/sqs/", "tests/aws/services/sns/"
FILES = {
    _SQS + "test_sqs.py": "3654d3ddbe3d008399bd320d91448e9b",
    _SQS + "test_sqs.snapshot.json": "bdd202cc9536f6cea95880a46d6698c2",
    _SNS + "test_sns.py": "3cfeb682c17d7561c5c81d73fff683ad",
    _SNS + "test_sns.snapshot.json": "0b784366d2066a84d450ee8a64f4ff97",
    _SNS + "test_sns_filter_policy.py": "ff5620aa573260ea3701fb31dd143550",
    _SNS + "test_sns_filter_policy.snapshot.json": "307b42d323144eb65aa2b3ccfd255898",
    _SNS + "conftest.py": "83019674a5bcd63216269cefc2d83836",
}
SUITES = (
    "tests/aws/services/sqs/test_sqs.py",
    "tests/aws/services/sns/test_sns.py",
    "tests/aws/services/sns/test_sns_filter_policy.py",
)
# The test run's packages: the pinned localstack-core for the dependencies of the checkout's
# own localstack package, and the test requirements at the versions the checkout pins
# (requirements-test.txt); moto-ext because LocalStack's test helpers import moto.
PINS = (
    "localstack-core[base-runtime]==2026.3.0",
    "cbor2<6",
    "pyopenssl==25.1.0",
    "cryptography>=45,<46",
    "jinja2==3.1.6",
    "moto-ext==5.1.25",
    "pytest==9.0.2",
    "pytest-httpserver==1.1.5",
    "pytest-timeout==2.4.0",
    "localstack-snapshot==0.3.3",
    "json5==0.13.0",
    "httpx==0.28.1",
    "websocket-client==1.9.0",
)
TEST_TIMEOUT = 60  # seconds; LocalStack's slowest validated SQS tests wait up to ~30 s


class CheckoutMismatch(RuntimeError):
    """LOCALSTACK_TESTS is missing, or is not the pinned checkout."""


def checkout(path: str | None = None) -> Path:
    """The LocalStack checkout (``LOCALSTACK_TESTS``), checked against the pinned files."""
    given = path or os.environ.get("LOCALSTACK_TESTS")
    if not given:
        raise CheckoutMismatch(
            "LocalStack's validated tests need a checkout of github.com/localstack/localstack "
            f"at {COMMIT}: set LOCALSTACK_TESTS=/path/to/it. (They are on no package "
            "registry, which is why CI does not run them.)"
        )
    root = Path(given).expanduser().resolve()
    wrong = [
        name
        for name, digest in FILES.items()
        if not (root / name).is_file()
        or not hashlib.sha256((root / name).read_bytes()).hexdigest().startswith(digest)
    ]
    if wrong:
        raise CheckoutMismatch(
            f"{root} is not LocalStack at {COMMIT}: these files are missing or differ: "
            f"{', '.join(wrong)}. Fix: `git checkout {COMMIT}` there (the classification "
            "in tests/suites/classification.json is for that commit)."
        )
    return root


def ensure_venv() -> Path:
    """The test run's venv (Python >= 3.13, cached); returns its interpreter."""
    python = find_python()
    key = hashlib.sha256(json.dumps([python.version, PINS]).encode()).hexdigest()[:16]
    home = CACHE / key
    interpreter = home / "bin" / "python"
    if (home / ".installed").exists():
        return interpreter
    shutil.rmtree(home, ignore_errors=True)
    uv = shutil.which("uv") or str(REPO / ".venv" / "bin" / "uv")
    if Path(uv).exists():
        steps = [
            [uv, "venv", "-q", str(home), "--python", python.path],
            [uv, "pip", "install", "-q", "--python", str(interpreter), *PINS],
        ]
    else:
        steps = [
            [python.path, "-m", "venv", str(home)],
            [str(interpreter), "-m", "pip", "install", "-q", *PINS],
        ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(
                f"installing LocalStack's test requirements failed: {step}\n{done.stderr[-3000:]}"
            )
    (home / ".installed").write_text(json.dumps(PINS))
    return interpreter


@dataclass(frozen=True)
class Target:
    """An endpoint the suite runs against, and the account its ARNs carry."""

    name: str  # "lab" | "moto" | "localstack"
    url: str
    account_id: str


def run(target: Target, root: Path, results: Path, log: Path, timeout: float = 5400) -> Outcomes:
    """Runs the validated tests of ``SUITES`` against ``target``; returns their outcomes."""
    interpreter = ensure_venv()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(root / "localstack-core"), str(root), str(PLUGINS)]),
        TEST_AWS_ENDPOINT_URL=target.url,
        MELANGE_GATEWAY=urlsplit(target.url).netloc,
        TEST_SKIP_LOCALSTACK_START="1",
        SERVICES="sqs,sns",
        TEST_AWS_ACCOUNT_ID=target.account_id,
        TEST_AWS_REGION_NAME="us-east-1",
        MELANGE_SUITE_OUTCOMES=str(results),
        PYTHONDONTWRITEBYTECODE="1",
    )
    results.unlink(missing_ok=True)
    with open(log, "wb") as out:
        subprocess.run(
            [
                str(interpreter),
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "melange_outcomes",
                "-p",
                "melange_gateway",
                "-m",
                "aws_validated",
                "--timeout",
                str(TEST_TIMEOUT),
                *SUITES,
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    if not results.exists():
        raise RuntimeError(f"LocalStack's suite against {target.name} wrote no outcomes: {log}")
    return Outcomes(json.loads(results.read_text()))
