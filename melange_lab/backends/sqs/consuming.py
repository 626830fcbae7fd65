"""Receiving, acknowledging and releasing messages; a drain that ends once the queue is empty."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from melange_lab import limits, wire
from melange_lab.arguments import number, whole_number
from melange_lab.backends.sqs.checks import check_queue, received_metadata
from melange_lab.backends.sqs.lookups import Lookups
from melange_lab.backends.sqs.requests import SQS_BATCH_SIZE, receive_request
from melange_lab.models import Message, QueueWrapper
from melange_lab.names import name_from_url

DECODE_ERROR = "decode_error"  # in a received message's metadata: why it could not be read


def decode_received(entry: dict[str, Any], queue_url: str) -> Message:
    """The message, or, when its body or attributes cannot be read (a poison message), the
    raw body marked with why, so only this message fails and its batch goes on."""
    try:
        return wire.decode(entry, queue_url)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as error:
        reason = f"{type(error).__name__}: {str(error)[:200]}"
        return Message(
            message_id=entry.get("MessageId"),
            content=entry.get("Body", ""),
            metadata={"queue_url": queue_url, **entry, DECODE_ERROR: reason},
        )


class Consuming(Lookups):
    """``retrieve_messages``, ``yield_messages``, ``acknowledge``, ``release`` and
    ``change_message_visibility``."""

    max_number_of_messages: int
    visibility_timeout: int | None
    wait_time_seconds: int

    def retrieve_messages(
        self,
        queue: QueueWrapper,
        max_messages: int | None = None,
        wait_time_seconds: float | None = None,
        visibility_timeout: int | None = None,
        **kwargs: Any,
    ) -> list[Message]:
        """Receives up to ``max_messages`` (1 to 10) messages; each is checked one by one, so
        one that cannot be read is handed out marked as such and never fails the others."""
        request = self._receive_request(
            queue, max_messages, wait_time_seconds, visibility_timeout, kwargs
        )
        received = self._receive(queue, request)
        messages = [decode_received(entry, queue.url) for entry in received]
        self._reports.received(queue.name, messages, received)
        if self.faults is not None:
            messages = self.faults.on_receive(queue, messages)
        return messages

    def _receive(self, queue: QueueWrapper, request: dict[str, Any]) -> list[dict[str, Any]]:
        """One ReceiveMessage."""
        with self._call("ReceiveMessage", queue=queue.name):
            client = self._receive_client(int(request["WaitTimeSeconds"]))
            return list(client.receive_message(**request).get("Messages", []))

    def _receive_request(
        self,
        queue: QueueWrapper,
        max_messages: object,
        wait_time_seconds: object,
        visibility_timeout: object,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        defaults = (self.max_number_of_messages, self.wait_time_seconds, self.visibility_timeout)
        return receive_request(
            queue, max_messages, wait_time_seconds, visibility_timeout, options, defaults
        )

    def yield_messages(
        self,
        queue: QueueWrapper,
        max_messages: int | None = None,
        time_limit: float | None = None,
        **kwargs: Any,
    ) -> Iterator[Message]:
        """Yields received messages until the queue has none left or a limit is reached.

        melange's version polls forever; this one ends, so it cannot hang a notebook.
        """
        check_queue(queue)
        if max_messages is not None:
            whole_number("max_messages", max_messages, 1, 10**9)
        if time_limit is not None:
            number("time_limit", time_limit, 0, 10**6, unit="seconds")
        self._receive_request(queue, None, None, None, kwargs)
        return self._yield_messages(queue, max_messages, time_limit, **kwargs)

    def _yield_messages(
        self,
        queue: QueueWrapper,
        max_messages: int | None,
        time_limit: float | None,
        **kwargs: Any,
    ) -> Iterator[Message]:
        deadline = None if time_limit is None else time.monotonic() + time_limit
        yielded = 0
        while max_messages is None or yielded < max_messages:
            # The backend's own wait even without a deadline: on AWS a short poll (0) asks only
            # some servers, so an empty answer would not mean the queue is drained.
            wait = float(self.wait_time_seconds)
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            batch_size = (
                None if max_messages is None else min(SQS_BATCH_SIZE, max_messages - yielded)
            )
            batch = self.retrieve_messages(
                queue, max_messages=batch_size, wait_time_seconds=wait, **kwargs
            )
            if not batch:
                return
            for message in batch:
                yielded += 1
                yield message
            if deadline is not None and time.monotonic() >= deadline:
                return

    def acknowledge(self, message: Message) -> None:
        metadata = received_metadata(message)
        queue = name_from_url(metadata["queue_url"])
        with self._call("DeleteMessage", queue=queue):
            self._sqs.delete_message(
                QueueUrl=metadata["queue_url"], ReceiptHandle=metadata["ReceiptHandle"]
            )
        self._reports.acknowledged(queue, message)

    def change_message_visibility(self, message: Message, visibility_timeout: int) -> None:
        """Hides a received message for ``visibility_timeout`` more seconds (0 to 12 hours),
        counted from now: more time to finish, or 0 to hand it back at once."""
        seconds = limits.VISIBILITY_TIMEOUT.check("visibility_timeout", visibility_timeout)
        self._set_visibility(message, seconds)

    def release(self, message: Message, reason: str | None = None) -> None:
        """Hands a received message back unacknowledged: it is visible again at once."""
        queue = self._set_visibility(message, 0)
        self._reports.released(queue, message, reason)

    def _set_visibility(self, message: Message, seconds: int) -> str:
        """Changes a received message's visibility timeout; returns its queue's name."""
        metadata = received_metadata(message)
        queue = name_from_url(metadata["queue_url"])
        with self._call("ChangeMessageVisibility", queue=queue):
            self._sqs.change_message_visibility(
                QueueUrl=metadata["queue_url"],
                ReceiptHandle=metadata["ReceiptHandle"],
                VisibilityTimeout=seconds,
            )
        return queue
