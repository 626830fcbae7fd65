"""Checks for the classroom exercises: each passes with a short message, or says what is wrong.

A check looks at a broker only through the look-inside API (``queues()``, ``subscriptions()``,
``peek()``) and its event log, and at plain values the student's code produced. It returns a
sentence to print when all is well, and otherwise raises ``CheckFailed`` naming the queue or
message at fault, with a hint. ``CheckFailed`` is also an ``AssertionError``, so nbgrader and
pytest count it as a failed test.

Every ``CheckFailed`` is raised with a literal message template and its values: the grader
accepts a failure from a sandboxed notebook only as one of these templates (read from this
file) filled with short values, so a student's code cannot put its own text in the feedback.
Checks also refuse look-alike objects: a ``broker`` that is not a real ``SimulatedBroker``, or
values that are not plain strings and numbers, fail instead of being trusted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from melange_lab.backends.sqs import Subscription
from melange_lab.broker import SimulatedBroker
from melange_lab.errors import BrokerStopped
from melange_lab.errors import CheckFailed as CheckFailed  # its path here stays
from melange_lab.events import Event, EventKind, EventLog
from melange_lab.inspection import PeekedMessage, QueueInfo

T = TypeVar("T")
PLAIN_TYPES = (str, int, float, bool, type(None))


def _real_broker(broker: object) -> SimulatedBroker:
    """``broker`` itself, if it is a real simulated broker and not a look-alike."""
    if type(broker) is not SimulatedBroker or type(vars(broker).get("events")) is not EventLog:
        raise CheckFailed(
            "`broker` is not the SimulatedBroker the setup cell created (it is a {kind}): do "
            "not replace `broker` or its event log; re-run the notebook from the top.",
            kind=type(broker).__name__,
        )
    return broker


def _broker_call(look: Callable[[], T]) -> T:
    """Runs a look inside the broker, turning a stopped broker into a failed check."""
    try:
        return look()
    except BrokerStopped:
        raise CheckFailed(
            "the broker was stopped, so there is nothing left to check: do not call "
            "broker.stop() (or replace `broker`) in your answer; re-run the notebook from the top."
        ) from None


def _plain_list(values: object, what: str) -> list[Any]:
    """``values`` as a list of plain strings and numbers, refusing look-alike containers."""
    if type(values) not in (list, tuple):
        raise CheckFailed(
            "`{what}` is a {kind}, not the plain list the notebook made: do not replace it; "
            "re-run the notebook from the top.",
            what=what,
            kind=type(values).__name__,
        )
    items: list[Any] = list(values)  # type: ignore[call-overload]
    for item in items:
        if type(item) not in PLAIN_TYPES:
            raise CheckFailed(
                "`{what}` holds a {kind}, where the notebook puts plain ids: do not change it "
                "in your answer; re-run the notebook from the top.",
                what=what,
                kind=type(item).__name__,
            )
    return items


def _queues(broker: object) -> dict[str, QueueInfo]:
    real = _real_broker(broker)
    infos = _broker_call(lambda: SimulatedBroker.queues(real))
    return {info.name: info for info in infos}


def _queue(broker: object, name: str) -> QueueInfo:
    queues = _queues(broker)
    if name not in queues:
        existing = ", ".join(f"`{q}`" for q in sorted(queues)) or "none"
        raise CheckFailed(
            "queue `{name}` does not exist (queues on the broker: {existing}): declare it, "
            "e.g. MessagingBackendFactory(broker.backend).init_queue('{name}', ...).",
            name=name,
            existing=existing,
        )
    return queues[name]


def _subscriptions(broker: object) -> list[Subscription]:
    real = _real_broker(broker)
    return _broker_call(lambda: SimulatedBroker.subscriptions(real))


def _subscription(broker: object, topic: str, queue: str) -> Subscription | None:
    for subscription in _subscriptions(broker):
        if subscription.topic == topic and subscription.queue == queue:
            return subscription
    return None


def _peek(broker: object, queue: str) -> list[PeekedMessage]:
    real = _real_broker(broker)
    return _broker_call(lambda: SimulatedBroker.peek(real, queue))


def _events(broker: object, kind: EventKind) -> list[Event]:
    return EventLog.of_kind(vars(_real_broker(broker))["events"], kind)


def _published_to_topic(broker: object, topic: str) -> dict[str, str | None]:
    """Message id -> manifest of every message published to ``topic``, in order."""
    published = {
        event.message_id: event.detail.get("manifest")
        for event in _events(broker, EventKind.PUBLISHED)
        if event.topic == topic and event.message_id
    }
    if not published:
        raise CheckFailed(
            "nothing was published to topic `{topic}` yet: run every cell above this one, "
            "in order, and fix the first one that fails.",
            topic=topic,
        )
    return published


def _delivered(broker: object, topic: str, queue: str) -> list[str]:
    """The topic's message ids (the ids they were published under) ``queue`` got a copy of."""
    return [
        event.published_id
        for event in _events(broker, EventKind.DELIVERED)
        if event.topic == topic and event.queue == queue and event.published_id
    ]


