# Ported from melange 7.2.0, melange/examples/saga_pattern/publisher.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

from melange_lab import QueuePublisher
from tests.melange_suite.examples.common.commands import DoPayment


class SagaPublisher:
    def __init__(self, publisher: QueuePublisher) -> None:
        self.publisher = publisher

    def publish_dopayment(self, do_payment: DoPayment) -> None:
        self.publisher.publish("payment-updates", do_payment)
