"""Message classes the tests publish."""

from __future__ import annotations


class OrderCreated:
    def __init__(self, order_id: str, amount: int = 0) -> None:
        self.order_id = order_id
        self.amount = amount

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OrderCreated) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"OrderCreated({self.order_id!r}, {self.amount})"