def _why_not_delivered(broker: object, topic: str, queue: str) -> str:
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


def _no_copy_twice(broker: object, topic: str, queue: str, delivered: list[str]) -> None:
    twice = [message_id for message_id, n in Counter(delivered).items() if n > 1]
    if twice:
        raise CheckFailed(
            "queue `{queue}` received message {short} {times} times from `{topic}`: it is "
            "subscribed more than once; subscribe each queue once.",
            queue=queue,
            short=twice[0][:8],
            times=Counter(delivered)[twice[0]],
            topic=topic,
        )


def only_manifests_reach(
    broker: SimulatedBroker, queue: str, topic: str, manifests: Sequence[str]
) -> str:
    """``queue`` got every message of ``topic`` whose manifest is listed, once, and no other."""
    _queue(broker, queue)
    published = _published_to_topic(broker, topic)
    subscription = _subscription(broker, topic, queue)
    if subscription is None:
        raise CheckFailed(
            "queue `{queue}` is not subscribed to topic `{topic}`, so it receives nothing: "
            "declare it with init_queue('{queue}', ['{topic}'], filter_events=[...]).",
            queue=queue,
            topic=topic,
        )
    delivered_ids = _delivered(broker, topic, queue)
    _no_copy_twice(broker, topic, queue, delivered_ids)
    delivered = [published.get(message_id) for message_id in delivered_ids]
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
            "queue `{queue}` received {got} messages, expected {expected} (only {names}): {why}.",
            queue=queue,
            got=len(delivered),
            expected=len(wanted),
            names=_names(manifests),
            why=why,
        )
    if len(delivered) < len(wanted):
        raise CheckFailed(
            "queue `{queue}` received {got} of the {expected} {names} messages: {why} "
            "(hint: a message's manifest is its class name).",
            queue=queue,
            got=len(delivered),
            expected=len(wanted),
            names=_names(manifests),
            why=_why_not_delivered(broker, topic, queue),
        )
    others = len(published) - len(wanted)
    return (
        f"queue `{queue}` received the {len(wanted)} {_names(manifests)} messages "
        f"and none of the {others} others."
    )


def every_queue_gets_every_event(broker: SimulatedBroker, topic: str, queues: Sequence[str]) -> str:
    """Each queue in ``queues`` got its own copy of every message published to ``topic``, once."""
    if not queues:
        raise CheckFailed("no queues were named: the check needs the services' queue names.")
    for queue in queues:
        _queue(broker, queue)
    published = _published_to_topic(broker, topic)
    for queue in queues:
        delivered = _delivered(broker, topic, queue)
        got = set(delivered)
        if not set(published) <= got:
            raise CheckFailed(
                "queue `{queue}` received {got} of the {total} messages published to "
                "`{topic}`: {why}.",
                queue=queue,
                got=len(got & set(published)),
                total=len(published),
                topic=topic,
                why=_why_not_delivered(broker, topic, queue),
            )
        _no_copy_twice(broker, topic, queue, delivered)
    return (
        f"each of the {len(queues)} queues ({', '.join(queues)}) received all "
        f"{len(published)} messages published to `{topic}`."
    )


