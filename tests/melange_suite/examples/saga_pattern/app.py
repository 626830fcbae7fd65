# Ported from melange 7.2.0, melange/examples/saga_pattern/app.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

import os

from melange_lab import QueuePublisher, SimpleMessageDispatcher, SimulatedBroker
from melange_lab.serializers import PickleSerializer
from tests.melange_suite.examples.saga_pattern.consumer import SagaConsumer
from tests.melange_suite.examples.saga_pattern.publisher import SagaPublisher
from tests.melange_suite.examples.saga_pattern.repository import SagaRepository
from tests.melange_suite.examples.shared import serializer_registry

if __name__ == "__main__":
    serializer = PickleSerializer()
    backend = SimulatedBroker.default().backend

    payment_consumer = SagaConsumer(
        SagaRepository(),
        SagaPublisher(QueuePublisher(serializer_registry, backend)),
    )

    print("Consuming...")
    consumer_handler = SimpleMessageDispatcher(
        payment_consumer,
        serializer_registry,
        backend=backend,
        always_ack=True,
    )
    consumer_handler.consume_loop("saga-updates")
