"""Redrive: a dead-letter queue's messages moved back, as SQS's StartMessageMoveTask does.

moto 5.2 has no StartMessageMoveTask nor ListMessageMoveTasks. Here the simulated broker has
both, for every client (``broker.redrive()``, plain boto3's ``start_message_move_task``, the
AWS CLI through ``broker.serve()``), and moves inside the call: the task is COMPLETED when
the answer comes back (SQS moves in the background; MaxNumberOfMessagesPerSecond is accepted
and has nothing to slow down). The messages visible in the dead-letter queue when the move
starts are moved, oldest first: each is stored in its destination as a new message (a new id,
its body and attributes, a FIFO message its group and a fresh deduplication id) before it
leaves the dead-letter queue, so a failure never loses one. Without a destination, each goes
back to the queue it was dead-lettered from (its DeadLetterQueueSourceArn), as on SQS.
Each move is reported as ``redriven`` with the id the message was first published under.
Checked against moto 5.2.1 to 5.2.6 (``SQSBackend.send_message``, ``Queue._messages``).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import moto.sqs.models as sqs_models
from moto.core.responses import ActionResult
from moto.sqs.exceptions import InvalidParameterValue, QueueDoesNotExist
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends
from moto.sqs.responses import SQSResponse

from melange_lab.errors import QueueNotFound
from melange_lab.events import EventKind
from melange_lab.moto_internals.arrivals import Arrival, current_arrival, published_id_of
from melange_lab.moto_internals.dead_letters import SOURCE_ARN
from melange_lab.moto_internals.patching import _Layer, _set_feature

_tasks: dict[str, dict[str, Any]] = {}  # source ARN -> its latest task, as ListMessageMoveTasks
_tasks_lock = threading.Lock()


def queue_by_arn(arn: str) -> Queue:
    """The queue an SQS ARN names (raises moto's QueueDoesNotExist)."""
    parts = str(arn).split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise InvalidParameterValue(f"Value {arn} for parameter SourceArn is invalid.")
    queue: Queue | None = sqs_backends[parts[4]][parts[3]].queues.get(parts[5])
    if queue is None:
        raise QueueDoesNotExist()
    return queue


def move_messages(source: Queue, destination: Queue | None) -> list[str]:
    """Moves the messages visible in ``source`` now to ``destination`` (None: each back to the
    queue it was dead-lettered from); returns the new message ids, in order."""
    moved: list[str] = []
    for message in list(source.messages):
        target = destination or _origin(message)
        if target is None:
            continue  # sent to the dead-letter queue directly: nowhere to go back to
        moved.append(_move(message, source, target))
    return moved


def redrive(source_arn: str, destination_arn: str) -> list[str]:
    """``move_messages`` for the lab's own calls: a queue that is gone (also one deleted while
    the move runs) is the lab's ``QueueNotFound``; the messages not moved stay put."""
    names = {arn: str(arn).rsplit(":", 1)[-1] for arn in (source_arn, destination_arn)}
    try:
        return move_messages(queue_by_arn(source_arn), queue_by_arn(destination_arn))
    except QueueDoesNotExist:
        gone = next((a for a in names if _missing(a)), destination_arn)
        raise QueueNotFound(names[gone]) from None


def _missing(arn: str) -> bool:
    try:
        queue_by_arn(arn)
    except QueueDoesNotExist:
        return True
    return False


def _origin(message: Message) -> Queue | None:
    arn = (message.system_attributes or {}).get(SOURCE_ARN)
    try:
        return queue_by_arn(arn) if arn else None
    except (QueueDoesNotExist, InvalidParameterValue):
        return None


def _move(message: Message, source: Queue, target: Queue) -> str:
    backend: SQSBackend = sqs_backends[target.account_id][target.region]
    fifo = bool(target.fifo_queue)
    arrival = Arrival(
        EventKind.REDRIVEN,
        published_id=published_id_of(message),
        queue=source.name,
        entered_as="to_queue",
        reason=f"moved back from dead-letter queue '{source.name}' to '{target.name}'",
        detail={"from_message_id": message.id},
    )
    token = current_arrival.set(arrival)
    try:
        copy = backend.send_message(
            target.name,
            message.body,
            message_attributes=message.message_attributes or None,
            group_id=(message.group_id or "redriven") if fifo else None,
            deduplication_id=str(uuid.uuid4()) if fifo else None,
        )
    finally:
        current_arrival.reset(token)
    with source._messages_lock:  # stored in its destination: now it leaves the DLQ
        source._messages = [m for m in source._messages if m is not message]
        source.pending_messages.discard(message)
    return str(copy.id)


def _is_dead_letter_queue(queue: Queue) -> bool:
    backend: SQSBackend = sqs_backends[queue.account_id][queue.region]
    return any(q.dead_letter_queue is queue for q in list(backend.queues.values()))


def _start_message_move_task(_: Any) -> Any:
    def start_message_move_task(self: SQSResponse) -> ActionResult:
        source_arn = str(self._get_param("SourceArn"))
        source = queue_by_arn(source_arn)
        if not _is_dead_letter_queue(source):
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        destination_arn = self._get_param("DestinationArn")
        destination = queue_by_arn(destination_arn) if destination_arn else None
        started = _now_ms()
        moved = move_messages(source, destination)
        handle = str(uuid.uuid4())
        task = {
            "TaskHandle": handle,
            "Status": "COMPLETED",
            "SourceArn": source_arn,
            "ApproximateNumberOfMessagesMoved": len(moved),
            "ApproximateNumberOfMessagesToMove": len(moved),
            "StartedTimestamp": started,
        }
        if destination_arn:
            task["DestinationArn"] = destination_arn
        rate = self._get_param("MaxNumberOfMessagesPerSecond")
        if rate is not None:
            task["MaxNumberOfMessagesPerSecond"] = int(rate)
        with _tasks_lock:
            _tasks[source_arn] = task
        return ActionResult({"TaskHandle": handle})

    return start_message_move_task


def _list_message_move_tasks(_: Any) -> Any:
    def list_message_move_tasks(self: SQSResponse) -> ActionResult:
        source_arn = str(self._get_param("SourceArn"))
        queue_by_arn(source_arn)
        with _tasks_lock:
            task = _tasks.get(source_arn)
        results = [] if task is None else [{k: v for k, v in task.items() if k != "TaskHandle"}]
        return ActionResult({"Results": results})

    return list_message_move_tasks


def _now_ms() -> int:
    clock = vars(sqs_models)["unix_time_millis"]  # the broker's clock, when installed
    return int(clock())


_MESSAGE_MOVES: list[_Layer] = [
    (SQSResponse, "start_message_move_task", _start_message_move_task),
    (SQSResponse, "list_message_move_tasks", _list_message_move_tasks),
]


def install_message_moves() -> None:
    """StartMessageMoveTask and ListMessageMoveTasks, answered as SQS answers them."""
    _set_feature("message_moves", _MESSAGE_MOVES)


def uninstall_message_moves() -> None:
    with _tasks_lock:
        _set_feature("message_moves", None)
        _tasks.clear()
