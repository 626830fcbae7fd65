"""broker.serve(): the notebook's broker answering SNS and SQS over HTTP, and `melange-lab serve`.

In-process boto3 clients pointed at ``server.url`` go over real HTTP (moto's mock answers only
AWS's own addresses), so most cases run here; one runs a real child process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from melange_lab import SimulatedBroker, runtime
from melange_lab.errors import (
    BrokerStopped,
    InvalidParameter,
    PortInUse,
    ServeNotAvailable,
    UnknownOption,
)
from melange_lab.serving import BrokerReachableWarning, BrokerServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def http_client(server: BrokerServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=server.region,
        aws_access_key_id="someone-else",
        aws_secret_access_key="someone-else",
        config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=30),
    )


@pytest.fixture
def served(broker: SimulatedBroker) -> Iterator[BrokerServer]:
    with broker.serve() as server:
        yield server


def test_a_client_over_http_sees_and_changes_the_notebooks_own_broker(
    broker: SimulatedBroker, served: BrokerServer
) -> None:
    broker.backend.declare_queue("from-the-notebook")
    sqs = http_client(served, "sqs")
    assert [u.rsplit("/", 1)[-1] for u in sqs.list_queues()["QueueUrls"]] == ["from-the-notebook"]
    url = sqs.create_queue(QueueName="from-afar")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert [m.body for m in broker.peek("from-afar")] == ["hello"]


def test_serve_listens_on_loopback_on_a_free_port_by_default(served: BrokerServer) -> None:
    assert served.host == "127.0.0.1"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", served.url)
    assert served.port > 0 and served.running
    assert served.environment()["AWS_ENDPOINT_URL"] == served.url


def test_stopping_the_server_frees_its_port_and_keeps_the_broker(broker: SimulatedBroker) -> None:
    server = broker.serve()
    port = server.port
    server.stop()
    assert not server.running
    with pytest.raises((EndpointConnectionError, ClientError)):
        http_client(server, "sqs").list_queues()
    again = broker.serve(port=port)  # the port is free again
    assert again.port == port
    broker.backend.declare_queue("still-here")
    again.stop()


def test_the_server_stops_with_its_broker() -> None:
    broker = SimulatedBroker()
    server = broker.serve()
    broker.stop()
    assert not server.running
    with pytest.raises(EndpointConnectionError):
        http_client(server, "sqs").list_queues()


def test_a_busy_port_is_a_typed_error_naming_it(broker: SimulatedBroker) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as refused:
            broker.serve(port=port)
    assert refused.value.port == port
    assert f"Port {port} on 127.0.0.1 is already in use" in str(refused.value)
    assert "port=0" in str(refused.value)


@pytest.mark.parametrize("port", [-1, 65_536, 1.5, True, "8000", float("nan"), 10**100])
def test_a_port_outside_0_to_65535_is_refused(broker: SimulatedBroker, port: Any) -> None:
    with pytest.raises(InvalidParameter) as refused:
        broker.serve(port=port)
    assert refused.value.parameter == "port"


@pytest.mark.parametrize("host", ["", None, 127, "no-such-host.invalid", "10.255.255.254"])
def test_a_host_that_is_not_an_address_of_this_machine_is_refused(
    broker: SimulatedBroker, host: Any
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BrokerReachableWarning)
        with pytest.raises(InvalidParameter) as refused:
            broker.serve(host=host)
    assert refused.value.parameter == "host"


def test_an_unknown_option_names_serve(broker: SimulatedBroker) -> None:
    with pytest.raises(UnknownOption, match="serve"):
        broker.serve(prot=0)  # type: ignore[call-arg]


def test_serving_beyond_this_machine_warns_that_anyone_there_can_reach_it(
    broker: SimulatedBroker,
) -> None:
    with pytest.warns(BrokerReachableWarning, match="anyone who can reach this machine"):
        server = broker.serve(host="0.0.0.0")
    try:
        assert server.url.startswith("http://127.0.0.1:")  # what this machine's clients use
        assert http_client(server, "sqs").list_queues().get("QueueUrls") is None
    finally:
        server.stop()


def test_loopback_hosts_serve_without_a_warning(broker: SimulatedBroker) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with broker.serve(host="localhost") as server:
            assert server.running


def test_a_stopped_broker_does_not_serve() -> None:
    broker = SimulatedBroker()
    broker.stop()
    with pytest.raises(BrokerStopped):
        broker.serve()


def test_in_a_browser_tab_serve_says_there_are_no_sockets(
    broker: SimulatedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "in_pyodide", lambda: True)
    with pytest.raises(ServeNotAvailable, match="browser tab"):
        broker.serve()


def test_only_sns_and_sqs_are_answered(served: BrokerServer) -> None:
    with pytest.raises(ClientError) as refused:
        http_client(served, "s3").list_buckets()
    assert refused.value.response["Error"]["Code"] == "UnsupportedOperation"
    assert "SNS and SQS only" in refused.value.response["Error"]["Message"]
    assert http_client(served, "sns").list_topics()["Topics"] == []


def test_motos_reset_api_is_not_served(broker: SimulatedBroker, served: BrokerServer) -> None:
    broker.backend.declare_queue("kept")
    request = urllib.request.Request(f"{served.url}/moto-api/reset", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert [q.name for q in broker.queues()] == ["kept"]


def test_a_long_poll_on_a_manual_clock_ends_after_its_wait_in_real_time() -> None:
    with SimulatedBroker(clock="manual") as broker, broker.serve() as server:
        broker.backend.declare_queue("quiet")
        sqs = http_client(server, "sqs")
        url = sqs.get_queue_url(QueueName="quiet")["QueueUrl"]
        started = time.monotonic()
        answer = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        assert answer.get("Messages", []) == []
        assert 0.9 <= time.monotonic() - started < 10


@pytest.mark.server
def test_another_process_reaches_the_broker_with_only_the_servers_environment(
    broker: SimulatedBroker, served: BrokerServer
) -> None:
    broker.backend.declare_queue("inbox")
    code = (
        "import boto3\n"
        "sqs = boto3.client('sqs')\n"
        "url = sqs.get_queue_url(QueueName='inbox')['QueueUrl']\n"
        "sqs.send_message(QueueUrl=url, MessageBody='from another process')\n"
    )
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_DEFAULT_REGION"
    }
    environment.update(served.environment())
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert [m.body for m in broker.peek("inbox")] == ["from another process"]


# --- melange-lab serve ------------------------------------------------------------------------


def _serve_command(*options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "melange_lab.cli", "serve", *options],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.server
def test_melange_lab_serve_prints_its_address_and_each_event_until_terminated() -> None:
    process = _serve_command("--port", "0")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+) \(region us-east-1\)", first)
        assert found, first
        lines = [process.stdout.readline() for _ in range(4)]
        assert f"aws --endpoint-url {found.group(1)} sqs list-queues" in "".join(lines)
        sqs = boto3.client(
            "sqs",
            endpoint_url=found.group(1),
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        sqs.create_queue(QueueName="cli-queue")
        assert [u.rsplit("/", 1)[-1] for u in sqs.list_queues()["QueueUrls"]] == ["cli-queue"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "queue_declared queue=cli-queue" in out  # each event, as it happened
    assert "Traceback" not in out + err


@pytest.mark.server
@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--port", "-1"], "'-1' is not allowed"),
        (["--port", "70000"], "'70000' is not allowed"),
        (["--host", "no-such-host.invalid"], "host='no-such-host.invalid' is not allowed"),
        (["--region", "moon"], "argument --region: 'moon' is not allowed"),
    ],
)
def test_melange_lab_serve_refuses_bad_options_in_plain_words(
    options: list[str], says: str
) -> None:
    process = _serve_command(*options)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert says in err and "Traceback" not in err


@pytest.mark.server
def test_melange_lab_serve_on_a_busy_port_names_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _serve_command("--port", str(port))
        _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in err


def test_serve_handles_json_and_query_protocol_clients_alike(served: BrokerServer) -> None:
    """boto3 speaks SQS's JSON protocol; older clients (the AWS CLI v1 with old botocore, other
    languages' SDKs) speak the query protocol: both are answered."""
    body = "Action=ListQueues&Version=2012-11-05"
    request = urllib.request.Request(
        served.url,
        data=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/sqs/aws4_request, "
                "SignedHeaders=host, Signature=0"
            ),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert b"ListQueuesResponse" in answer.read()
    assert json.loads(json.dumps(served.environment()))["AWS_DEFAULT_REGION"] == "us-east-1"


