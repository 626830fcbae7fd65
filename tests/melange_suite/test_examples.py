"""melange 7.2.0's examples and README snippets, ported by the rule, do on the lab what they
do on real melange; where they fail on melange too, the lab's error says why and the fix.

Each example is a script; ``run`` executes one as ``__main__`` in this process. Services that
melange runs side by side (each its own process, polling forever) run here in threads, where
``consume_loop`` keeps waiting until the broker stops, as melange's loop would.
"""

from __future__ import annotations

import runpy
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from melange_lab import Consumer, MessageDispatcher, QueuePublisher, SimulatedBroker
from melange_lab.backends import BackendManager
from melange_lab.errors import MelangeLabError, SerializationError, SerializerNotFound
from melange_lab.serializers import JsonSerializer, SerializerRegistry

EXAMPLES = "tests.melange_suite.examples"


def run(script: str, *argv: str) -> dict[str, Any]:
    """Runs ``examples/<script>.py`` as ``python <script>.py argv...`` would."""
    saved = sys.argv
    sys.argv = [f"{script}.py", *argv]
    try:
        return runpy.run_module(f"{EXAMPLES}.{script}", run_name="__main__")
    finally:
        sys.argv = saved


@pytest.fixture
def broker() -> SimulatedBroker:
    """The broker every example's backend line shares."""
    return SimulatedBroker.default()


