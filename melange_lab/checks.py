"""Checks for the classroom exercises: each passes with a short message, or says what is wrong.

A check looks at a broker only through the look-inside API (``queues()``, ``subscriptions()``,
``peek()``) and its event log, and at plain values the student's code produced. It returns a
sentence to print when all is well, and otherwise raises ``CheckFailed`` naming the queue or
message at fault, with a hint. ``CheckFailed`` is also an ``AssertionError``, so nbgrader and
pytest count it as a failed test.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

from melange_lab.backends.sqs import Subscription
from melange_lab.broker import SimulatedBroker
from melange_lab.errors import BrokerStopped, MelangeLabError
from melange_lab.events import Event, EventKind
from melange_lab.inspection import PeekedMessage, QueueInfo

T = TypeVar("T")


class CheckFailed(MelangeLabError, AssertionError):
    """An exercise check did not pass; the message says what is wrong and how to fix it."""


def _broker_call(look: Callable[[], T]) -> T:
    """Runs a look inside the broker, turning a stopped broker into a failed check."""
    try:
        return look()
    except BrokerStopped:
        raise CheckFailed(
            "the broker was stopped, so there is nothing left to check: do not call "
            "broker.stop() (or replace `broker`) in your answer; re-run the notebook from the top."
        ) from None


def _queues(broker: SimulatedBroker) -> dict[str, QueueInfo]:
    infos = _broker_call(broker.queues)
    return {info.name: info for info in infos}


def _queue(broker: SimulatedBroker, name: str) -> QueueInfo:
    queues = _queues(broker)
    if name not in queues:
        existing = ", ".join(f"`{q}`" for q in sorted(queues)) or "none"
        raise CheckFailed(
            f"queue `{name}` does not exist (queues on the broker: {existing}): declare it, "
            f"e.g. MessagingBackendFactory(broker.backend).init_queue('{name}', ...)."
        )
    return queues[name]


def _subscription(broker: SimulatedBroker, topic: str, queue: str) -> Subscription | None:
    subscriptions = _broker_call(broker.subscriptions)
    for subscription in subscriptions:
        if subscription.topic == topic and subscription.queue == queue:
            return subscription
    return None


def _events(broker: SimulatedBroker, kind: EventKind) -> list[Event]:
    return broker.events.of_kind(kind)


def _published_to_topic(broker: SimulatedBroker, topic: str) -> dict[str, str | None]:
    """Message id -> manifest of every message published to ``topic``, in order."""
    published = {
        event.message_id: event.detail.get("manifest")
        for event in _events(broker, EventKind.PUBLISHED)
        if event.topic == topic and event.message_id
    }
    if not published:
        raise CheckFailed(
            f"nothing was published to topic `{topic}` yet: run every cell above this one, "
            "in order, and fix the first one that fails."
        )
    return published


def _delivered(broker: SimulatedBroker, topic: str, queue: str) -> list[str]:
    return [
        event.message_id
        for event in _events(broker, EventKind.DELIVERED)
        if event.topic == topic and event.queue == queue and event.message_id
    ]


def _why_not_delivered(broker: SimulatedBroker, topic: str, queue: str) -> str:
    subscription = _subscription(broker, topic, queue)
    if subscription is None:
        return (
            f"it is not subscribed to `{topic}`; subscribe it, e.g. "
            f"init_queue('{queue}', ['{topic}'])"
        )
    if subscription.filter_policy is not None:
        return (
            f"its filter policy {subscription.filter_policy.to_json()} keeps them out; "
            "remove the policy or widen it"
        )
    return "it was subscribed only after they were published; wire the queues before publishing"


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(set(values)))


def only_manifests_reach(
    broker: SimulatedBroker, queue: str, topic: str, manifests: Sequence[str]
) -> str:
    """``queue`` got every message of ``topic`` whose manifest is listed, and no other."""
    _queue(broker, queue)
    published = _published_to_topic(broker, topic)
    subscription = _subscription(broker, topic, queue)
    if subscription is None:
        raise CheckFailed(
            f"queue `{queue}` is not subscribed to topic `{topic}`, so it receives nothing: "
            f"declare it with init_queue('{queue}', ['{topic}'], filter_events=[...])."
        )
    delivered = [published.get(message_id) for message_id in _delivered(broker, topic, queue)]
    wanted = [m for m in published.values() if m in manifests]
    unwanted = [str(m) for m in delivered if m not in manifests]
    if unwanted:
        policy = subscription.filter_policy
        why = (
            f"its subscription has no filter policy; add filter_events={list(manifests)!r}"
            if policy is None
            else f"its filter policy {policy.to_json()} lets {_names(unwanted)} through"
        )
        raise CheckFailed(
            f"queue `{queue}` received {len(delivered)} messages, expected {len(wanted)} "
            f"(only {_names(manifests)}): {why}."
        )
    if len(delivered) < len(wanted):
        raise CheckFailed(
            f"queue `{queue}` received {len(delivered)} of the {len(wanted)} "
            f"{_names(manifests)} messages: {_why_not_delivered(broker, topic, queue)} "
            "(hint: a message's manifest is its class name)."
        )
    others = len(published) - len(wanted)
    return (
        f"queue `{queue}` received the {len(wanted)} {_names(manifests)} messages "
        f"and none of the {others} others."
    )


def every_queue_gets_every_event(broker: SimulatedBroker, topic: str, queues: Sequence[str]) -> str:
    """Each queue in ``queues`` got its own copy of every message published to ``topic``."""
    if not queues:
        raise CheckFailed("no queues were named: the check needs the services' queue names.")
    for queue in queues:
        _queue(broker, queue)
    published = _published_to_topic(broker, topic)
    for queue in queues:
        got = set(_delivered(broker, topic, queue))
        if not set(published) <= got:
            raise CheckFailed(
                f"queue `{queue}` received {len(got & set(published))} of the {len(published)} "
                f"messages published to `{topic}`: {_why_not_delivered(broker, topic, queue)}."
            )
    return (
        f"each of the {len(queues)} queues ({', '.join(queues)}) received all "
        f"{len(published)} messages published to `{topic}`."
    )


def subscribers_are_exactly(broker: SimulatedBroker, topic: str, queues: Sequence[str]) -> str:
    """``topic`` fans out to exactly ``queues``: none missing, no stray extra subscriber."""
    subscriptions = _broker_call(broker.subscriptions)
    subscribed = [s.queue for s in subscriptions if s.topic == topic]
    extra = sorted(set(subscribed) - set(queues))
    missing = sorted(set(queues) - set(subscribed))
    if extra:
        raise CheckFailed(
            f"queue `{extra[0]}` is still subscribed to `{topic}`, so it keeps collecting copies "
            f"nobody needs: delete it with broker.backend.delete_queue("
            f"broker.backend.get_queue('{extra[0]}'))."
        )
    if missing:
        raise CheckFailed(
            f"queue `{missing[0]}` is not subscribed to `{topic}`: subscribe it, e.g. "
            f"init_queue('{missing[0]}', ['{topic}'])."
        )
    twice = sorted(q for q, n in Counter(subscribed).items() if n > 1)
    if twice:
        raise CheckFailed(
            f"queue `{twice[0]}` is subscribed to `{topic}` more than once, so it gets each "
            "message twice: subscribe each queue once."
        )
    return f"`{topic}` fans out to exactly {len(queues)} queues: {', '.join(sorted(queues))}."


def dead_letter_queue_configured(
    broker: SimulatedBroker, queue: str, dead_letter_queue: str, max_receive_count: int
) -> str:
    """``queue`` moves a message to ``dead_letter_queue`` after ``max_receive_count`` receives."""
    info = _queue(broker, queue)
    if info.dead_letter_queue is None:
        raise CheckFailed(
            f"queue `{queue}` has no dead-letter queue, so a message that always fails is "
            f"retried for ever: declare it with dlq_name='{dead_letter_queue}'."
        )
    if info.dead_letter_queue != dead_letter_queue:
        raise CheckFailed(
            f"queue `{queue}` sends failed messages to `{info.dead_letter_queue}`, expected "
            f"`{dead_letter_queue}`: use dlq_name='{dead_letter_queue}'."
        )
    if info.max_receive_count != max_receive_count:
        raise CheckFailed(
            f"queue `{queue}` moves a message after {info.max_receive_count} receives "
            f"(maxReceiveCount), expected {max_receive_count}: pass "
            f"max_receive_count={max_receive_count}."
        )
    return (
        f"queue `{queue}` moves a message to `{dead_letter_queue}` after "
        f"{max_receive_count} receives."
    )


def dead_lettered_after(broker: SimulatedBroker, queue: str, receives: int) -> str:
    """At least one message left ``queue`` for its DLQ, each after exactly ``receives`` tries."""
    info = _queue(broker, queue)
    moves = [e for e in _events(broker, EventKind.DEAD_LETTERED) if e.queue == queue]
    if not moves:
        hint = (
            "it has no dead-letter queue"
            if info.dead_letter_queue is None
            else f"its maxReceiveCount is {info.max_receive_count}; was the consumer run?"
        )
        raise CheckFailed(f"no message was moved from `{queue}` to a dead-letter queue: {hint}.")
    received = _events(broker, EventKind.RECEIVED)
    for move in moves:
        tries = sum(1 for e in received if e.message_id == move.message_id and e.seq < move.seq)
        if tries != receives:
            raise CheckFailed(
                f"message {str(move.message_id)[:8]} was moved to "
                f"`{move.detail.get('dead_letter_queue')}` after {tries} receives, expected "
                f"{receives}: set max_receive_count={receives} on `{queue}`."
            )
    return (
        f"{len(moves)} message(s) moved from `{queue}` to its dead-letter queue after "
        f"{receives} tries."
    )


def _stored(broker: SimulatedBroker) -> dict[str, tuple[QueueInfo, PeekedMessage]]:
    """Message id -> (queue, message) for every message stored on the broker."""
    found: dict[str, tuple[QueueInfo, PeekedMessage]] = {}
    for info in _queues(broker).values():
        peeked = _broker_call(partial(broker.peek, info.name))
        for message in peeked:
            found[message.message_id] = (info, message)
    return found


def nothing_lost(
    broker: SimulatedBroker, message_ids: Iterable[str], processed_ids: Iterable[str]
) -> str:
    """Every published message was processed, or is kept in a dead-letter queue."""
    ids = list(message_ids)
    if not ids:
        raise CheckFailed(
            "no message ids were recorded as published: run every cell above, in order, and "
            "fix the first one that fails."
        )
    processed = set(processed_ids)
    acknowledged = {e.message_id for e in _events(broker, EventKind.ACKNOWLEDGED)}
    stored = _stored(broker)
    parked = 0
    for message_id in ids:
        if message_id in processed:
            continue
        short = message_id[:8]
        if message_id in stored:
            info, message = stored[message_id]
            if info.is_dead_letter_queue:
                parked += 1
                continue
            raise CheckFailed(
                f"message {short} is still waiting in `{info.name}` (received "
                f"{message.receive_count} times) and was never processed: your consumer must "
                "handle it, or give up on it through a dead-letter queue."
            )
        if message_id in acknowledged:
            raise CheckFailed(
                f"message {short} was acknowledged (deleted) but never processed successfully, "
                "so it is lost for good: acknowledge a message only after its handler returned."
            )
        raise CheckFailed(
            f"message {short} is in no queue and was never processed: it is lost "
            "(was its queue deleted or purged?)."
        )
    return (
        f"nothing lost: {len(ids) - parked} message(s) processed, {parked} kept in a "
        "dead-letter queue."
    )


def queue_drained(broker: SimulatedBroker, queue: str) -> str:
    """``queue`` holds no message at all: everything received was acknowledged."""
    info = _queue(broker, queue)
    if info.total:
        raise CheckFailed(
            f"queue `{queue}` still holds {info.total} message(s) ({info.visible} visible, "
            f"{info.in_flight} in flight): a message stays until it is acknowledged, so "
            "acknowledge each one once its handler succeeded."
        )
    return f"queue `{queue}` is empty: every message was acknowledged."


def fifo_groups_by(broker: SimulatedBroker, queue: str, key: Callable[[Any], Hashable]) -> str:
    """``queue`` is FIFO and holds one message group per ``key(payload)``."""
    info = _queue(broker, queue)
    if not info.fifo:
        raise CheckFailed(f"queue `{queue}` is not FIFO: FIFO queue names end in `.fifo`.")
    messages = _broker_call(partial(broker.peek, queue))
    if not messages:
        raise CheckFailed(f"queue `{queue}` is empty: publish the events into it first.")
    groups: dict[Hashable, set[str | None]] = defaultdict(set)
    owners: dict[str | None, set[Hashable]] = defaultdict(set)
    for message in messages:
        try:
            owner = key(message.payload)
        except Exception as error:
            raise CheckFailed(
                f"message {message.short_id} in `{queue}` is not one of the exercise's events "
                f"({type(error).__name__}: {error}): publish the events as given."
            ) from None
        groups[owner].add(message.message_group_id)
        owners[message.message_group_id].add(owner)
    for owner, ids in groups.items():
        if len(ids) > 1:
            raise CheckFailed(
                f"the messages of `{owner}` are spread over {len(ids)} groups, so FIFO does "
                f"not keep their order: give all of them the same message_group_id."
            )
    for group, members in owners.items():
        if len(members) > 1:
            raise CheckFailed(
                f"group `{group}` holds the messages of {len(members)} keys "
                f"({', '.join(sorted(map(str, members)))}), so each waits for the others: "
                "use one message_group_id per key, e.g. the customer id."
            )
    return f"`{queue}` is FIFO with one message group per key ({len(groups)} groups)."


def order_kept_per_key(
    handled: Sequence[Any],
    key: Callable[[Any], Hashable],
    position: Callable[[Any], Any],
    expected: int,
) -> str:
    """All ``expected`` items were handled, and each key's items in increasing ``position``."""
    if len(handled) != expected:
        raise CheckFailed(
            f"{len(handled)} of the {expected} events were handled: run every cell above, "
            "in order, and fix the first one that fails."
        )
    seen: dict[Hashable, list[Any]] = defaultdict(list)
    for item in handled:
        seen[key(item)].append(position(item))
    for owner, positions in seen.items():
        if positions != sorted(positions):
            raise CheckFailed(
                f"the events of `{owner}` were handled in the order "
                f"{', '.join(map(str, positions))}: a FIFO queue keeps order only within one "
                "message group, so publish each key's events with the same message_group_id."
            )
    return f"all {expected} events handled, each key's in order ({len(seen)} keys)."


def each_effect_once(effects: Sequence[Hashable], expected: Iterable[Hashable], what: str) -> str:
    """Each of ``expected`` appears exactly once in ``effects`` (e.g. each payment charged once).

    ``what`` names the effect in the message, e.g. ``"charged"``.
    """
    wanted = list(dict.fromkeys(expected))
    counts = Counter(effects)
    for item in wanted:
        if counts[item] == 0:
            raise CheckFailed(
                f"`{item}` was never {what}: the handler must still act on a message it has not "
                "seen before."
            )
        if counts[item] > 1:
            raise CheckFailed(
                f"`{item}` was {what} {counts[item]} times, expected once: the broker delivers "
                "at least once, so remember which ids you have handled and skip repeats."
            )
    strays = [item for item in counts if item not in wanted]
    if strays:
        raise CheckFailed(f"`{strays[0]}` was {what} but is not one of the exercise's ids.")
    return f"each of the {len(wanted)} ids was {what} exactly once."
