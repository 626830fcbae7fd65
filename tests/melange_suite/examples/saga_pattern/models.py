# Ported from melange 7.2.0, melange/examples/saga_pattern/models.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

from typing import Dict, Optional


class SagaState:
    FAILED = "failed"
    COMPLETED = "completed"
    RUNNING = "running"


class Saga:
    def __init__(self, id: str, data: Optional[Dict] = None) -> None:
        self.id = id
        self.data = data
        self.state = SagaState.RUNNING

    def complete(self) -> None:
        self.state = SagaState.COMPLETED

    def fail(self) -> None:
        self.state = SagaState.FAILED
