# Ported from melange 7.2.0, melange/examples/init_queues.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

import os

from melange_lab import MessagingBackendFactory, SimulatedBroker

if __name__ == "__main__":
    backend = SimulatedBroker.default().backend

    factory = MessagingBackendFactory(
        backend=backend,
    )
    factory.init_queue("payment-updates")
    factory.init_queue("order-updates")
    factory.init_queue("saga-updates")

    print("Queues created.")
