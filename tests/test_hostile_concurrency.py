"""moto's message list under concurrent calls: deletes and sends landing at the same moment
all take effect (the lab's fast delete holds the queue's ``_messages_lock``, which moto's
add_message takes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import moto.sqs.models as sqs_models
import pytest
from moto.sqs.models import Message as MotoMessage

from melange_lab import SimulatedBroker

ACCOUNT = "123456789012"


@pytest.fixture
def broker() -> Iterator[SimulatedBroker]:
    simulated = SimulatedBroker()
    try:
        yield simulated
    finally:
        simulated.stop()


def test_two_deletes_at_the_same_moment_both_take_effect(
    broker: SimulatedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = broker.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    for body in ("first", "second", "third"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    first, second, _ = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60
    )["Messages"]
    others: list[threading.Thread] = []
    stock = MotoMessage.had_receipt_handle

    def delete_meanwhile(self: MotoMessage, receipt_handle: str) -> Any:
        # the first delete has read the message list: another thread deletes now
        if not others:
            other = threading.Thread(
                target=lambda: sqs.delete_message(
                    QueueUrl=url, ReceiptHandle=second["ReceiptHandle"]
                )
            )
            others.append(other)
            other.start()
            other.join(0.5)  # done at once unless the first delete holds the queue's lock
        return stock(self, receipt_handle)

    monkeypatch.setattr(MotoMessage, "had_receipt_handle", delete_meanwhile)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    others[0].join(5)
    monkeypatch.undo()

    queue = sqs_models.sqs_backends[ACCOUNT][broker.region].queues["jobs"]
    assert [m.body for m in queue._messages] == ["third"]  # 'second' did not come back


def test_plain_clients_sending_and_deleting_from_many_threads_keep_every_message(
    broker: SimulatedBroker,
) -> None:
    sqs = broker.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sent = [f"m{i}" for i in range(200)]
    deleted: list[str] = []
    lock = threading.Lock()
    done_sending = threading.Event()

    def send(part: list[str]) -> None:
        for body in part:
            sqs.send_message(QueueUrl=url, MessageBody=body)

    def consume() -> None:
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=120
            ).get("Messages", [])
            if not messages and done_sending.is_set():
                return
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                with lock:
                    deleted.append(message["Body"])

    senders = [threading.Thread(target=send, args=(sent[i::4],)) for i in range(4)]
    consumers = [threading.Thread(target=consume) for _ in range(4)]
    for thread in senders + consumers:
        thread.start()
    for thread in senders:
        thread.join()
    done_sending.set()
    for thread in consumers:  # a bound for a stuck consumer, not a measure: a busy CI is slow
        thread.join(600)
    assert not any(thread.is_alive() for thread in consumers)  # the books are closed

    queue = sqs_models.sqs_backends[ACCOUNT][broker.region].queues["jobs"]
    left = [m.body for m in queue._messages]
    assert sorted(deleted + left) == sorted(sent)
    assert len(set(deleted)) == len(deleted)