def _get(url: str, params: dict[str, str], accept: str | None = None) -> tuple[int, str]:
    """A plain GET, unsigned (no Authorization header), as a browser or curl would send it."""
    request = urllib.request.Request(
        f"{url}?{urllib.parse.urlencode(params)}", headers={"Accept": accept} if accept else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_a_get_on_a_queue_url_without_a_signature_reaches_sqs(
    broker: SimulatedBroker, served: BrokerServer
) -> None:
    url = http_client(served, "sqs").create_queue(QueueName="plain-get")["QueueUrl"]
    assert _get(url, {"Action": "SendMessage", "MessageBody": "from curl"})[0] == 200
    assert [m.body for m in broker.peek("plain-get")] == ["from curl"]
    status, text = _get(url, {"Action": "GetQueueAttributes", "AttributeName.1": "QueueArn"})
    assert status == 200 and "<Name>QueueArn</Name>" in text
    status, text = _get(url, {"Action": "ReceiveMessage"}, accept="application/json")
    assert status == 200 and json.loads(text)["ReceiveMessageResponse"]


def test_a_query_signature_in_the_url_names_the_service(served: BrokerServer) -> None:
    http_client(served, "sns").create_topic(Name="signed-in-the-url")
    credential = "test/20260101/us-east-1/sns/aws4_request"
    status, text = _get(served.url + "/", {"Action": "ListTopics", "X-Amz-Credential": credential})
    assert status == 200 and "signed-in-the-url" in text


def test_a_queue_url_refuses_what_sqs_refuses_there(served: BrokerServer) -> None:
    url = http_client(served, "sqs").create_queue(QueueName="not-an-endpoint")["QueueUrl"]
    assert _get(url, {}) == (404, "<UnknownOperationException/>")
    for action in ("CreateQueue", "ListQueues", "FooBar"):
        status, text = _get(url, {"Action": action, "QueueName": "another"})
        assert status == 400 and "<Code>InvalidAction</Code>" in text
        assert f"The action {action} is not valid for this endpoint." in text
    status, text = _get(url, {"Action": "SendMessage"})
    assert status == 400 and "MessageBody" in text


def test_an_unsigned_request_reaches_a_broker_in_another_region() -> None:
    """moto takes us-east-1 for a request that names no region; the server names the broker's."""
    with SimulatedBroker(region="eu-west-1") as broker, broker.serve() as server:
        url = http_client(server, "sqs").create_queue(QueueName="in-ireland")["QueueUrl"]
        assert _get(url, {"Action": "SendMessage", "MessageBody": "dia duit"})[0] == 200
        assert [m.body for m in broker.peek("in-ireland")] == ["dia duit"]
