"""One received batch: handled message by message, FIFO group order kept, and whatever nobody
started handed back when a limit is hit or consuming is interrupted (none half-acknowledged)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from melange_lab import wire
from melange_lab.dispatcher.handling import Hooks, MessageHandling, name_of
from melange_lab.dispatcher.summary import ConsumeSummary, Outcome
from melange_lab.events import EventKind
from melange_lab.models import Message, QueueWrapper

logger = logging.getLogger(__name__)

RECEIVE_BATCH = 10  # SQS hands out at most 10 messages per receive


class BatchHandling(MessageHandling):
    """Receives a batch and handles it; releases the messages it did not start."""

    _interrupted_batch: ConsumeSummary | None

    def _consume_batch(
        self,
        queue: QueueWrapper,
        hooks: Hooks,
        max_messages: int | None,
        wait_time_seconds: float | None,
        deadline: float | None = None,
        stop: threading.Event | None = None,
    ) -> ConsumeSummary:
        summary = ConsumeSummary(stopped_because="batch")
        batch = self._backend.retrieve_messages(
            queue,
            max_messages=None if max_messages is None else min(max_messages, RECEIVE_BATCH),
            wait_time_seconds=wait_time_seconds,
        )
        if not batch:
            summary.stopped_because = "drained"
            return summary
        try:
            return self._handle_batch(queue, batch, hooks, summary, max_messages, deadline, stop)
        except BaseException as error:
            # a handler called sys.exit(), Ctrl-C arrived, or a hook raised: say so, hand back
            # what nobody started, and let it propagate
            started = summary.received
            self._interrupted(queue, batch[:started], batch[started:], summary, error)
            raise

    def _handle_batch(
        self,
        queue: QueueWrapper,
        batch: list[Message],
        hooks: Hooks,
        summary: ConsumeSummary,
        max_messages: int | None,
        deadline: float | None,
        stop: threading.Event | None,
    ) -> ConsumeSummary:
        held_groups: set[str] = set()
        for index, message in enumerate(batch):
            limit = _limit_reached(summary, max_messages, deadline, stop)
            if limit is not None:
                self._release_unstarted(batch[index:], batch[:index], summary, limit)
                summary.stopped_because = limit
                return summary
            summary.received += 1
            group = _group_of(message) if _is_fifo(queue) else None
            if group in held_groups:
                # A FIFO batch can hold several messages of one group: once one failed, the
                # rest must wait for its retry, or the group's order would be broken.
                self._backend.release(
                    message, reason=f"an earlier message of group '{group}' failed; kept in order"
                )
                summary.released += 1
                continue
            outcome = self._handle(queue, message, hooks, summary)
            summary.count(outcome)
            if group is not None and outcome in (Outcome.FAILED, Outcome.CRASHED):
                held_groups.add(group)
            if hooks.after_consume is not None:
                hooks.after_consume()
        return summary

    def _interrupted(
        self,
        queue: QueueWrapper,
        started: list[Message],
        unstarted: list[Message],
        summary: ConsumeSummary,
        error: BaseException,
    ) -> None:
        """Releases the received messages not yet started, records why consuming stopped."""
        name = getattr(queue, "name", str(queue))
        why = f"{type(error).__name__}" + (f": {error}" if str(error) else "")
        summary.stopped_because = f"interrupted ({why})"
        released_before = summary.released
        try:
            self._release_unstarted(unstarted, started, summary, summary.stopped_because)
        except Exception:  # the queue may be gone; the interrupt matters more, and propagates
            logger.exception("could not release the unstarted messages of '%s'", name)
        released = summary.released - released_before
        self.events.emit(
            EventKind.DISPATCHER_STOPPED,
            queue=name,
            message_id=started[-1].message_id if started else None,
            published_id=wire.published_id_of(started[-1]) if started else None,
            reason=(
                f"consuming stopped: {why} while handling this message, which is left as it "
                f"was (unacknowledged messages come back after their visibility timeout); "
                f"{released} unstarted message(s) of its batch were released"
            ),
            detail={"error": type(error).__name__, "released": released},
        )
        self._interrupted_batch = summary

    def _release_unstarted(
        self,
        unstarted: Iterable[Message],
        handled: Iterable[Message],
        summary: ConsumeSummary,
        why: str,
    ) -> None:
        """Hands back messages nobody started; a copy of a handled one (an injected duplicate)
        needs nothing: the handled copy already decided its fate."""
        done = {message.message_id for message in handled}
        for message in unstarted:
            if message.message_id in done:
                continue
            done.add(message.message_id)
            self._backend.release(message, reason=f"received but not processed ({why})")
            summary.released += 1


def _limit_reached(
    summary: ConsumeSummary,
    max_messages: int | None,
    deadline: float | None,
    stop: threading.Event | None,
) -> str | None:
    if stop is not None and stop.is_set():
        return "stopped"
    if max_messages is not None and summary.received >= max_messages:
        return "max_messages"
    if deadline is not None and time.monotonic() >= deadline:
        return "time_limit"
    return None


def _is_fifo(queue: Any) -> bool:
    return name_of(queue).endswith(".fifo")


def _group_of(message: Message) -> str | None:
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    group = metadata.get("Attributes", {}).get("MessageGroupId")
    return None if group is None else str(group)


def received_after(messages: Iterator[Message], current: Message) -> list[Message]:
    """The messages a ``yield_messages`` generator received and holds after ``current``,
    not yet handed out: the rest of its batch, found without asking it for more (asking
    could receive new messages, or wait forever on a backend written for melange)."""
    found: list[Message] = []
    seen: set[int] = set()
    layer: Any = messages
    while layer is not None and id(layer) not in seen:
        seen.add(id(layer))
        frame = getattr(layer, "gi_frame", None)
        for value in list(frame.f_locals.values()) if frame is not None else []:
            if isinstance(value, list) and any(m is current for m in value):
                index = next(i for i, m in enumerate(value) if m is current)
                found += [m for m in value[index + 1 :] if isinstance(m, Message)]
        inner = getattr(layer, "gi_yieldfrom", None)
        if inner is not None and type(inner).__name__ == "list_iterator":
            _, (items,), position = inner.__reduce__()
            found += [m for m in items[position:] if isinstance(m, Message)]
            break
        layer = inner
    unique: dict[int, Message] = {id(m): m for m in found if m is not current}
    return list(unique.values())


def close(messages: Iterator[Message]) -> None:
    """Closes a message generator, logging (not raising) if it refuses."""
    closer = getattr(messages, "close", None)
    if callable(closer):
        try:
            closer()
        except Exception:  # the interrupt that stopped consuming matters more
            logger.exception("could not close the message generator")
