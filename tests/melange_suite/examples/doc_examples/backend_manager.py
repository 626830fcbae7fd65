# Ported from melange 7.2.0, melange/examples/doc_examples/backend_manager.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

from melange_lab import QueuePublisher, SimulatedBroker
from melange_lab.backends import BackendManager
from melange_lab.serializers import PickleSerializer
from tests.melange_suite.examples.shared import serializer_registry


class MyTestMessage:
    def __init__(self, message: str) -> None:
        self.message = message


if __name__ == "__main__":
    backend = SimulatedBroker.default().backend
    serializer = PickleSerializer()
    BackendManager().set_default_backend(backend)

    publisher = QueuePublisher(serializer_registry)
    message = MyTestMessage("Hello World!")
    publisher.publish("melangetutorial-queue", message)
    print("Message sent successfully!")
