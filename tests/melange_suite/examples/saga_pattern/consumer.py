# Ported from melange 7.2.0, melange/examples/saga_pattern/consumer.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

import uuid
from typing import Any

from melange_lab import SingleDispatchConsumer, consumer
from tests.melange_suite.examples.common.commands import DoPayment
from tests.melange_suite.examples.payment_service.events import OrderResponse, OrderStatus
from tests.melange_suite.examples.saga_pattern.models import Saga
from tests.melange_suite.examples.saga_pattern.publisher import SagaPublisher
from tests.melange_suite.examples.saga_pattern.repository import SagaRepository


class SagaConsumer(SingleDispatchConsumer):
    def __init__(
        self,
        saga_repository: SagaRepository,
        saga_publisher: SagaPublisher,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.saga_repository = saga_repository
        self.saga_publisher = saga_publisher

    @consumer
    def on_order_response(self, event: OrderResponse) -> None:
        print(f"Sending payment for order {event.reference}")
        saga = Saga(
            str(uuid.uuid4()),
            data={"order_id": event.id},
        )
        self.saga_repository.save(saga)

        command = DoPayment(order_id=event.id, reference=event.reference, correlation_id=saga.id)
        self.saga_publisher.publish_dopayment(command)

    @consumer
    def on_order_status(self, event: OrderStatus) -> None:
        print(f"Order received with status: {event.status}")
        saga = self.saga_repository.get(event.correlation_id)
        if not saga:
            return

        print(f"Marking saga {event.correlation_id} as COMPLETED")
        saga.complete()
        self.saga_repository.save(saga)
