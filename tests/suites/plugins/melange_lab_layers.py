"""A pytest plugin that installs the lab's moto layers for a whole run (``-p melange_lab_layers``,
with this folder on PYTHONPATH: moto's own tests are the package ``tests`` there).

moto's own SQS/SNS tests run with the same fixes a ``SimulatedBroker`` installs into moto,
on a real clock (``time.time``, which freezegun can still freeze), so the suite sees the
lab's behaviour through moto's own ``mock_aws``.
"""

from __future__ import annotations

import pytest

from melange_lab import moto_internals
from melange_lab.clock import BrokerClock


def pytest_configure(config: pytest.Config) -> None:
    moto_internals.check_supported()
    moto_internals.install_lab_layers(BrokerClock("real").now)


def pytest_unconfigure(config: pytest.Config) -> None:
    moto_internals.uninstall_lab_layers()
