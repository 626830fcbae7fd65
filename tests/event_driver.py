"""Another process driving a served broker: ``python -m tests.event_driver``.

Reads one JSON request per line on stdin (``{"op": "connect", "args": [url, region]}``, then
``{"op": <Boto3Driver method>, "args": [...], "kwargs": {...}}``) and answers one JSON line
each on stdout (``{"ok": result}`` or ``{"error": text}``). The parent's broker sees only
HTTP requests, as from any program.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3

from tests.event_scenarios import Boto3Driver


def _connect(url: str, region: str) -> Boto3Driver:
    session = boto3.session.Session(
        aws_access_key_id="another-process",
        aws_secret_access_key="another-process",
        region_name=region,
    )
    return Boto3Driver(
        session.client("sqs", endpoint_url=url), session.client("sns", endpoint_url=url)
    )


def main() -> None:
    driver: Boto3Driver | None = None
    for line in sys.stdin:
        request: dict[str, Any] = json.loads(line)
        try:
            if request["op"] == "connect":
                driver = _connect(*request["args"])
                answer: Any = None
            else:
                assert driver is not None, "connect first"
                method = getattr(driver, request["op"])
                answer = method(*request.get("args", []), **request.get("kwargs", {}))
            print(json.dumps({"ok": answer}), flush=True)
        except Exception as error:  # the parent reports it with the scenario that failed
            print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)


if __name__ == "__main__":
    main()
