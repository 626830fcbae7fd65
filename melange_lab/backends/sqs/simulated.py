"""The simulated broker's backend: what it does beyond ``SQSBackend`` because it runs inside
the process, on moto, beside the broker that owns it (as dramatiq's ``StubBroker`` sits
beside ``Broker``).

- It refuses every request once its broker stopped or a newer broker replaced it, before the
  request leaves the process (it would reach the new broker's state, or AWS).
- Calls that change a queue's messages run one at a time (``OneWriteAtATime``).
- On a manual clock a long poll waits in real time: broker time would never reach its end.
- A topic publish steps around subscribed queues that no longer exist, as SNS does; moto
  would fail the whole publish half-way.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import TYPE_CHECKING, Any

from melange_lab import moto_internals
from melange_lab.backends.sqs.backend import SQSBackend
from melange_lab.backends.sqs.subscriptions import Subscription, subscription_attributes
from melange_lab.errors import QueueNotFound
from melange_lab.models import QueueWrapper, TopicWrapper

if TYPE_CHECKING:  # the broker imports this module to make its backend
    from melange_lab.broker import SimulatedBroker

POLL_PAUSE = 0.05  # real seconds between the short polls that stand in for a long poll


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

    def __init__(
        self,
        broker: SimulatedBroker,
        sqs_client: Any,
        sns_client: Any,
        *,
        max_receive_count: int = 4,
    ) -> None:
        self._broker = broker
        self._fan_out_lock = threading.Lock()
        lock = threading.RLock()
        super().__init__(
            OneWriteAtATime(sqs_client, lock),
            OneWriteAtATime(sns_client, lock),
            events=broker.events,
            wait_time_seconds=0,
            max_receive_count=max_receive_count,
        )

    def _refuse_if_stopped(self, **_: Any) -> None:
        self._broker._ensure_running()

    def _receive(self, queue: QueueWrapper, request: dict[str, Any]) -> list[dict[str, Any]]:
        """On a broker clock that stands still (manual mode) a long poll waits its seconds in
        real time instead, since broker time would never reach its end."""
        wait = int(request["WaitTimeSeconds"])
        if not wait or self._broker.clock.mode != "manual":
            return super()._receive(queue, request)
        deadline = time.monotonic() + wait
        short = {**request, "WaitTimeSeconds": 0}
        while True:
            received = super()._receive(queue, short)
            if received or time.monotonic() >= deadline:
                return received
            time.sleep(min(POLL_PAUSE, max(0.0, deadline - time.monotonic())))

    def _queue_exists(self, name: str) -> bool:
        try:
            moto_internals.dead_letter_target(self._broker.account_id, self._broker.region, name)
        except QueueNotFound:
            return False
        return True

    def _publish(self, topic: TopicWrapper, request: dict[str, Any]) -> tuple[str, set[str]]:
        """Publishes; returns the message id and the subscribed queues that no longer exist.

        SNS delivers to every subscription it can and keeps the others. moto instead fails the
        whole publish at the first missing queue, after delivering to some subscriptions and
        not others; so the simulated broker (which can tell cheaply, in process, whether a queue
        exists) steps around them: it unsubscribes them for this one publish and subscribes
        them again right after (same filter policy and raw delivery).
        """
        missing = [s for s in self.subscriptions_of(topic) if not self._queue_exists(s.queue)]
        if not missing:
            return super()._publish(topic, request)
        with self._fan_out_lock:
            for subscription in missing:
                self._cache.queues.pop(subscription.queue, None)
                with self._call("Unsubscribe", topic=topic.name):
                    self._sns.unsubscribe(SubscriptionArn=subscription.arn)
            try:
                message_id, _ = super()._publish(topic, request)
            finally:
                self._subscribe_again(topic, missing)
        return message_id, {s.queue for s in missing}

    def _subscribe_again(self, topic: TopicWrapper, subscriptions: list[Subscription]) -> None:
        queue_arn_prefix = topic.arn.replace(":sns:", ":sqs:", 1).rsplit(":", 1)[0]
        renewed = {s.arn: s for s in self.subscriptions_of(topic)}
        for subscription in subscriptions:
            attributes = subscription_attributes(
                subscription.filter_policy, subscription.raw_message_delivery
            )
            with self._call("Subscribe", topic=topic.name):
                arn = self._sns.subscribe(
                    TopicArn=topic.arn,
                    Protocol="sqs",
                    Endpoint=f"{queue_arn_prefix}:{subscription.queue}",
                    Attributes=attributes,
                    ReturnSubscriptionArn=True,
                )["SubscriptionArn"]
            renewed.pop(subscription.arn, None)
            renewed[arn] = dataclasses.replace(subscription, arn=arn)
        self._cache.subscriptions[topic.arn] = list(renewed.values())
