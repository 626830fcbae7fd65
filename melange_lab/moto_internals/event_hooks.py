"""The broker's events, reported where moto's SQS and SNS state changes, whoever changed it.

Plain boto3 in the kernel, the lab's publishers, melange's ``AWSBackend`` and moto's server
answering another process all end in the same moto model methods. Hooking those methods makes
every client seen the same way, once, at the moment the change happens: nothing is predicted
by a caller, so nothing is computed twice to guess what happened.

This module installs and removes the reporting; each job lives in its own module (moto 5.2.1
to 5.2.6, the fingerprints in ``versions.py``):

- ``event_sink``: where the events go while a broker reports (``emit``).
- ``arrivals``: ``Queue.add_message``, the one place a message enters a queue: ``published``,
  ``delivered``, ``dead_lettered``, ``redriven``, with the id it was published under.
- ``message_events``: SendMessage (``deduplicated`` when the FIFO window dropped it),
  ReceiveMessage (``received``), DeleteMessage (``acknowledged``), ChangeMessageVisibility to
  0 (``released``); batch calls reach them per entry. ``receipts`` remembers which message a
  receipt handle was handed out for.
- ``queue_events``: ``queue_declared``, ``queue_deleted``, ``purged``.
- ``retention``: ``expired`` (and the message deleted, as SQS does) when its queue's
  retention ends, seen when the broker's clock advances or a receive looks at the queue.
- ``topic_events``: ``topic_declared``, ``topic_deleted``, ``subscribed``, ``unsubscribed``.
- ``fan_out`` (its own feature): Publish: ``published`` and, per subscription, ``filtered``
  / ``delivered`` / ``delivery_failed``, or ``deduplicated``; ``message_moves``: redrive.

Every event about a queue copy carries its own id and the id it was published under
(``published_id``), which moto knows when the copy enters the queue.
"""

from __future__ import annotations

from collections.abc import Callable

from moto.sqs.models import SQSBackend

from melange_lab.events import EventLog
from melange_lab.moto_internals import (
    arrivals,
    message_events,
    queue_events,
    retention,
    topic_events,
)
from melange_lab.moto_internals.dead_letters import _note_receiving
from melange_lab.moto_internals.event_sink import set_sink
from melange_lab.moto_internals.patching import _Layer, _lock, _set_feature
from melange_lab.moto_internals.receipts import handles

_EVENT_HOOKS: list[_Layer] = [
    *arrivals.LAYERS,
    *retention.LAYERS,  # expired messages gone before a receive looks
    (SQSBackend, "receive_message", _note_receiving),  # who is receiving, for DLQ moves
    *message_events.LAYERS,
    *queue_events.LAYERS,
    *topic_events.LAYERS,
]


def install_broker_events(
    events: EventLog, last_failure: Callable[[str], str | None] | None = None
) -> None:
    """Report every change of moto's SQS/SNS state on ``events`` from now on.

    ``last_failure(message_id)`` names why a message last failed, for its ``dead_lettered``.
    """
    with _lock:
        set_sink(events, last_failure or (lambda _: None))
        _set_feature("broker_events", _EVENT_HOOKS)


def uninstall_broker_events() -> None:
    """Stop reporting; moto's methods are its own again (apart from other fixes)."""
    with _lock:
        _set_feature("broker_events", None)
        set_sink(None, lambda _: None)
        handles.clear()
