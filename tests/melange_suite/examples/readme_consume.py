# Ported from melange 7.2.0, README.md ("Trivial example", Consume) (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

from simple_cqrs.domain_event import DomainEvent

from melange_lab import SimulatedBroker
from melange_lab.consumers import SingleDispatchConsumer, consumer
from melange_lab.message_dispatcher import SimpleMessageDispatcher
from melange_lab.serializers.pickle import PickleSerializer
from melange_lab.serializers.registry import SerializerRegistry
from tests.melange_suite.examples.doc_examples.tutorial.publish import MyTestMessage


class MyConsumer(SingleDispatchConsumer):
    @consumer
    def on_my_test_message_received(self, event: MyTestMessage) -> None:
        print(event.message)


if __name__ == "__main__":
    serializer_settings = {
        "serializers": {"pickle": PickleSerializer},
        "serializer_bindings": {DomainEvent: "pickle"},
    }

    serializer_registry = SerializerRegistry(serializer_settings)

    backend = SimulatedBroker.default().backend
    consumer = MyConsumer()
    message_dispatcher = SimpleMessageDispatcher(
        consumer,
        serializer_registry,
        backend=backend,
    )
    print("Consuming...")
    message_dispatcher.consume_loop("melangetutorial-queue")
