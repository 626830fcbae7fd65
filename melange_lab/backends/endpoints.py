"""Backends that talk to a real SNS/SQS endpoint: LocalSQS (ElasticMQ, LocalStack, moto
server) and AWS. Same implementation and semantics as the simulated broker's backend.

``wait_time_seconds`` (how long one receive long-polls an empty queue) defaults low, so a drain
loop (``yield_messages``, ``consume_loop``) ends soon after the queue is empty instead of
blocking a notebook for melange's 10 seconds: 0 for a local endpoint, whose short polls see
every message, and 1 for AWS, where only a long poll (1 second or more) asks every SQS server,
so an empty answer really means an empty queue. See docs/real-broker.md.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError

from melange_lab.backends.sqs import SQSBackend
from melange_lab.errors import MelangeLabError

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
LOCAL_WAIT_TIME_SECONDS = 0
AWS_WAIT_TIME_SECONDS = 1
_OPTIONS = (
    "max_number_of_messages",
    "visibility_timeout",
    "wait_time_seconds",
    "max_receive_count",
)


def endpoint_url(host: str, port: int | str | None, service: str) -> str:
    """melange's ``f"{host}:{port}"``, refusing a host that boto3 could not use."""
    parts = urlsplit(host)
    if not parts.scheme or not parts.netloc:
        raise MelangeLabError(
            f"The {service} host {host!r} has no scheme. Write it as a URL, e.g. "
            f"host='http://{host}' (melange builds the endpoint as f'{{host}}:{{port}}')."
        )
    if port is None:
        return host
    if parts.port is not None:
        raise MelangeLabError(
            f"The {service} host {host!r} already has a port and port={port!r} was given too. "
            f"Give the port once: host='{parts.scheme}://{parts.hostname}', port={port!r}."
        )
    return f"{host}:{port}"


def _split_options(
    kwargs: dict[str, Any], backend: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(SQSBackend options, boto3 SQS settings, boto3 SNS settings), refusing anything else."""
    options = {key: kwargs.pop(key) for key in _OPTIONS if key in kwargs}
    extra_settings = dict(kwargs.pop("extra_settings", None) or {})
    sns_settings = dict(kwargs.pop("sns_settings", None) or {})
    if kwargs:
        raise TypeError(
            f"{backend}() got unknown options {sorted(kwargs)}; known: {', '.join(_OPTIONS)}, "
            "extra_settings (boto3 SQS client settings), sns_settings (boto3 SNS client settings)."
        )
    return options, extra_settings, sns_settings


class LocalSQSBackend(SQSBackend):
    """An SNS/SQS endpoint on your machine; dummy credentials, region us-east-1, like melange.

    ``host`` carries the scheme: ``LocalSQSBackend(host="http://localhost", port=4566)``. SNS
    is at the same host and port unless ``sns_host``/``sns_port`` say otherwise.
    ``extra_settings``/``sns_settings`` are boto3 client settings and win over the defaults.
    """

    def __init__(
        self,
        host: str,
        port: int | str | None = None,
        sns_host: str | None = None,
        sns_port: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        options, extra_settings, sns_settings = _split_options(kwargs, "LocalSQSBackend")
        options.setdefault("wait_time_seconds", LOCAL_WAIT_TIME_SECONDS)
        self.endpoint_url = endpoint_url(host, port, "SQS")
        self.sns_endpoint_url = endpoint_url(
            sns_host or host, sns_port if sns_host else (sns_port or port), "SNS"
        )
        local = {"region_name": LOCAL_REGION, **LOCAL_CREDENTIALS}
        sqs = boto3.session.Session().client(
            "sqs", **{**local, "endpoint_url": self.endpoint_url, **extra_settings}
        )
        sns = boto3.session.Session().client(
            "sns", **{**local, "endpoint_url": self.sns_endpoint_url, **sns_settings}
        )
        super().__init__(sqs, sns, **options)

    def __repr__(self) -> str:
        return f"<LocalSQSBackend {self.endpoint_url}>"


class AWSBackend(SQSBackend):
    """Real AWS: credentials and region come from the usual boto3 places (environment,
    ``~/.aws/config`` and ``credentials``, instance roles), or from ``extra_settings`` and
    ``sns_settings``, e.g. ``extra_settings={"region_name": "eu-west-1"}``."""

    def __init__(self, **kwargs: Any) -> None:
        options, extra_settings, sns_settings = _split_options(kwargs, "AWSBackend")
        options.setdefault("wait_time_seconds", AWS_WAIT_TIME_SECONDS)
        try:
            sqs = boto3.session.Session().client("sqs", **extra_settings)
            sns = boto3.session.Session().client("sns", **sns_settings)
        except BotoCoreError as error:
            raise MelangeLabError(
                f"Cannot set up the AWS clients: {error} Set a region the usual boto3 way "
                "(AWS_DEFAULT_REGION, or region in ~/.aws/config), or pass "
                "extra_settings={'region_name': ...} and sns_settings={'region_name': ...}."
            ) from None
        super().__init__(sqs, sns, **options)

    def __repr__(self) -> str:
        return f"<AWSBackend region={self._sqs.meta.region_name}>"
