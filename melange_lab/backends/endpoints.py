"""Backends that talk to a real SNS/SQS endpoint: LocalSQS (ElasticMQ, LocalStack, moto
server) and AWS. Same implementation and semantics as the simulated broker's backend.

``wait_time_seconds`` (how long one receive long-polls an empty queue) defaults low, so a drain
loop (``yield_messages``, ``consume_loop``) ends soon after the queue is empty instead of
blocking a notebook for melange's 10 seconds: 0 for a local endpoint, whose short polls see
every message, and 1 for AWS, where only a long poll (1 second or more) asks every SQS server,
so an empty answer really means an empty queue. See docs/real-broker.md.

Every request has a connect timeout and a read timeout of a few seconds (a receive's read
timeout adds its long-poll wait), and is tried at most twice: a server that accepts the
connection and never answers ends in ``BrokerRequestFailed`` naming the endpoint, instead of
botocore's default of a minute per try and five tries.
"""

from __future__ import annotations

import inspect
import re
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from melange_lab.arguments import number, whole_number
from melange_lab.backends.sqs.backend import SQSBackend
from melange_lab.errors import InvalidParameter, MelangeLabError, UnknownOption

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
LOCAL_WAIT_TIME_SECONDS = 0
AWS_WAIT_TIME_SECONDS = 1
CONNECT_TIMEOUT = 3.0  # seconds to open a connection
READ_TIMEOUT = 4.0  # seconds to wait for an answer (a receive adds its long-poll wait)
MAX_ATTEMPTS = 2  # tries per request, the first included
_OPTIONS = (
    "max_number_of_messages",
    "visibility_timeout",
    "wait_time_seconds",
    "max_receive_count",
)
_TRANSPORT = ("connect_timeout", "read_timeout", "max_attempts")
_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def _port(service: str, port: int | str) -> int:
    """A TCP port, 1 to 65535; a string of digits (melange reads ports from settings) is fine."""
    value: object = port
    if isinstance(port, str) and port.isdigit():
        value = int(port)
    return whole_number(f"{service} port", value, 1, 65_535, fix="e.g. port=4566.")


def endpoint_url(host: str, port: int | str | None, service: str) -> str:
    """melange's ``f"{host}:{port}"``, refusing a host or port that boto3 could not use."""
    if not isinstance(host, str) or not host:
        raise InvalidParameter(f"{service} host", host, "a URL", "e.g. host='http://localhost'.")
    parts = urlsplit(host)
    if not parts.scheme or not parts.netloc:
        raise InvalidParameter(
            f"{service} host",
            host,
            "a URL with a scheme",
            f"Write it as a URL, e.g. host='http://{host}' (melange builds the endpoint as "
            "f'{host}:{port}').",
        )
    name, colon, own_port = (
        parts.netloc.rpartition(":") if "]" not in parts.netloc[-1:] else ("", "", "")
    )
    if not colon:
        name, own_port = parts.netloc, ""
    if (
        parts.scheme not in ("http", "https")
        or not _HOSTNAME.fullmatch(name)
        or parts.path.strip("/")
        or parts.query
        or parts.fragment
    ):
        raise InvalidParameter(
            f"{service} host",
            host,
            "http:// or https://, then a host name or address: no spaces, path or query",
            "e.g. host='http://localhost'.",
        )
    if colon:
        _port(service, own_port)
    if port is None:
        return host
    checked_port = _port(service, port)
    if colon:
        raise InvalidParameter(
            f"{service} port",
            port,
            f"no port when the host {host!r} already has one",
            f"Give the port once: host='{parts.scheme}://{name}', port={checked_port}.",
        )
    return f"{host.rstrip('/')}:{checked_port}"


def _split_options(
    kwargs: dict[str, Any], backend: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Config]:
    """(SQSBackend options, boto3 SQS settings, boto3 SNS settings, transport config),
    refusing anything else."""
    options = {key: kwargs.pop(key) for key in _OPTIONS if key in kwargs}
    transport = _transport(
        kwargs.pop("connect_timeout", CONNECT_TIMEOUT),
        kwargs.pop("read_timeout", READ_TIMEOUT),
        kwargs.pop("max_attempts", MAX_ATTEMPTS),
    )
    settings = []
    for name in ("extra_settings", "sns_settings"):
        value = kwargs.pop(name, None)
        if value is not None and not isinstance(value, dict):
            raise InvalidParameter(
                name, value, "a dict of boto3 client settings", "e.g. {'region_name': 'eu-west-1'}."
            )
        settings.append(dict(value or {}))
    if kwargs:
        raise UnknownOption(
            backend,
            f"unknown option(s) {sorted(kwargs)}",
            (*_OPTIONS, *_TRANSPORT, "extra_settings", "sns_settings"),
        )
    return options, settings[0], settings[1], transport


def _transport(connect_timeout: object, read_timeout: object, max_attempts: object) -> Config:
    """Timeouts and retries for every request: a silent server fails fast, naming itself."""
    return Config(
        connect_timeout=number("connect_timeout", connect_timeout, 0.01, 300, unit="seconds"),
        read_timeout=number("read_timeout", read_timeout, 0.01, 3_600, unit="seconds"),
        retries={
            "mode": "standard",
            "total_max_attempts": whole_number("max_attempts", max_attempts, 1, 10),
        },
    )


