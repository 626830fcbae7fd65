"""melange_lab.moto_internals: peeking, DLQ moves, the broker clock, fast counts."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import moto.sns.models as sns_models
import moto.sqs.models as sqs_models
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from moto import mock_aws
from moto.moto_api._internal import mock_random
from moto.sns.models import Subscription
from moto.sqs.models import Queue, SQSBackend

from melange_lab import moto_internals as mi
from melange_lab.events import Event, EventKind, EventLog

ACCOUNT = "123456789012"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
START = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def sqs() -> Iterator[Any]:
    config: Any = {"core": {"mock_credentials": False, "reset_boto3_session": False}}
    with mock_aws(config=config):
        yield boto3.client("sqs", region_name=REGION, **CREDENTIALS)
    mi.uninstall_clock()
    mi.uninstall_fast_counts()
    mi.uninstall_fast_signing()
    mi.uninstall_fifo_group_fix()
    mi.uninstall_aws_fidelity()
    mi.uninstall_delivery_latency()


@pytest.fixture
def clock(sqs: Any) -> FakeClock:
    fake = FakeClock()
    mi.install_clock(fake)
    return fake


def make_queue(sqs: Any, name: str, **attributes: str) -> str:
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url


def with_dead_letter_queue(sqs: Any, name: str, max_receives: int) -> str:
    dlq = make_queue(sqs, f"{name}-dlq")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    policy = {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": max_receives}
    return make_queue(sqs, name, RedrivePolicy=json.dumps(policy), VisibilityTimeout="30")


def receive(
    sqs: Any, url: str, visibility: int | None = None, count: int = 10
) -> list[dict[str, Any]]:
    extra = {} if visibility is None else {"VisibilityTimeout": visibility}
    response = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=count, AttributeNames=["All"], **extra
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


# --- check_supported ------------------------------------------------------------------------


def test_check_supported_passes_on_the_installed_moto() -> None:
    mi.check_supported()


@pytest.mark.parametrize("version", ["5.2.0", "5.3.0", "6.0.1", "4.2.14"])
def test_check_supported_names_version_range_and_fix_outside_the_range(version: str) -> None:
    with pytest.raises(mi.UnsupportedMotoVersion) as raised:
        mi.check_supported(version)
    message = str(raised.value)
    assert f"moto {version} is installed" in message
    assert mi.SUPPORTED_MOTO in message
    assert "pip install 'moto[sns,sqs]>=5.2.1,<5.3'" in message


def test_check_supported_fails_loudly_when_patched_moto_code_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    changed = dict(mi._FINGERPRINTS, **{"Queue.delete_message": "0" * 16})
    monkeypatch.setattr(mi.versions, "_FINGERPRINTS", changed)
    with pytest.raises(mi.UnsupportedMotoVersion, match=r"changed code .*Queue\.delete_message"):
        mi.check_supported()


def test_check_supported_still_fingerprints_stock_moto_while_patches_are_installed(
    sqs: Any,
) -> None:
    mi.install_fast_counts()
    mi.install_fast_signing()
    mi.install_clock(FakeClock())
    mi.check_supported()


def test_every_moto_object_a_fix_replaces_is_fingerprinted_or_checked(sqs: Any) -> None:
    mi.install_fifo_group_fix()
    mi.install_fast_counts()
    mi.install_fast_signing()
    mi.install_clock(FakeClock())
    mi.install_aws_fidelity()
    mi.install_broker_events(EventLog(lambda: 0.0))
    try:
        assert sorted(mi._features) == sorted(mi._FEATURE_ORDER)  # every fix is installed
        patched = {(owner, name) for layers in mi._features.values() for owner, name, _ in layers}
    finally:
        mi.uninstall_broker_events()
    for owner, name in patched:
        if isinstance(owner, type):
            assert f"{owner.__name__}.{name}" in mi._FINGERPRINTS
        else:
            assert name in mi._PATCHED_GLOBALS[owner]


def test_check_supported_fails_loudly_when_moto_stops_calling_a_replaced_global(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sns_models, "iso_8601_datetime_with_milliseconds", lambda: "renamed")
    with pytest.raises(mi.UnsupportedMotoVersion, match=r"moto\.sns\.models no longer calls"):
        mi.check_supported()


def test_a_simulated_broker_refuses_to_start_on_moto_code_it_does_not_know(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from melange_lab import SimulatedBroker

    changed = dict(mi._FINGERPRINTS, **{"Subscription.get_post_data": "0" * 16})
    monkeypatch.setattr(mi.versions, "_FINGERPRINTS", changed)
    with pytest.raises(mi.UnsupportedMotoVersion, match=r"Subscription\.get_post_data.*Fix:"):
        SimulatedBroker()
    assert mi._features == {}


# --- peeking --------------------------------------------------------------------------------


def test_peek_does_not_change_receive_count_visibility_or_receipt_handles(
    sqs: Any, clock: FakeClock
) -> None:
    url = make_queue(sqs, "work")
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="two")
    first = receive(sqs, url, visibility=30, count=1)[0]
    moto_queue: Queue = sqs_models.sqs_backends[ACCOUNT][REGION].queues["work"]
    before = [
        (m.approximate_receive_count, m.visible_at, m.all_receipt_handles)
        for m in moto_queue._messages
    ]

    for _ in range(3):
        mi.peek_messages(ACCOUNT, REGION, "work")

    after = [
        (m.approximate_receive_count, m.visible_at, m.all_receipt_handles)
        for m in moto_queue._messages
    ]
    assert after == before
    assert [m["Body"] for m in receive(sqs, url)] == ["two"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])


def test_peek_shows_visible_in_flight_and_delayed_messages_in_queue_order(
    sqs: Any, clock: FakeClock
) -> None:
    url = make_queue(sqs, "work")
    attributes = {"manifest": {"DataType": "String", "StringValue": "orders"}}
    sqs.send_message(QueueUrl=url, MessageBody="taken", MessageAttributes=attributes)
    sqs.send_message(QueueUrl=url, MessageBody="waiting")
    receive(sqs, url, visibility=30)  # takes both
    clock.advance(1)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.send_message(QueueUrl=url, MessageBody="ready")

    peeked = mi.peek_messages(ACCOUNT, REGION, "work")

    assert [(m.body, m.state) for m in peeked] == [
        ("taken", "in_flight"),
        ("waiting", "in_flight"),
        ("later", "delayed"),
        ("ready", "visible"),
    ]
    taken, _, later, ready = peeked
    assert taken.message_attributes == attributes
    assert taken.receive_count == 1
    assert taken.sent_at == pytest.approx(START, abs=0.001)
    assert taken.visible_at == pytest.approx(START + 30, abs=0.001)
    assert later.delayed_until == pytest.approx(START + 61, abs=0.001)
    assert (ready.visible_at, ready.delayed_until, ready.receive_count) == (None, None, 0)


def test_peek_of_a_missing_queue_names_it() -> None:
    config: Any = {"core": {"mock_credentials": False, "reset_boto3_session": False}}
    with mock_aws(config=config), pytest.raises(mi.QueueNotFound, match="'nowhere'"):
        mi.peek_messages(ACCOUNT, REGION, "nowhere")


@pytest.mark.parametrize("fast", [False, True], ids=["stock", "fast_counts"])
def test_queue_counts_match_get_queue_attributes(sqs: Any, clock: FakeClock, fast: bool) -> None:
    if fast:
        mi.install_fast_counts()
    url = make_queue(sqs, "work")
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="d", DelaySeconds=5)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)

    for _ in range(3):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        expected = tuple(
            int(attributes[name])
            for name in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )
        assert mi.queue_counts(ACCOUNT, REGION, "work") == expected
        clock.advance(20)
    assert mi.queue_counts(ACCOUNT, REGION, "work") == (4, 0, 0)


def test_dead_letter_target_reads_the_redrive_policy(sqs: Any) -> None:
    with_dead_letter_queue(sqs, "work", max_receives=3)
    make_queue(sqs, "plain")
    assert mi.dead_letter_target(ACCOUNT, REGION, "work") == ("work-dlq", 3)
    assert mi.dead_letter_target(ACCOUNT, REGION, "plain") is None


# --- dead-letter moves ----------------------------------------------------------------------


@pytest.fixture
def reported(clock: FakeClock) -> Iterator[EventLog]:
    """The broker's events of the moto underneath, on the test's clock."""
    events = EventLog(clock)
    mi.install_broker_events(events)
    yield events
    mi.uninstall_broker_events()


def test_a_dead_letter_move_is_reported_with_the_receive_count(
    sqs: Any, clock: FakeClock, reported: EventLog
) -> None:
    url = with_dead_letter_queue(sqs, "work", max_receives=2)
    message_id = sqs.send_message(QueueUrl=url, MessageBody="poison")["MessageId"]
    for _ in range(2):
        assert receive(sqs, url)
        clock.advance(31)
        assert reported.of_kind(EventKind.DEAD_LETTERED) == []
    assert receive(sqs, url) == []

    (moved,) = reported.of_kind(EventKind.DEAD_LETTERED)
    assert (moved.queue, moved.message_id, moved.published_id) == ("work", message_id, message_id)
    assert moved.detail["dead_letter_queue"] == "work-dlq" and moved.detail["receive_count"] == 2
    assert [m.body for m in mi.peek_messages(ACCOUNT, REGION, "work-dlq")] == ["poison"]


def test_a_failing_observer_of_a_dead_letter_move_is_logged_and_never_breaks_the_receive(
    sqs: Any, clock: FakeClock, reported: EventLog, caplog: pytest.LogCaptureFixture
) -> None:
    url = with_dead_letter_queue(sqs, "work", max_receives=1)
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.send_message(QueueUrl=url, MessageBody="fine")
    receive(sqs, url)
    clock.advance(31)
    heard: list[str] = []

    def broken(event: Event) -> None:
        raise ValueError("observer bug")

    reported.subscribe(broken)
    reported.subscribe(
        lambda e: heard.append(str(e.message_id)) if e.kind is EventKind.DEAD_LETTERED else None
    )
    with caplog.at_level(logging.ERROR, logger="melange_lab.events"):
        assert receive(sqs, url) == []

    assert len(heard) == 2
    assert "observer bug" in caplog.text
    assert mi.queue_counts(ACCOUNT, REGION, "work-dlq") == (2, 0, 0)


# --- the broker clock -----------------------------------------------------------------------


def test_advancing_the_clock_makes_an_in_flight_message_visible_again(
    sqs: Any, clock: FakeClock
) -> None:
    url = make_queue(sqs, "work")
    sqs.send_message(QueueUrl=url, MessageBody="job")
    assert len(receive(sqs, url, visibility=30)) == 1
    clock.advance(29)
    assert receive(sqs, url) == []
    clock.advance(2)
    again = receive(sqs, url)
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [
        ("job", "2")
    ]


def test_advancing_the_clock_releases_a_delayed_message_and_leaves_time_time_alone(
    sqs: Any, clock: FakeClock
) -> None:
    url = make_queue(sqs, "work")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    assert receive(sqs, url) == []
    clock.advance(601)
    kernel_before = time.time()
    received = receive(sqs, url)
    assert [m["Body"] for m in received] == ["later"]
    assert int(received[0]["Attributes"]["SentTimestamp"]) == int(START * 1000)
    assert abs(time.time() - kernel_before) < 60  # the kernel clock did not jump by 601 s


def test_sns_notifications_carry_the_broker_clock_timestamp(sqs: Any, clock: FakeClock) -> None:
    sns = boto3.client("sns", region_name=REGION, **CREDENTIALS)
    topic = sns.create_topic(Name="events")["TopicArn"]
    url = make_queue(sqs, "inbox")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    sns.publish(TopicArn=topic, Message="hello")
    envelope = json.loads(receive(sqs, url)[0]["Body"])
    assert envelope["Timestamp"] == "2023-11-14T22:13:20.000Z"


def test_uninstalling_puts_moto_own_objects_back(sqs: Any) -> None:
    patched = [
        (sqs_models, "unix_time"),
        (sqs_models, "unix_time_millis"),
        (sqs_models, "camelcase_to_underscores"),
        (sns_models, "unix_time"),
        (sns_models, "iso_8601_datetime_with_milliseconds"),
        (Queue, "attributes"),
        (Queue, "messages"),
        (Queue, "add_message"),
        (Queue, "delete_message"),
        (Queue, "approximate_number_of_messages"),
        (SQSBackend, "send_message"),
        (SQSBackend, "receive_message"),
        (SQSBackend, "_validate_message"),
        (SQSBackend, "is_message_valid_based_on_retention_period"),
        (Subscription, "get_post_data"),
    ]
    stock = [vars(owner)[name] for owner, name in patched]
    mi.install_fast_counts()
    mi.install_fast_counts()  # idempotent
    mi.install_fast_signing()
    mi.install_fast_signing()
    mi.install_broker_events(EventLog(FakeClock()))
    mi.install_clock(FakeClock())
    assert all(vars(o)[n] is not s for (o, n), s in zip(patched, stock, strict=True))

    mi.uninstall_fast_counts()  # in a different order than installed
    mi.uninstall_broker_events()
    mi.uninstall_fast_signing()
    mi.uninstall_clock()

    assert all(vars(o)[n] is s for (o, n), s in zip(patched, stock, strict=True))
    assert mi._originals == {}


# --- fast counts keep moto's semantics ------------------------------------------------------


def standard_scenario(sqs: Any, clock: FakeClock) -> list[Any]:
    """Visibility, delay, delete by an old receipt handle, DLQ after two receives."""
    seen: list[Any] = []
    url = with_dead_letter_queue(sqs, "work", max_receives=2)

    def look(label: str) -> None:
        seen.append((label, mi.queue_counts(ACCOUNT, REGION, "work")))
        all_attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        seen.append((label, all_attributes["Attributes"]))
        peeked = mi.peek_messages(ACCOUNT, REGION, "work")
        seen.append((label, [(m.body, m.state, m.receive_count) for m in peeked]))

    def take(label: str) -> list[dict[str, Any]]:
        messages = receive(sqs, url)
        seen.append((label, [(m["Body"], m["Attributes"]) for m in messages]))
        return messages

    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="c", DelaySeconds=10)
    look("sent")
    first = take("first receive")
    take("all in flight")
    look("in flight")
    clock.advance(31)
    second = take("visible again")
    old_handle_of_b = next(m["ReceiptHandle"] for m in first if m["Body"] == "b")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old_handle_of_b)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old_handle_of_b)  # twice is fine
    look("b deleted")
    clock.advance(31)
    take("a moved to DLQ, c delivered")
    seen.append(("dlq", [m.body for m in mi.peek_messages(ACCOUNT, REGION, "work-dlq")]))
    look("end")
    seen.append(("second", [m["Body"] for m in second]))
    return seen


def fifo_scenario(sqs: Any, clock: FakeClock) -> list[Any]:
    """Dedup by content and by id inside and after the window, per-group order and locking."""
    seen: list[Any] = []
    url = make_queue(sqs, "orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")

    def send(body: str, group: str, dedup: str | None = None) -> None:
        extra = {} if dedup is None else {"MessageDeduplicationId": dedup}
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, **extra)

    def take(label: str) -> list[dict[str, Any]]:
        messages = receive(sqs, url)
        seen.append((label, [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in messages]))
        seen.append((label, [m.body for m in mi.peek_messages(ACCOUNT, REGION, "orders.fifo")]))
        return messages

    send("x", "g1")
    send("x", "g1")  # same content: dropped
    send("y", "g1", dedup="d1")
    send("z", "g1", dedup="d1")  # same id: dropped
    send("p", "g2")
    send("q", "g2")
    clock.advance(1)
    first = take("first")
    take("groups locked")
    clock.advance(301)  # past the five-minute dedup window
    send("x", "g3")
    send("z", "g3", dedup="d1")
    seen.append(("counts", mi.queue_counts(ACCOUNT, REGION, "orders.fifo")))
    for message in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    take("after delete")
    seen.append(("attributes", sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])))
    return seen


def fifo_dedup_edges_scenario(sqs: Any, clock: FakeClock) -> list[Any]:
    """Dedup ids of deleted, dead-lettered and purged messages, and a mostly stale index."""
    seen: list[Any] = []
    dlq = make_queue(sqs, "orders-dlq.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": 1})
    url = make_queue(
        sqs, "orders.fifo", FifoQueue="true", RedrivePolicy=policy, VisibilityTimeout="10"
    )

    def send(queue_url: str, body: str, dedup: str) -> None:
        sqs.send_message(
            QueueUrl=queue_url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=dedup
        )

    def look(label: str) -> None:
        for name in ("orders.fifo", "orders-dlq.fifo"):
            seen.append((label, name, [m.body for m in mi.peek_messages(ACCOUNT, REGION, name)]))

    send(url, "deleted", "d1")
    (taken,) = receive(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=taken["ReceiptHandle"])
    send(url, "after delete", "d1")  # stock: only queued messages count as duplicates
    send(url, "dropped", "d1")
    look("deleted")
    receive(sqs, url)
    clock.advance(11)
    receive(sqs, url)  # moves "after delete" to the DLQ
    send(url, "after dead letter", "d1")
    send(dlq, "dlq duplicate", "d1")
    look("dead-lettered")
    sqs.purge_queue(QueueUrl=url)
    send(url, "after purge", "d1")
    for i in range(200):  # deletes and purges leave the index mostly stale
        send(url, f"m{i}", f"id{i}")
    clock.advance(61)  # one purge a minute
    sqs.purge_queue(QueueUrl=url)
    send(url, "again", "id5")
    send(url, "again twice", "id5")
    look("stale index")
    return seen


def verified(envelope: dict[str, Any]) -> bool:
    """Whether the envelope's Signature verifies against the certificate at SigningCertURL."""
    name = envelope["SigningCertURL"].rsplit("/", 1)[-1]
    pem = sns_models.sns_backends[ACCOUNT][REGION]._message_public_keys[name]
    public_key = x509.load_pem_x509_certificate(pem).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    signed = "".join(
        f"{field}\n{envelope[field]}\n"
        for field in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if field in envelope
    )
    signature = base64.b64decode(envelope["Signature"])
    algorithm = hashes.SHA256() if envelope["SignatureVersion"] == "2" else hashes.SHA1()
    try:
        public_key.verify(signature, signed.encode(), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


def sns_scenario(sqs: Any, clock: FakeClock) -> list[Any]:
    """Envelope and raw delivery, subject, attributes, a filter policy, two deliveries a publish."""
    seen: list[Any] = []
    sns = boto3.client("sns", region_name=REGION, **CREDENTIALS)
    topic = sns.create_topic(Name="events")["TopicArn"]
    urls = {name: make_queue(sqs, name) for name in ("wrapped", "raw", "picky")}
    for name, url in urls.items():
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        attributes = {
            "raw": {"RawMessageDelivery": "true"},
            "picky": {"FilterPolicy": json.dumps({"kind": ["paid"]})},
        }.get(name, {})
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"], Attributes=attributes
        )
    paid = {"kind": {"DataType": "String", "StringValue": "paid"}}
    seen.append(("id", sns.publish(TopicArn=topic, Message="one")["MessageId"]))
    clock.advance(1.5)
    published = sns.publish(TopicArn=topic, Message="two", Subject="s", MessageAttributes=paid)
    seen.append(("id", published["MessageId"]))
    for name, url in urls.items():
        for message in receive(sqs, url):
            if name == "raw":
                seen.append((name, message["Body"], message.get("MessageAttributes")))
                continue
            envelope = json.loads(message["Body"])
            seen.append((name, "verified", verified(envelope)))
            envelope.pop("Signature")
            envelope.pop("SigningCertURL")
            envelope.pop("SignatureVersion")  # stock always says "2"; SNS's default is "1"
            seen.append((name, envelope))
    return seen


