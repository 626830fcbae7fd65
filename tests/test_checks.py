"""The exercise checks: pass with a sentence, or fail naming the queue or message and a hint."""

from __future__ import annotations

import json

import pytest

from melange_lab import (
    MessagingBackendFactory,
    QueuePublisher,
    SimulatedBroker,
    TopicPublisher,
    checks,
)
from melange_lab.checks import CheckFailed
from melange_lab.errors import MelangeLabError
from melange_lab.serializers import SerializerRegistry


def publish_orders(broker: SimulatedBroker, registry: SerializerRegistry) -> None:
    publisher = TopicPublisher(registry, broker.backend)
    for kind in ["OrderCreated", "OrderCancelled", "OrderCreated"]:
        publisher.publish("orders", {"kind": kind}, message_attributes={"kind": kind})


def test_check_failed_is_a_lab_error_and_an_assertion() -> None:
    assert issubclass(CheckFailed, MelangeLabError)
    assert issubclass(CheckFailed, AssertionError)


def test_only_manifests_reach_names_the_missing_filter_policy(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("billing", ["orders"])
    publish_orders(broker, registry)
    with pytest.raises(CheckFailed, match="received 3 messages, expected 0") as failure:
        checks.only_manifests_reach(broker, "billing", "orders", ["OrderCreated"])
    assert "its subscription has no filter policy" in str(failure.value)


def test_only_manifests_reach_passes_with_the_right_filter(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue(
        "billing", ["orders"], filter_events=["json"]
    )
    publish_orders(broker, registry)
    message = checks.only_manifests_reach(broker, "billing", "orders", ["json"])
    assert "received the 3 json messages" in message


def test_only_manifests_reach_says_when_the_filter_keeps_wanted_messages_out(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue(
        "billing", ["orders"], filter_events=["OrderCreated"]
    )
    publish_orders(broker, registry)
    with pytest.raises(CheckFailed, match=r"received 0 of the 3 json messages.*keeps them out"):
        checks.only_manifests_reach(broker, "billing", "orders", ["json"])


def test_checks_name_a_missing_queue_and_list_the_existing_ones(broker: SimulatedBroker) -> None:
    MessagingBackendFactory(broker.backend).init_queue("shipping")
    with pytest.raises(CheckFailed, match=r"queue `billing` does not exist \(.*`shipping`\)"):
        checks.queue_drained(broker, "billing")


def test_checks_say_so_when_the_broker_was_stopped(broker: SimulatedBroker) -> None:
    broker.stop()
    with pytest.raises(CheckFailed, match="the broker was stopped"):
        checks.queue_drained(broker, "billing")


def test_every_queue_gets_every_event_names_the_unsubscribed_queue(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    factory = MessagingBackendFactory(broker.backend)
    factory.init_queue("billing", ["orders"])
    factory.init_queue("email")
    publish_orders(broker, registry)
    assert "all 3 messages" in checks.every_queue_gets_every_event(broker, "orders", ["billing"])
    with pytest.raises(CheckFailed, match=r"`email` received 0 of the 3.*not subscribed"):
        checks.every_queue_gets_every_event(broker, "orders", ["billing", "email"])


def test_every_queue_gets_every_event_needs_something_published(broker: SimulatedBroker) -> None:
    MessagingBackendFactory(broker.backend).init_queue("billing", ["orders"])
    with pytest.raises(CheckFailed, match="nothing was published to topic `orders`"):
        checks.every_queue_gets_every_event(broker, "orders", ["billing"])


def test_subscribers_are_exactly_names_a_stray_queue(broker: SimulatedBroker) -> None:
    factory = MessagingBackendFactory(broker.backend)
    factory.init_queue("billing", ["orders"])
    factory.init_queue("shared", ["orders"])
    with pytest.raises(CheckFailed, match="`shared` is still subscribed to `orders`"):
        checks.subscribers_are_exactly(broker, "orders", ["billing"])
    with pytest.raises(CheckFailed, match="`email` is not subscribed"):
        checks.subscribers_are_exactly(broker, "orders", ["billing", "shared", "email"])


def run_payments(
    broker: SimulatedBroker, registry: SerializerRegistry, rounds: int
) -> tuple[list[str], list[str]]:
    """Publishes a good and a poison payment, then consumes for ``rounds`` visibility timeouts."""
    publisher = QueuePublisher(registry, broker.backend)
    published = [publisher.publish("payments", {"ok": ok}) for ok in (True, False)]
    processed: list[str] = []
    queue = broker.backend.get_queue("payments")
    for _ in range(rounds):
        for message in broker.backend.retrieve_messages(queue, visibility_timeout=10):
            if json.loads(message.content)["ok"]:
                processed.append(str(message.message_id))
                broker.backend.acknowledge(message)
        broker.clock.advance(10)
    return published, processed


def test_dead_letter_checks_pass_when_the_poison_message_moved_after_three_tries(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue(
        "payments", dlq_name="payments-dlq", max_receive_count=3
    )
    published, processed = run_payments(broker, registry, rounds=5)
    assert checks.dead_letter_queue_configured(broker, "payments", "payments-dlq", 3)
    assert "after 3 tries" in checks.dead_lettered_after(broker, "payments", receives=3)
    assert "1 kept in a dead-letter queue" in checks.nothing_lost(broker, published, processed)


def test_dead_letter_checks_name_the_wrong_receive_count(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("payments", dlq_name="payments-dlq")
    run_payments(broker, registry, rounds=6)
    with pytest.raises(CheckFailed, match=r"after 4 receives .*expected 3"):
        checks.dead_letter_queue_configured(broker, "payments", "payments-dlq", 3)
    with pytest.raises(CheckFailed, match="after 4 receives, expected 3"):
        checks.dead_lettered_after(broker, "payments", receives=3)


def test_nothing_lost_names_a_message_still_waiting_without_a_dlq(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("payments")
    published, processed = run_payments(broker, registry, rounds=3)
    with pytest.raises(CheckFailed, match=r"no message was moved from `payments`.*no dead-letter"):
        checks.dead_lettered_after(broker, "payments", receives=3)
    with pytest.raises(CheckFailed, match=f"{published[1][:8]} is still waiting in `payments`"):
        checks.nothing_lost(broker, published, processed)


def test_nothing_lost_names_a_message_acknowledged_before_processing(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("invoices")
    message_id = QueuePublisher(registry, broker.backend).publish("invoices", {"n": 1})
    queue = broker.backend.get_queue("invoices")
    for message in broker.backend.retrieve_messages(queue):
        broker.backend.acknowledge(message)
    with pytest.raises(CheckFailed, match="acknowledged \\(deleted\\) but never processed"):
        checks.nothing_lost(broker, [message_id], [])
    with pytest.raises(CheckFailed, match="no message ids were recorded"):
        checks.nothing_lost(broker, [], [])


def test_queue_drained_counts_what_is_left(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("invoices")
    QueuePublisher(registry, broker.backend).publish("invoices", {"n": 1})
    with pytest.raises(CheckFailed, match=r"still holds 1 message\(s\) \(1 visible, 0 in flight\)"):
        checks.queue_drained(broker, "invoices")


def publish_fifo(broker: SimulatedBroker, registry: SerializerRegistry, group: str | None) -> None:
    MessagingBackendFactory(broker.backend).init_queue("orders.fifo")
    publisher = QueuePublisher(registry, broker.backend)
    for customer in ["ana", "ben", "ana"]:
        publisher.publish("orders.fifo", {"customer": customer}, message_group_id=group or customer)


def test_fifo_groups_by_passes_with_one_group_per_customer(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    publish_fifo(broker, registry, group=None)
    message = checks.fifo_groups_by(broker, "orders.fifo", key=lambda event: event["customer"])
    assert "2 groups" in message


def test_fifo_groups_by_names_a_group_shared_by_customers(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    publish_fifo(broker, registry, group="all")
    with pytest.raises(CheckFailed, match="group `all` holds the messages of 2 keys"):
        checks.fifo_groups_by(broker, "orders.fifo", key=lambda event: event["customer"])


def test_fifo_groups_by_refuses_a_standard_queue(broker: SimulatedBroker) -> None:
    MessagingBackendFactory(broker.backend).init_queue("orders")
    with pytest.raises(CheckFailed, match="`orders` is not FIFO"):
        checks.fifo_groups_by(broker, "orders", key=str)


def test_order_kept_per_key_names_the_key_out_of_order() -> None:
    handled = [("ana", 1), ("ben", 1), ("ana", 3), ("ana", 2)]
    with pytest.raises(CheckFailed, match="events of `ana` were handled in the order 1, 3, 2"):
        checks.order_kept_per_key(handled, key=lambda e: e[0], position=lambda e: e[1], expected=4)
    with pytest.raises(CheckFailed, match="4 of the 5 events were handled"):
        checks.order_kept_per_key(handled, key=lambda e: e[0], position=lambda e: e[1], expected=5)
    assert checks.order_kept_per_key(
        handled[:3], key=lambda e: e[0], position=lambda e: e[1], expected=3
    )


def test_each_effect_once_names_the_duplicate_and_the_missing() -> None:
    with pytest.raises(CheckFailed, match="`pay-2` was charged 2 times, expected once"):
        checks.each_effect_once(["pay-1", "pay-2", "pay-2"], ["pay-1", "pay-2"], "charged")
    with pytest.raises(CheckFailed, match="`pay-2` was never charged"):
        checks.each_effect_once(["pay-1"], ["pay-1", "pay-2"], "charged")
    assert "exactly once" in checks.each_effect_once(["b", "a"], ["a", "b"], "charged")


def test_a_look_alike_broker_fails_every_broker_check(broker: SimulatedBroker) -> None:
    class LookAlike:
        events = broker.events

        def queues(self) -> list[object]:
            return []

    with pytest.raises(CheckFailed, match=r"`broker` is not the SimulatedBroker .* a LookAlike"):
        checks.queue_drained(LookAlike(), "billing")  # type: ignore[arg-type]


def test_a_message_listed_as_processed_must_have_been_received(
    broker: SimulatedBroker, registry: SerializerRegistry
) -> None:
    MessagingBackendFactory(broker.backend).init_queue("invoices")
    message_id = QueuePublisher(registry, broker.backend).publish("invoices", {"n": 1})
    with pytest.raises(CheckFailed, match=f"{message_id[:8]} is listed as processed but was never"):
        checks.nothing_lost(broker, [message_id], [message_id])


def test_batch_goes_on_says_when_one_failure_stopped_the_rest() -> None:
    published = ["m1", "m2", "m3", "m4"]
    assert "3 of 4 processed" in checks.batch_goes_on(["m1", "m3", "m4"], published, failing=1)
    with pytest.raises(CheckFailed, match=r"processed 1 of the 4 messages.*must not stop"):
        checks.batch_goes_on(["m1"], published, failing=1)
    with pytest.raises(CheckFailed, match="although 1 of them were set up to fail"):
        checks.batch_goes_on(published, published, failing=1)


def test_plain_values_are_required_where_the_notebook_made_plain_values() -> None:
    class Sneaky(str):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = str.__hash__

    with pytest.raises(CheckFailed, match="`charged` holds a Sneaky"):
        checks.each_effect_once([Sneaky("x")], ["pay-1"], "charged")
    with pytest.raises(CheckFailed, match="given no ids"):
        checks.each_effect_once([], [], "charged")