def _with_transport(settings: dict[str, Any], transport: Config) -> dict[str, Any]:
    """boto3 client settings with the lab's timeouts, a ``config`` of the user's winning."""
    config = settings.get("config")
    if config is not None and not isinstance(config, Config):
        raise InvalidParameter("config", config, "a botocore.config.Config")
    return {**settings, "config": transport if config is None else transport.merge(config)}


def _client(
    session: boto3.session.Session, service: str, settings: dict[str, Any], option: str
) -> Any:
    """A boto3 client, or a lab error naming the option whose settings boto3 refused."""
    try:
        return session.client(service, **settings)  # type: ignore[call-overload]
    except TypeError as error:
        known = [p for p in inspect.signature(session.client).parameters if p != "service_name"]
        raise InvalidParameter(
            option,
            {k: v for k, v in settings.items() if k != "config"},
            f"boto3 client settings, among: {', '.join(known)}",
            f"boto3 said: {error}.",
        ) from None


class _EndpointBackend(SQSBackend):
    """An SQSBackend over the network: each receive gets a read timeout that covers its wait."""

    def _keep_settings(self, session: boto3.session.Session, settings: dict[str, Any]) -> None:
        self._session = session
        self._sqs_settings = settings
        self._receive_clients: dict[int, Any] = {}

    def _receive_client(self, wait_time_seconds: int) -> Any:
        if wait_time_seconds == 0:
            return self._sqs
        client = self._receive_clients.get(wait_time_seconds)
        if client is None:
            config: Config = self._sqs_settings["config"]
            read_timeout = float(getattr(config, "read_timeout", READ_TIMEOUT))
            longer = Config(read_timeout=read_timeout + wait_time_seconds)
            client = self._session.client(
                "sqs", **{**self._sqs_settings, "config": config.merge(longer)}
            )
            self._receive_clients[wait_time_seconds] = client
        return client


class LocalSQSBackend(_EndpointBackend):
    """An SNS/SQS endpoint on your machine; dummy credentials, region us-east-1, like melange.

    ``host`` carries the scheme: ``LocalSQSBackend(host="http://localhost", port=4566)``. SNS
    is at the same host and port unless ``sns_host``/``sns_port`` say otherwise.
    ``extra_settings``/``sns_settings`` are boto3 client settings and win over the defaults.
    ``connect_timeout``/``read_timeout`` (seconds) and ``max_attempts`` bound every request.
    """

    def __init__(
        self,
        host: str,
        port: int | str | None = None,
        sns_host: str | None = None,
        sns_port: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        options, extra_settings, sns_settings, transport = _split_options(kwargs, "LocalSQSBackend")
        options.setdefault("wait_time_seconds", LOCAL_WAIT_TIME_SECONDS)
        self.endpoint_url = endpoint_url(host, port, "SQS")
        self.sns_endpoint_url = endpoint_url(
            sns_host or host, sns_port if sns_host else (sns_port or port), "SNS"
        )
        local = {"region_name": LOCAL_REGION, **LOCAL_CREDENTIALS}
        sqs_settings = _with_transport(
            {**local, "endpoint_url": self.endpoint_url, **extra_settings}, transport
        )
        session = boto3.session.Session()
        sqs = _client(session, "sqs", sqs_settings, "extra_settings")
        sns = _client(
            session,
            "sns",
            _with_transport(
                {**local, "endpoint_url": self.sns_endpoint_url, **sns_settings}, transport
            ),
            "sns_settings",
        )
        self._keep_settings(session, sqs_settings)
        super().__init__(sqs, sns, **options)

    def __repr__(self) -> str:
        return f"<LocalSQSBackend {self.endpoint_url}>"


class AWSBackend(_EndpointBackend):
    """Real AWS: credentials and region come from the usual boto3 places (environment,
    ``~/.aws/config`` and ``credentials``, instance roles), or from ``extra_settings`` and
    ``sns_settings``, e.g. ``extra_settings={"region_name": "eu-west-1"}``.
    ``connect_timeout``/``read_timeout`` (seconds) and ``max_attempts`` bound every request."""

    def __init__(self, **kwargs: Any) -> None:
        options, extra_settings, sns_settings, transport = _split_options(kwargs, "AWSBackend")
        options.setdefault("wait_time_seconds", AWS_WAIT_TIME_SECONDS)
        sqs_settings = _with_transport(extra_settings, transport)
        session = boto3.session.Session()
        try:
            sqs = _client(session, "sqs", sqs_settings, "extra_settings")
            sns = _client(session, "sns", _with_transport(sns_settings, transport), "sns_settings")
        except BotoCoreError as error:
            raise MelangeLabError(
                f"Cannot set up the AWS clients: {error} Set a region the usual boto3 way "
                "(AWS_DEFAULT_REGION, or region in ~/.aws/config), or pass "
                "extra_settings={'region_name': ...} and sns_settings={'region_name': ...}."
            ) from None
        self._keep_settings(session, sqs_settings)
        super().__init__(sqs, sns, **options)

    def __repr__(self) -> str:
        return f"<AWSBackend region={self._sqs.meta.region_name}>"