@pytest.fixture
def services(broker: SimulatedBroker) -> Iterator[Callable[[str], None]]:
    """Starts example services in threads; stopping the broker ends them, as it must."""
    threads: list[threading.Thread] = []

    def start(script: str) -> None:
        thread = threading.Thread(target=run, args=(script,), name=script, daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    broker.stop()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a service did not end with its broker"


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the services"
        time.sleep(0.05)


def manifests(broker: SimulatedBroker, queue: str) -> list[str | None]:
    return [message.manifest for message in broker.peek(queue)]


# -- docs: getting started, publishers, factory, default backend ------------------------------


def test_tutorial_create_queue_declares_it(broker: SimulatedBroker) -> None:
    run("doc_examples.tutorial.create_queue")
    assert "melangetutorial-queue" in [q.name for q in broker.queues()]


@pytest.mark.parametrize(
    "script",
    [
        "doc_examples.tutorial.publish",
        "readme_publish",
        "doc_examples.topic_publish",
        "doc_examples.backend_manager",
    ],
)
def test_publishing_an_unbound_message_fails_as_on_melange_naming_the_type_and_the_fix(
    broker: SimulatedBroker, script: str
) -> None:
    # melange raises Exception("No serializer could be found for the type <class ...>")
    run("doc_examples.tutorial.create_queue")
    with pytest.raises(SerializerNotFound) as error:
        run(script)
    text = str(error.value)
    assert "MyTestMessage" in text and "DomainEvent -> 'pickle'" in text
    assert '"serializer_bindings": {MyTestMessage: "pickle"}' in text
    assert '"default": "pickle"' in text
    assert broker.peek("melangetutorial-queue") == []


def test_backend_manager_example_sets_the_default_backend(broker: SimulatedBroker) -> None:
    run("doc_examples.tutorial.create_queue")
    with pytest.raises(SerializerNotFound):
        run("doc_examples.backend_manager")
    assert BackendManager().get_default_backend() is broker.backend


@pytest.mark.parametrize("script", ["doc_examples.tutorial.consume", "readme_consume"])
def test_tutorial_consumer_on_the_main_thread_returns_when_the_queue_is_drained(
    broker: SimulatedBroker, script: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # melange's loop would poll forever; a notebook cell must end instead
    run("doc_examples.tutorial.create_queue")
    run(script)
    assert capsys.readouterr().out == "Consuming...\n"


def test_factory_queue_declares_a_fifo_queue_with_content_based_deduplication(
    broker: SimulatedBroker,
) -> None:
    run("doc_examples.factory_queue")
    attributes = broker.backend.get_queue("payment-updates.fifo").unwrapped_obj.attributes
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"


def test_factory_topic_declares_the_topic(broker: SimulatedBroker) -> None:
    run("doc_examples.factory_topic")
    assert [t.name for t in broker.topics()] == ["my-topic"]


def test_factory_complete_fails_as_on_melange_but_says_a_queue_cannot_be_its_own_dlq(
    broker: SimulatedBroker,
) -> None:
    # melange: TypeError, init_queue() got multiple values for 'dead_letter_queue_name'
    with pytest.raises(MelangeLabError, match="cannot be its own dead-letter queue") as error:
        run("doc_examples.factory_complete")
    assert "dlq_name='payment-updates-dlq.fifo'" in str(error.value)
    assert broker.topics() == [] and broker.queues() == []  # nothing half-declared


def test_serializer_example_round_trips_a_bunch_through_a_queue(broker: SimulatedBroker) -> None:
    from bunch_py3 import Bunch

    from tests.melange_suite.examples.doc_examples.serializer_example import MyOwnSerializer

    registry = SerializerRegistry(
        {
            "serializers": {"json": JsonSerializer, "yourown": MyOwnSerializer},
            "serializer_bindings": {dict: "json", Bunch: "yourown"},
        }
    )
    broker.backend.declare_queue("bunches")
    QueuePublisher(registry, broker.backend).publish("bunches", Bunch(order=7))
    received: list[Any] = []
    dispatcher = MessageDispatcher(registry, backend=broker.backend)
    dispatcher.attach_consumer(Consumer(on_message=received.append))
    dispatcher.consume_loop("bunches")
    assert manifests(broker, "bunches") == []
    assert isinstance(received[0], Bunch) and received[0].order == 7
    with pytest.raises(SerializationError, match="cannot be used with this serializer"):
        MyOwnSerializer().serialize(42)


# -- the payment service and the saga ----------------------------------------------------------


@pytest.mark.parametrize("app", ["payment_service.app", "payment_service.app_simpleconsumer"])
def test_payment_service_pays_a_triggered_order_and_reports_its_status(
    broker: SimulatedBroker, app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run("init_queues")
    run("payment_service.triggerer", "REF88888")
    run(app)  # on the main thread it returns once the queue is drained
    out = capsys.readouterr().out
    assert "Queues created." in out and "Order with reference REF88888 sent." in out
    assert "Order REF88888 paid successfully" in out
    assert manifests(broker, "payment-updates") == []
    assert manifests(broker, "order-updates") == ["OrderStatus"]
    assert manifests(broker, "saga-updates") == ["OrderStatus"]


def test_payment_service_started_first_pays_an_order_triggered_later(
    services: Callable[[str], None], broker: SimulatedBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    run("init_queues")
    services("payment_service.app")
    time.sleep(0.3)  # the service is idle, waiting, as melange's would be
    run("payment_service.triggerer", "REF1")
    wait_for(lambda: manifests(broker, "order-updates") == ["OrderStatus"])
    assert "Order REF1 paid successfully" in capsys.readouterr().out


def test_draft_consumer_accepts_nothing_so_the_order_is_acknowledged_unpaid(
    broker: SimulatedBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    # consumer_draft.accepts() compares the decoded message with manifest names: never true
    from tests.melange_suite.examples.payment_service.consumer_draft import PaymentConsumer
    from tests.melange_suite.examples.payment_service.publisher import PaymentPublisher
    from tests.melange_suite.examples.payment_service.repository import PaymentRepository
    from tests.melange_suite.examples.payment_service.service import PaymentService
    from tests.melange_suite.examples.shared import serializer_registry

    run("init_queues")
    run("payment_service.triggerer", "REF2")
    repository = PaymentRepository()
    draft = PaymentConsumer(
        PaymentService(
            repository, PaymentPublisher(QueuePublisher(serializer_registry, broker.backend))
        )
    )
    dispatcher = MessageDispatcher(serializer_registry, backend=broker.backend)
    dispatcher.attach_consumer(draft)
    summary = dispatcher.consume_loop("payment-updates")
    assert (summary.unhandled, summary.acknowledged) == (1, 1)
    assert repository.payments == {} and manifests(broker, "order-updates") == []
    assert "paid" not in capsys.readouterr().out


def test_saga_pays_the_order_through_the_payment_service_and_completes(
    services: Callable[[str], None], broker: SimulatedBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    run("init_queues")
    services("saga_pattern.app")
    services("payment_service.app")
    run("saga_pattern.saga_triggerer", "REF9")
    output: list[str] = []

    def completed() -> bool:
        output.append(capsys.readouterr().out)
        return "as COMPLETED" in "".join(output)

    wait_for(completed)
    out = "".join(output)
    assert "Order with reference REF9 sent." in out
    assert "Sending payment for order REF9" in out
    assert "Order REF9 paid successfully" in out
    assert "Order received with status: ORDER_PAID" in out