def run_scenario(scenario: Any, fast: bool) -> list[Any]:
    config: Any = {"core": {"mock_credentials": False, "reset_boto3_session": False}}
    with mock_aws(config=config):
        mock_random.seed(7)  # the same ids with and without the fixes
        clock = FakeClock()
        mi.install_clock(clock)
        if fast:
            mi.install_fast_counts()
            mi.install_fast_signing()
        try:
            sqs = boto3.client("sqs", region_name=REGION, **CREDENTIALS)
            seen: list[Any] = scenario(sqs, clock)
        finally:
            mi.uninstall_fast_counts()
            mi.uninstall_fast_signing()
            mi.uninstall_clock()
    for entry in seen:  # response metadata holds random request ids
        if isinstance(entry[1], dict):
            entry[1].pop("ResponseMetadata", None)
    return seen


@pytest.mark.parametrize(
    "scenario",
    [standard_scenario, fifo_scenario, fifo_dedup_edges_scenario, sns_scenario],
    ids=["standard", "fifo", "fifo_dedup_edges", "sns"],
)
def test_the_fixes_give_the_same_results_as_stock_moto(scenario: Any) -> None:
    stock = run_scenario(scenario, fast=False)
    fast = run_scenario(scenario, fast=True)
    # stock signs without the Subject, which SNS signs too: only the fixed signatures verify
    assert without_verification(fast) == without_verification(stock)