def subscribers_are_exactly(broker: SimulatedBroker, topic: str, queues: Sequence[str]) -> str:
    """``topic`` fans out to exactly ``queues``: none missing, no stray extra subscriber."""
    subscribed = [s.queue for s in _subscriptions(broker) if s.topic == topic]
    extra = sorted(set(subscribed) - set(queues))
    missing = sorted(set(queues) - set(subscribed))
    if extra:
        raise CheckFailed(
            "queue `{queue}` is still subscribed to `{topic}`, so it keeps collecting copies "
            "nobody needs: delete it with broker.backend.delete_queue("
            "broker.backend.get_queue('{queue}')).",
            queue=extra[0],
            topic=topic,
        )
    if missing:
        raise CheckFailed(
            "queue `{queue}` is not subscribed to `{topic}`: subscribe it, e.g. "
            "init_queue('{queue}', ['{topic}']).",
            queue=missing[0],
            topic=topic,
        )
    twice = sorted(q for q, n in Counter(subscribed).items() if n > 1)
    if twice:
        raise CheckFailed(
            "queue `{queue}` is subscribed to `{topic}` more than once, so it gets each "
            "message twice: subscribe each queue once.",
            queue=twice[0],
            topic=topic,
        )
    return f"`{topic}` fans out to exactly {len(queues)} queues: {', '.join(sorted(queues))}."


