# Ported from melange 7.2.0, melange/examples/saga_pattern/repository.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

from typing import Dict, Optional

from tests.melange_suite.examples.saga_pattern.models import Saga


class SagaRepository:
    def __init__(self) -> None:
        self.sagas: Dict[str, Saga] = {}

    def save(self, payment: Saga) -> None:
        self.sagas[payment.id] = payment

    def get(self, id: str) -> Optional[Saga]:
        return self.sagas.get(id)
