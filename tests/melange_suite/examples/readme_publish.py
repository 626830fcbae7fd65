# Ported from melange 7.2.0, README.md ("Trivial example", Publish) (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

from simple_cqrs.domain_event import DomainEvent

from melange_lab import SimulatedBroker
from melange_lab.publishers import QueuePublisher
from melange_lab.serializers.pickle import PickleSerializer
from melange_lab.serializers.registry import SerializerRegistry


class MyTestMessage:
    def __init__(self, message: str) -> None:
        self.message = message


if __name__ == "__main__":
    serializer_settings = {
        "serializers": {"pickle": PickleSerializer},
        "serializer_bindings": {DomainEvent: "pickle"},
    }

    serializer_registry = SerializerRegistry(serializer_settings)

    backend = SimulatedBroker.default().backend
    publisher = QueuePublisher(serializer_registry, backend)
    message = MyTestMessage("Hello World!")
    publisher.publish("melangetutorial-queue", message)
    print("Message sent successfully!")
