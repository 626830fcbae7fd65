"""FIFO queues as SQS runs them: group locks held only by messages in flight."""

from __future__ import annotations

from collections.abc import Callable

from moto.sqs.models import Queue

from melange_lab.moto_internals.patching import _Layer, _set_feature, _wrap_property

# --- FIFO group lock: only messages still in flight hold it ------------------------------
#
# moto 5.2 keeps a received FIFO message in ``Queue._pending_messages`` until it is received
# again, even after its visibility timeout ran out, and ``pending_message_groups`` counts it.
# So when a whole batch of one group times out, the next receive skips every message whose
# group-mate is still "pending" and returns only the last one: the group comes back out of
# order. On SQS a group is locked only while one of its messages is in flight (invisible).


def _groups_in_flight(stock: Callable[[Queue], set[str]]) -> Callable[[Queue], set[str]]:
    def pending_message_groups(self: Queue) -> set[str]:
        return {
            message.group_id
            for message in list(self._pending_messages)
            if message.group_id is not None and not message.visible
        }

    return pending_message_groups


_FIFO_GROUP_FIX: list[_Layer] = [
    (Queue, "pending_message_groups", _wrap_property(_groups_in_flight)),
]


def install_fifo_group_fix() -> None:
    """Lock a FIFO group only while one of its messages is in flight, as SQS does."""
    _set_feature("fifo_group_fix", _FIFO_GROUP_FIX)


def uninstall_fifo_group_fix() -> None:
    _set_feature("fifo_group_fix", None)
