# Ported from melange 7.2.0, melange/examples/payment_service/repository.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

from typing import Dict, Optional

from tests.melange_suite.examples.common.domain import Payment


class PaymentRepository:
    def __init__(self) -> None:
        self.payments: Dict[str, Payment] = {}

    def save(self, payment: Payment) -> None:
        self.payments[payment.id] = payment

    def get(self, id: str) -> Optional[Payment]:
        return self.payments.get(id)
