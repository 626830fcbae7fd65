"""The simulated broker's backend: what it does beyond ``SQSBackend`` because it runs inside
the process, on moto, beside the broker that owns it (as dramatiq's ``StubBroker`` sits
beside ``Broker``).

- It reports nothing itself: the broker reports every change where its state changes, for
  every client alike (``moto_internals.event_hooks``).
- It refuses every request once its broker stopped or a newer broker replaced it, before the
  request leaves the process (it would reach the new broker's state, or AWS).
- Calls that change a queue's messages run one at a time (``OneWriteAtATime``).
- A received message names the id it was published under, as the broker knows it.
- A redrive moves the dead letters inside the broker, as SQS's StartMessageMoveTask does.

(A long poll on a manual clock, and a topic delivering around a deleted queue, are the
broker's own behaviour, in ``moto_internals``, so plain boto3 gets them too.)
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from melange_lab import moto_internals, wire
from melange_lab.backends.sqs.backend import SQSBackend
from melange_lab.backends.sqs.checks import check_redrive
from melange_lab.events import Event, EventKind
from melange_lab.models import Message, QueueWrapper

if TYPE_CHECKING:  # the broker imports this module to make its backend
    from melange_lab.broker import SimulatedBroker


_QUEUE_CHANGES = (EventKind.QUEUE_DECLARED, EventKind.QUEUE_DELETED)


class OneWriteAtATime:
    """A boto3 client whose calls that change a queue's messages run one at a time.

    The lab's moto layer now deletes under the queue's ``_messages_lock`` (as sends add), but
    moto 5.2's receive still checks and marks a message visible-then-received without any
    lock, so two receives at the same moment can hand out the same message (seen: 2 of 400
    with four plain-boto3 consumers), and its dead-letter move edits the list in place. The
    simulated broker's backend therefore still serializes its own such calls; a long poll is
    left out (it would block every publisher while it waits).
    """

    _CHANGES = frozenset(
        {
            "send_message",
            "send_message_batch",
            "delete_message",
            "delete_message_batch",
            "receive_message",
            "publish",
            "publish_batch",
        }
    )

    def __init__(self, client: Any, lock: threading.RLock) -> None:
        self._client = client
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in self._CHANGES:
            return attribute

        def one_at_a_time(**request: Any) -> Any:
            if request.get("WaitTimeSeconds"):
                return attribute(**request)
            with self._lock:
                return attribute(**request)

        return one_at_a_time


class SimulatedSQSBackend(SQSBackend):
    """``broker.backend``: an ``SQSBackend`` on the broker's own boto3 clients, with its
    events in ``broker.events`` and receives that never wait (``wait_time_seconds=0``)."""

    reports_calls = False  # the broker reports every change itself

    def __init__(
        self,
        broker: SimulatedBroker,
        sqs_client: Any,
        sns_client: Any,
        *,
        max_receive_count: int = 4,
    ) -> None:
        self._broker = broker
        lock = threading.RLock()
        super().__init__(
            OneWriteAtATime(sqs_client, lock),
            OneWriteAtATime(sns_client, lock),
            events=broker.events,
            wait_time_seconds=0,
            max_receive_count=max_receive_count,
        )
        broker.events.subscribe(self._forget_what_changed)

    def _refuse_if_stopped(self, **_: Any) -> None:
        self._broker._ensure_running()

    def _forget_what_changed(self, event: Event) -> None:
        """The broker says a queue, topic or subscription changed (whoever changed it, e.g.
        plain boto3 or another process): what the cache remembered of it is dropped."""
        if event.kind in _QUEUE_CHANGES and event.queue:
            self._cache.forget_queue(event.queue)
        topic = self._cache.topics.get(event.topic) if event.topic else None
        if topic is None:
            return
        if event.kind is EventKind.TOPIC_DELETED:
            self._cache.forget_topic(topic)
        elif event.kind in (EventKind.SUBSCRIBED, EventKind.UNSUBSCRIBED):
            self._cache.subscriptions.pop(topic.arn, None)

    def retrieve_messages(
        self,
        queue: QueueWrapper,
        max_messages: int | None = None,
        wait_time_seconds: float | None = None,
        visibility_timeout: int | None = None,
        **kwargs: Any,
    ) -> list[Message]:
        """As ``SQSBackend``'s, each message also naming the id it was published under, as
        the broker knows it (also for a raw delivery or a redriven copy, which carry none)."""
        messages = super().retrieve_messages(
            queue, max_messages, wait_time_seconds, visibility_timeout, **kwargs
        )
        for message in messages:
            handle = message.metadata.get("ReceiptHandle")
            known = moto_internals.published_id_for_receipt(handle) if handle else None
            if known is not None:
                message.metadata[wire.PUBLISHED_ID] = known
        return messages

    def redrive(
        self, dead_letter_queue: QueueWrapper, to_queue: QueueWrapper | None = None
    ) -> list[str]:
        """Moves the dead letters inside the broker (SQS's StartMessageMoveTask, done at once),
        so every move is one ``redriven`` event, whoever redrives."""
        check_redrive(dead_letter_queue, to_queue)
        target = to_queue if to_queue is not None else self._redrive_source(dead_letter_queue)
        self._refuse_if_stopped()
        return moto_internals.redrive(
            dead_letter_queue.attributes["QueueArn"], target.attributes["QueueArn"]
        )
