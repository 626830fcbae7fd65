# Ported from melange 7.2.0, melange/examples/payment_service/service.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

import uuid
from datetime import datetime

from tests.melange_suite.examples.common.commands import DoPayment
from tests.melange_suite.examples.common.domain import Payment
from tests.melange_suite.examples.payment_service.events import OrderResponse, OrderStatus
from tests.melange_suite.examples.payment_service.publisher import PaymentPublisher
from tests.melange_suite.examples.payment_service.repository import PaymentRepository


class PaymentService:
    def __init__(
        self, payment_repository: PaymentRepository, payment_publisher: PaymentPublisher
    ) -> None:
        self.payment_repository = payment_repository
        self.payment_publisher = payment_publisher

    def process(self, order_response: OrderResponse) -> None:
        payment = Payment(str(uuid.uuid4()), order_response.id, "SUCCESS", datetime.now())
        self.payment_repository.save(payment)

        order_status = OrderStatus(
            order_id=payment.order_id, payment_id=payment.id, status="ORDER_PAID"
        )
        print(f"Order {order_response.reference} paid successfully")
        self.payment_publisher.publish_orderstatus(order_status)

    def do_payment(self, do_payment: DoPayment) -> None:
        payment = Payment(str(uuid.uuid4()), do_payment.order_id, "SUCCESS", datetime.now())
        self.payment_repository.save(payment)

        order_status = OrderStatus(
            order_id=payment.order_id,
            payment_id=payment.id,
            status="ORDER_PAID",
            correlation_id=do_payment.correlation_id,
        )
        print(f"Order {do_payment.reference} paid successfully")
        self.payment_publisher.publish_orderstatus(order_status)
