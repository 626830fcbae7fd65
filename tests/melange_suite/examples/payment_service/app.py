# Ported from melange 7.2.0, melange/examples/payment_service/app.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

import os

from melange_lab import MessageDispatcher, QueuePublisher, SimulatedBroker
from melange_lab.serializers import PickleSerializer
from tests.melange_suite.examples.payment_service.consumer import PaymentConsumer
from tests.melange_suite.examples.payment_service.publisher import PaymentPublisher
from tests.melange_suite.examples.payment_service.repository import PaymentRepository
from tests.melange_suite.examples.payment_service.service import PaymentService
from tests.melange_suite.examples.shared import serializer_registry

if __name__ == "__main__":
    serializer = PickleSerializer()
    backend = SimulatedBroker.default().backend

    dispatcher = MessageDispatcher(
        serializer_registry,
        backend=backend,
    )

    payment_consumer = PaymentConsumer(
        PaymentService(
            PaymentRepository(),
            PaymentPublisher(QueuePublisher(serializer_registry, backend=backend)),
        )
    )

    dispatcher.attach_consumer(payment_consumer)

    print("Consuming...")
    dispatcher.consume_loop("payment-updates")
