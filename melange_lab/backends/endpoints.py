"""Backends that talk to a real SNS/SQS endpoint: LocalSQS (ElasticMQ, LocalStack, moto
server) and AWS. Same implementation and semantics as the simulated broker's backend."""

from __future__ import annotations

from typing import Any

import boto3

from melange_lab.backends.sqs import SQSBackend
from melange_lab.errors import MelangeLabError

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}


def _endpoint(host: str, port: int | str | None, role: str) -> str:
    if "://" not in host:
        raise MelangeLabError(
            f"The {role} host {host!r} has no scheme. Write it as a URL, e.g. "
            f"host='http://{host}' (melange builds the endpoint as f'{{host}}:{{port}}')."
        )
    return host if port is None else f"{host}:{port}"


def _backend_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    known = ("max_number_of_messages", "visibility_timeout", "wait_time_seconds", "max_receive_count")
    return {key: kwargs.pop(key) for key in known if key in kwargs}


class LocalSQSBackend(SQSBackend):
    """An SNS/SQS endpoint on your machine; dummy credentials, region us-east-1, like melange.

    ``host`` carries the scheme: ``LocalSQSBackend(host="http://localhost", port=9324)``.
    """

    def __init__(
        self,
        host: str,
        port: int | str | None = None,
        sns_host: str | None = None,
        sns_port: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        options = _backend_options(kwargs)
        extra_settings: dict[str, Any] = kwargs.pop("extra_settings", {})
        sns_settings: dict[str, Any] = kwargs.pop("sns_settings", {})
        if kwargs:
            raise TypeError(f"LocalSQSBackend() got unknown options {sorted(kwargs)}")
        session = boto3.session.Session(region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)
        sqs = session.client(
            "sqs", endpoint_url=_endpoint(host, port, "SQS"), **extra_settings
        )
        sns = session.client(
            "sns",
            endpoint_url=_endpoint(sns_host or host, sns_port if sns_host else (sns_port or port), "SNS"),
            **sns_settings,
        )
        self.endpoint_url = _endpoint(host, port, "SQS")
        super().__init__(sqs, sns, **options)


class AWSBackend(SQSBackend):
    """Real AWS: credentials and region come from the usual boto3 places."""

    def __init__(self, **kwargs: Any) -> None:
        options = _backend_options(kwargs)
        extra_settings: dict[str, Any] = kwargs.pop("extra_settings", {})
        sns_settings: dict[str, Any] = kwargs.pop("sns_settings", {})
        if kwargs:
            raise TypeError(f"AWSBackend() got unknown options {sorted(kwargs)}")
        super().__init__(
            boto3.client("sqs", **extra_settings), boto3.client("sns", **sns_settings), **options
        )
