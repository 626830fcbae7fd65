# Ported from melange 7.2.0, melange/examples/common/commands.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

from datetime import datetime
from typing import Any, Optional

from simple_cqrs.domain_event import DomainEvent


class DoPayment(DomainEvent):
    def __init__(
        self, order_id: str, reference: str, occurred_on: Optional[datetime] = None, **kwargs: Any
    ) -> None:
        super().__init__(occurred_on, **kwargs)
        self.order_id = order_id
        self.reference = reference
