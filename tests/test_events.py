"""The event contract: what every event carries, whoever caused it."""

from __future__ import annotations

from melange_lab.events import Event, EventKind, EventLog


def test_an_event_carries_the_id_it_was_published_under_beside_its_own() -> None:
    log = EventLog(lambda: 1.0)
    event = log.emit(
        EventKind.DELIVERED,
        topic="orders",
        queue="billing",
        message_id="sqs-1",
        published_id="sns-1",
    )
    assert event.as_dict()["published_id"] == "sns-1"
    assert event.as_dict()["message_id"] == "sqs-1"
    assert "published=sns-1" in event.describe()


def test_describe_names_the_published_id_only_when_it_differs() -> None:
    event = Event(
        seq=1, at=0.0, kind=EventKind.PUBLISHED, queue="q", message_id="m1", published_id="m1"
    )
    assert event.describe() == "#1 published queue=q id=m1"


def test_the_kinds_for_unsubscribing_and_purging_exist() -> None:
    assert EventKind("unsubscribed") is EventKind.UNSUBSCRIBED
    assert EventKind("purged") is EventKind.PURGED
