# Ported from melange 7.2.0, melange/examples/saga_pattern/saga_triggerer.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

import argparse
import os
import uuid

from melange_lab import QueuePublisher, SimulatedBroker
from melange_lab.serializers import PickleSerializer
from tests.melange_suite.examples.payment_service.events import OrderResponse
from tests.melange_suite.examples.shared import serializer_registry

if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Triggers an order event for the payment service to collect"
    )
    parser.add_argument("reference", type=str, help="The reference number of the order")
    args = parser.parse_args()

    order_reponse = OrderResponse(id=str(uuid.uuid4()), reference=args.reference)
    serializer = PickleSerializer()
    backend = SimulatedBroker.default().backend

    QueuePublisher(serializer_registry, backend=backend).publish("saga-updates", order_reponse)

    print(f"Order with reference {args.reference} sent.")