def without_verification(seen: list[Any]) -> list[Any]:
    return [entry for entry in seen if len(entry) < 2 or entry[1] != "verified"]


def test_the_scenarios_exercise_what_they_claim() -> None:
    standard = dict(run_scenario(standard_scenario, fast=True))
    assert standard["dlq"] == ["a"]
    assert standard["second"] == ["a", "b", "c"]  # c's 10 s delay is over too
    assert [body for body, _ in standard["a moved to DLQ, c delivered"]] == ["c"]
    fifo = run_scenario(fifo_scenario, fast=True)
    first_bodies = [body for body, _ in fifo[0][1]]
    assert first_bodies == ["x", "y", "p", "q"]
    assert fifo[2][1] == []  # both groups locked while in flight
    # x and z were accepted again after the window; the four in flight are visible again
    assert dict(fifo)["counts"] == (6, 0, 0)
    edges = {
        (label, queue): bodies
        for label, queue, bodies in run_scenario(fifo_dedup_edges_scenario, fast=True)
    }
    assert edges["deleted", "orders.fifo"] == ["after delete"]
    assert edges["dead-lettered", "orders.fifo"] == ["after dead letter"]
    assert edges["dead-lettered", "orders-dlq.fifo"] == ["after delete"]
    assert edges["stale index", "orders.fifo"] == ["again"]
    sns = run_scenario(sns_scenario, fast=True)
    envelopes = [(entry[0], entry[1]) for entry in sns if isinstance(entry[1], dict)]
    assert [(queue, e["Message"], e.get("Subject")) for queue, e in envelopes] == [
        ("wrapped", "one", None),
        ("wrapped", "two", "s"),
        ("picky", "two", "s"),  # only the paid one passed the filter
    ]
    assert [entry[1] for entry in sns if entry[0] == "raw"] == ["one", "two"]
    assert [entry[2] for entry in sns if entry[1] == "verified"] == [True, True, True]


