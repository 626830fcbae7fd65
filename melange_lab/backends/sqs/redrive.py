"""Moving dead letters back to the queue they came from, losing none on the way."""

from __future__ import annotations

import json
from typing import Any

from melange_lab.backends.sqs.checks import check_redrive
from melange_lab.backends.sqs.lookups import Lookups
from melange_lab.backends.sqs.requests import SQS_BATCH_SIZE, redrive_request
from melange_lab.errors import MelangeLabError
from melange_lab.models import QueueWrapper


class Redriving(Lookups):
    """``redrive``: each dead letter is sent to its target before it leaves the DLQ."""

    def redrive(
        self, dead_letter_queue: QueueWrapper, to_queue: QueueWrapper | None = None
    ) -> list[str]:
        """Moves every message of a dead-letter queue back to its source queue; returns new ids.

        Body and message attributes are kept; a FIFO message keeps its group and gets a fresh
        deduplication id (its old one may still be inside the 5-minute window). Each message is
        sent before it is deleted from the DLQ, so a failure never loses one. The source is the
        queue whose redrive policy names this DLQ; pass ``to_queue`` when several queues do.
        """
        check_redrive(dead_letter_queue, to_queue)
        target = to_queue if to_queue is not None else self._redrive_source(dead_letter_queue)
        # only the messages there now: any that arrive while it runs wait for the next redrive
        present = int(
            self.queue_attributes(dead_letter_queue).get("ApproximateNumberOfMessages", 0)
        )
        moved: list[str] = []
        while len(moved) < present:
            with self._call("ReceiveMessage", queue=dead_letter_queue.name):
                received = self._sqs.receive_message(
                    QueueUrl=dead_letter_queue.url,
                    MaxNumberOfMessages=min(SQS_BATCH_SIZE, present - len(moved)),
                    WaitTimeSeconds=0,
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                ).get("Messages", [])
            if not received:
                return moved
            for index, entry in enumerate(received):
                try:
                    moved.append(self._redrive_one(entry, dead_letter_queue, target))
                except MelangeLabError:
                    self._put_back(dead_letter_queue, received[index:])
                    raise
        return moved

    def _put_back(self, queue: QueueWrapper, entries: list[dict[str, Any]]) -> None:
        """Makes received-but-not-moved dead letters visible again at once (they stay put)."""
        for entry in entries:
            with self._call("ChangeMessageVisibility", queue=queue.name):
                self._sqs.change_message_visibility(
                    QueueUrl=queue.url, ReceiptHandle=entry["ReceiptHandle"], VisibilityTimeout=0
                )

    def _redrive_one(
        self, entry: dict[str, Any], dead_letter_queue: QueueWrapper, target: QueueWrapper
    ) -> str:
        request = redrive_request(entry, target)
        with self._call("SendMessage", queue=target.name):
            message_id = str(self._sqs.send_message(**request)["MessageId"])
        with self._call("DeleteMessage", queue=dead_letter_queue.name):
            self._sqs.delete_message(
                QueueUrl=dead_letter_queue.url, ReceiptHandle=entry["ReceiptHandle"]
            )
        self._reports.redriven(dead_letter_queue.name, target.name, message_id, entry)
        return message_id

    def _redrive_source(self, dead_letter_queue: QueueWrapper) -> QueueWrapper:
        arn = self.queue_attributes(dead_letter_queue).get("QueueArn")
        sources = []
        for name in sorted(self.queue_names()):
            policy = self.queue_attributes(self.get_queue(name)).get("RedrivePolicy")
            if policy and json.loads(policy).get("deadLetterTargetArn") == arn:
                sources.append(name)
        if len(sources) != 1:
            found = ", ".join(f"'{n}'" for n in sources) or "none"
            raise MelangeLabError(
                f"Cannot tell where to redrive '{dead_letter_queue.name}': the queues using it as "
                f"their dead-letter queue are {found}. Name the target: redrive(..., to_queue=...)."
            )
        return self.get_queue(sources[0])
