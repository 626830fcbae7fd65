"""ReceiveMessage on a FIFO queue as SQS answers it: message groups, each handed out whole.

moto 5.2 walks the queue in send order, so one receive interleaves groups (g1-m1, g2-m1,
g1-m2), and after a visibility timeout it hands back only the first message of a group whose
other messages it still counts as pending. AWS's recorded answers (LocalStack's
``test_sqs.py`` FIFO tests, validated against AWS) show SQS's rules, which this module
follows:

- A group is received from its oldest message on, in order, as far as its messages are
  visible: a receive returns up to MaxNumberOfMessages of one group before it moves to the
  next group (g1-m1, g1-m2, g2-m1).
- A group whose oldest message is in flight is locked; it becomes available again as soon as
  that message is visible again (its visibility timeout ended, or was set to 0) or is deleted,
  and then the whole rest of the group comes back, in order.
- Groups are served in the order they became available: a group that was never received
  keeps its place from its first send; a group that was received goes to the back when it is
  released (so after a timeout the untouched g3 comes before g1 and g2, as recorded).
- A delayed oldest message holds its group back; a message received maxReceiveCount times
  moves to the dead-letter queue when its turn comes, as moto does; a message past its
  retention period is skipped.
Standard queues are received as moto does; for both, MessageAttributeNames ["*"] means every
attribute (recorded).
"""

from __future__ import annotations

import copy
import itertools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import moto.sqs.models as sqs_models
from moto.sqs.models import Message, Queue, SQSBackend

from melange_lab.moto_internals.patching import _Layer, _set_feature


@dataclass
class _Groups:
    """One FIFO queue's group order: when each group became available, and which are held."""

    available_since: dict[str, tuple[float, int]] = field(default_factory=dict)
    held_by: dict[str, tuple[Message, int]] = field(default_factory=dict)  # head, take number
    released_at: dict[str, float] = field(default_factory=dict)  # a held head was deleted


_state: weakref.WeakKeyDictionary[Queue, _Groups] = weakref.WeakKeyDictionary()
_lock = threading.RLock()
_takes = itertools.count(1)


def _now_ms() -> float:
    clock: Callable[[], float] = vars(sqs_models)["unix_time_millis"]  # the broker's clock
    return clock()


def _groups_of(queue: Queue) -> dict[str, list[Message]]:
    """The queue's messages by group, oldest first, leaving out those past retention; a
    message visible again is no longer pending (moto's own bookkeeping)."""
    retention_ms = 1000 * int(vars(queue)["message_retention_period"])
    now = _now_ms()
    groups: dict[str, list[Message]] = {}
    for message in list(queue._messages):
        if (message.sent_timestamp or 0) + retention_ms <= now:
            continue
        if message.visible:
            queue.pending_messages.discard(message)
        groups.setdefault(message.group_id or "", []).append(message)
    return groups


def _available_groups(queue: Queue, groups: dict[str, list[Message]]) -> list[str]:
    """The groups whose oldest message can be received now, in the order SQS serves them."""
    state = _state.setdefault(queue, _Groups())
    for gone in set(state.available_since) - set(groups):
        del state.available_since[gone]
    for gone in set(state.held_by) - set(groups):
        del state.held_by[gone]
    available = []
    for group, messages in groups.items():
        head = messages[0]
        if not head.visible:
            continue
        held = state.held_by.pop(group, None)
        if held is not None:
            held_head, take = held
            released = (
                held_head.visible_at
                if held_head is head
                else state.released_at.pop(group, _now_ms())
            )
            state.available_since[group] = (released, take)
        state.available_since.setdefault(group, (float(head.sent_timestamp or 0), 0))
        if not head.delayed:
            available.append(group)
    return sorted(available, key=lambda g: state.available_since[g])


def _take(
    queue: Queue,
    count: int,
    visibility_timeout: int,
    attribute_names: list[str],
) -> list[Message]:
    groups = _groups_of(queue)
    received: list[Message] = []
    to_dead_letters: list[Message] = []
    state = _state.setdefault(queue, _Groups())
    for group in _available_groups(queue, groups):
        first_taken: Message | None = None
        for message in groups[group]:
            if len(received) >= count or not message.visible or message.delayed:
                break
            if (
                queue.dead_letter_queue is not None
                and queue.redrive_policy
                and message.approximate_receive_count >= queue.redrive_policy["maxReceiveCount"]
            ):
                to_dead_letters.append(message)
                continue
            queue.pending_messages.add(message)
            message.mark_received(visibility_timeout=visibility_timeout)
            if not visibility_timeout:  # in flight for no time: released as it is received
                message.visible_at = _now_ms() - 1
            first_taken = first_taken or message
            answer = copy.deepcopy(message)
            sqs_models._filter_message_attributes(answer, attribute_names)
            received.append(answer)
        if first_taken is not None:
            state.held_by[group] = (first_taken, next(_takes))
            state.available_since.pop(group, None)
        if len(received) >= count:
            break
    for message in to_dead_letters:
        queue._messages.remove(message)
        queue.dead_letter_queue.add_message(message)  # type: ignore[union-attr]
    return received


def _receive_in_groups(stock: Callable[..., list[Message]]) -> Callable[..., list[Message]]:
    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Message]:
        queue = self.get_queue(queue_name)
        # MessageAttributeNames ["*"] is every attribute, as "All" and ".*" are (recorded);
        # moto reads "*" as an attribute named "*"
        names = ["All" if n == "*" else n for n in message_attribute_names or []]
        if not queue.fifo_queue:
            return stock(self, queue_name, count, wait_seconds_timeout, visibility_timeout, names)
        polling_end = _now_ms() + 1000 * wait_seconds_timeout
        while True:
            with _lock:
                received = _take(queue, count, visibility_timeout, names)
            if received or not wait_seconds_timeout or _now_ms() > polling_end:
                return received
            queue.wait_for_messages(1)

    return receive_message


def _note_deleted_heads(stock: Callable[..., Any]) -> Callable[..., Any]:
    """A deleted in-flight head releases its group at the moment of the delete."""

    def delete_message(self: Queue, receipt_handle: str) -> Any:
        if self.fifo_queue:
            with _lock:
                state = _state.get(self)
                if state is not None:
                    for group, (head, _) in state.held_by.items():
                        if head.had_receipt_handle(receipt_handle):
                            state.released_at[group] = _now_ms()
        return stock(self, receipt_handle)

    return delete_message


_FIFO_RECEIVE: list[_Layer] = [
    (SQSBackend, "receive_message", _receive_in_groups),
    (Queue, "delete_message", _note_deleted_heads),
]


def install_fifo_receive() -> None:
    """FIFO queues hand out whole message groups in SQS's order."""
    _set_feature("fifo_receive", _FIFO_RECEIVE)


def uninstall_fifo_receive() -> None:
    with _lock:
        _set_feature("fifo_receive", None)
        _state.clear()