def dead_letter_queue_configured(
    broker: SimulatedBroker, queue: str, dead_letter_queue: str, max_receive_count: int
) -> str:
    """``queue`` moves a message to ``dead_letter_queue`` after ``max_receive_count`` receives."""
    info = _queue(broker, queue)
    if info.dead_letter_queue is None:
        raise CheckFailed(
            "queue `{queue}` has no dead-letter queue, so a message that always fails is "
            "retried for ever: declare it with dlq_name='{dlq}'.",
            queue=queue,
            dlq=dead_letter_queue,
        )
    if info.dead_letter_queue != dead_letter_queue:
        raise CheckFailed(
            "queue `{queue}` sends failed messages to `{actual}`, expected `{dlq}`: use "
            "dlq_name='{dlq}'.",
            queue=queue,
            actual=info.dead_letter_queue,
            dlq=dead_letter_queue,
        )
    _queue(broker, dead_letter_queue)
    if info.max_receive_count != max_receive_count:
        raise CheckFailed(
            "queue `{queue}` moves a message after {actual} receives (maxReceiveCount), "
            "expected {expected}: pass max_receive_count={expected}.",
            queue=queue,
            actual=info.max_receive_count,
            expected=max_receive_count,
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
        raise CheckFailed(
            "no message was moved from `{queue}` to a dead-letter queue: {hint}.",
            queue=queue,
            hint=hint,
        )
    received = _events(broker, EventKind.RECEIVED)
    for move in moves:
        tries = sum(1 for e in received if e.message_id == move.message_id and e.seq < move.seq)
        if tries != receives:
            raise CheckFailed(
                "message {short} was moved to `{dlq}` after {tries} receives, expected "
                "{receives}: set max_receive_count={receives} on `{queue}`.",
                short=str(move.message_id)[:8],
                dlq=move.detail.get("dead_letter_queue"),
                tries=tries,
                receives=receives,
                queue=queue,
            )
    return (
        f"{len(moves)} message(s) moved from `{queue}` to its dead-letter queue after "
        f"{receives} tries."
    )


def _stored(broker: object) -> dict[str, tuple[QueueInfo, PeekedMessage]]:
    """Message id -> (queue, message) for every message stored on the broker."""
    found: dict[str, tuple[QueueInfo, PeekedMessage]] = {}
    for info in _queues(broker).values():
        for message in _peek(broker, info.name):
            found[message.message_id] = (info, message)
    return found


def nothing_lost(
    broker: SimulatedBroker, message_ids: Iterable[str], processed_ids: Iterable[str]
) -> str:
    """Every published message was processed, or is kept in a dead-letter queue.

    A message counts as processed only if the broker really handed it out.
    """
    ids = _plain_list(message_ids, "published")
    if not ids:
        raise CheckFailed(
            "no message ids were recorded as published: run every cell above, in order, and "
            "fix the first one that fails."
        )
    received = {e.message_id for e in _events(broker, EventKind.RECEIVED)}
    processed = set(_plain_list(processed_ids, "processed"))
    acknowledged = {e.message_id for e in _events(broker, EventKind.ACKNOWLEDGED)}
    stored = _stored(broker)
    parked = 0
    for message_id in ids:
        short = str(message_id)[:8]
        if message_id in processed:
            if message_id not in received:
                raise CheckFailed(
                    "message {short} is listed as processed but was never received from a "
                    "queue: only a message the consumer handled counts; do not add ids by hand.",
                    short=short,
                )
            continue
        if message_id in stored:
            info, message = stored[message_id]
            if info.is_dead_letter_queue:
                parked += 1
                continue
            raise CheckFailed(
                "message {short} is still waiting in `{queue}` (received {count} times) and was "
                "never processed: your consumer must handle it, or give up on it through a "
                "dead-letter queue.",
                short=short,
                queue=info.name,
                count=message.receive_count,
            )
        if message_id in acknowledged:
            raise CheckFailed(
                "message {short} was acknowledged (deleted) but never processed successfully, "
                "so it is lost for good: acknowledge a message only after its handler returned.",
                short=short,
            )
        raise CheckFailed(
            "message {short} is in no queue and was never processed: it is lost "
            "(was its queue deleted or purged?).",
            short=short,
        )
    return (
        f"nothing lost: {len(ids) - parked} message(s) processed, {parked} kept in a "
        "dead-letter queue."
    )


def batch_goes_on(processed_ids: Iterable[str], message_ids: Iterable[str], failing: int) -> str:
    """After one batch, every message but the ``failing`` ones was processed.

    One message whose handler fails must not stop the rest of its batch.
    """
    ids = _plain_list(message_ids, "published")
    done = set(_plain_list(processed_ids, "first_batch")) & set(ids)
    expected = len(ids) - failing
    if not ids:
        raise CheckFailed(
            "no message ids were recorded as published: run every cell above, in order, and "
            "fix the first one that fails."
        )
    if len(done) < expected:
        raise CheckFailed(
            "the first batch processed {done} of the {total} messages, but only {failing} of "
            "them could not be handled: one failing message must not stop the rest of the "
            "batch; catch the handler's error, leave that message unacknowledged, and go on.",
            done=len(done),
            total=len(ids),
            failing=failing,
        )
    if len(done) > expected:
        raise CheckFailed(
            "the first batch processed {done} of the {total} messages although {failing} of "
            "them were set up to fail: do not change the setup; re-run the notebook from the "
            "top.",
            done=len(done),
            total=len(ids),
            failing=failing,
        )
    return f"the first batch went on after its failure: {len(done)} of {len(ids)} processed."


def queue_drained(broker: SimulatedBroker, queue: str) -> str:
    """``queue`` holds no message at all: everything received was acknowledged."""
    info = _queue(broker, queue)
    if info.total:
        raise CheckFailed(
            "queue `{queue}` still holds {total} message(s) ({visible} visible, {in_flight} in "
            "flight): a message stays until it is acknowledged, so acknowledge each one once "
            "its handler succeeded.",
            queue=queue,
            total=info.total,
            visible=info.visible,
            in_flight=info.in_flight,
        )
    return f"queue `{queue}` is empty: every message was acknowledged."


def _key_of(key: Callable[[Any], Hashable], item: Any, where: str) -> Hashable:
    try:
        value = key(item)
    except Exception as error:
        raise CheckFailed(
            "{where} is not one of the exercise's events ({error}): publish the events as given.",
            where=where,
            error=type(error).__name__,
        ) from None
    if type(value) not in PLAIN_TYPES:
        raise CheckFailed(
            "{where} is not one of the exercise's events: publish the events as given.",
            where=where,
        )
    return value


def fifo_groups_by(
    broker: SimulatedBroker,
    queue: str,
    key: Callable[[Any], Hashable],
    expected: int | None = None,
) -> str:
    """``queue`` is FIFO and holds one message group per ``key(payload)`` (and ``expected``
    messages, when given)."""
    info = _queue(broker, queue)
    if not info.fifo:
        raise CheckFailed(
            "queue `{queue}` is not FIFO: FIFO queue names end in `.fifo`.", queue=queue
        )
    messages = _peek(broker, queue)
    if not messages:
        raise CheckFailed(
            "queue `{queue}` is empty: publish the events into it first.", queue=queue
        )
    if expected is not None and len(messages) != expected:
        raise CheckFailed(
            "queue `{queue}` holds {count} messages, expected {expected}: publish each of the "
            "exercise's events once.",
            queue=queue,
            count=len(messages),
            expected=expected,
        )
    groups: dict[Hashable, set[str | None]] = defaultdict(set)
    owners: dict[str | None, set[Hashable]] = defaultdict(set)
    for message in messages:
        payload = message.payload
        if type(payload) is not dict:
            raise CheckFailed(
                "message {short} in `{queue}` is not one of the exercise's events: publish the "
                "events as given.",
                short=message.short_id,
                queue=queue,
            )
        owner = _key_of(key, payload, f"message {message.short_id} in `{queue}`")
        groups[owner].add(message.message_group_id)
        owners[message.message_group_id].add(owner)
    for owner, ids in groups.items():
        if len(ids) > 1:
            raise CheckFailed(
                "the messages of `{owner}` are spread over {count} groups, so FIFO does not "
                "keep their order: give all of them the same message_group_id.",
                owner=owner,
                count=len(ids),
            )
    for group, members in owners.items():
        if len(members) > 1:
            raise CheckFailed(
                "group `{group}` holds the messages of {count} keys ({keys}), so each waits for "
                "the others: use one message_group_id per key, e.g. the customer id.",
                group=group,
                count=len(members),
                keys=", ".join(sorted(map(str, members))),
            )
    return f"`{queue}` is FIFO with one message group per key ({len(groups)} groups)."


def order_kept_per_key(
    handled: Sequence[Any],
    key: Callable[[Any], Hashable],
    position: Callable[[Any], Any],
    expected: int,
) -> str:
    """All ``expected`` items were handled, and each key's items in increasing ``position``."""
    if type(handled) not in (list, tuple) or not all(
        type(item) in (dict, tuple, *PLAIN_TYPES) for item in handled
    ):
        raise CheckFailed(
            "`handled` is not the plain list of events the notebook made: do not replace it; "
            "re-run the notebook from the top."
        )
    if len(handled) != expected:
        raise CheckFailed(
            "{count} of the {expected} events were handled: run every cell above, in order, "
            "and fix the first one that fails.",
            count=len(handled),
            expected=expected,
        )
    seen: dict[Hashable, list[Any]] = defaultdict(list)
    for number, item in enumerate(handled, 1):
        where = f"handled event {number}"
        seen[_key_of(key, item, where)].append(_key_of(position, item, where))
    for owner, positions in seen.items():
        if positions != sorted(positions):
            raise CheckFailed(
                "the events of `{owner}` were handled in the order {order}: a FIFO queue keeps "
                "order only within one message group, so publish each key's events with the "
                "same message_group_id.",
                owner=owner,
                order=", ".join(map(str, positions)),
            )
    return f"all {expected} events handled, each key's in order ({len(seen)} keys)."


def each_effect_once(effects: Sequence[Hashable], expected: Iterable[Hashable], what: str) -> str:
    """Each of ``expected`` appears exactly once in ``effects`` (e.g. each payment charged once).

    ``what`` names the effect in the message, e.g. ``"charged"``.
    """
    wanted = list(dict.fromkeys(_plain_list(list(expected), "expected")))
    if not wanted:
        raise CheckFailed(
            "the check was given no ids to look for: do not change the exercise's data; "
            "re-run the notebook from the top."
        )
    counts = Counter(_plain_list(effects, what))
    for item in wanted:
        if counts[item] == 0:
            raise CheckFailed(
                "`{item}` was never {what}: the handler must still act on a message it has not "
                "seen before.",
                item=item,
                what=what,
            )
        if counts[item] > 1:
            raise CheckFailed(
                "`{item}` was {what} {count} times, expected once: the broker delivers at least "
                "once, so remember which ids you have handled and skip repeats.",
                item=item,
                what=what,
                count=counts[item],
            )
    strays = [item for item in counts if item not in wanted]
    if strays:
        raise CheckFailed(
            "`{item}` was {what} but is not one of the exercise's ids.", item=strays[0], what=what
        )
    return f"each of the {len(wanted)} ids was {what} exactly once."