# --- SNS signing --------------------------------------------------------------------------


def subscribed_topic(sqs: Any, queues: int) -> tuple[Any, str, list[str]]:
    sns = boto3.client("sns", region_name=REGION, **CREDENTIALS)
    topic = sns.create_topic(Name="fanout")["TopicArn"]
    urls = [make_queue(sqs, f"q{i}") for i in range(queues)]
    for url in urls:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    return sns, topic, urls


def test_fast_signing_stores_one_certificate_however_many_deliveries(sqs: Any) -> None:
    mi.install_fast_signing()
    sns, topic, urls = subscribed_topic(sqs, queues=3)
    for body in ("a", "b", "c", "d"):
        sns.publish(TopicArn=topic, Message=body)
    public_keys = sns_models.sns_backends[ACCOUNT][REGION]._message_public_keys
    assert len(public_keys) == 1
    envelopes = [json.loads(m["Body"]) for url in urls for m in receive(sqs, url)]
    assert len(envelopes) == 12
    assert len({e["SigningCertURL"] for e in envelopes}) == 1
    assert all(verified(e) for e in envelopes)


def test_fast_signing_puts_the_certificate_back_after_a_reset_emptied_the_store(
    sqs: Any,
) -> None:
    mi.install_fast_signing()
    sns, topic, urls = subscribed_topic(sqs, queues=1)
    sns.publish(TopicArn=topic, Message="before")
    sns_models.sns_backends[ACCOUNT][REGION]._message_public_keys.clear()
    sns.publish(TopicArn=topic, Message="after")
    assert [verified(json.loads(m["Body"])) for m in receive(sqs, urls[0])] == [True, True]


def test_each_fast_signing_installation_signs_with_a_new_key(sqs: Any) -> None:
    mi.install_fast_signing()
    sns, topic, urls = subscribed_topic(sqs, queues=1)
    sns.publish(TopicArn=topic, Message="first")
    mi.uninstall_fast_signing()
    mi.install_fast_signing()
    sns.publish(TopicArn=topic, Message="second")
    envelopes = [json.loads(m["Body"]) for m in receive(sqs, urls[0])]
    assert len({e["SigningCertURL"] for e in envelopes}) == 2
    assert all(verified(e) for e in envelopes)


def test_fifo_dedup_counts_messages_queued_before_the_fix_was_installed(sqs: Any) -> None:
    url = make_queue(sqs, "orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g")
    mi.install_fast_counts()
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g")
    mi.uninstall_fast_counts()
    sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g")
    mi.install_fast_counts()
    sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g")
    assert [m.body for m in mi.peek_messages(ACCOUNT, REGION, "orders.fifo")] == [
        "first",
        "second",
    ]
