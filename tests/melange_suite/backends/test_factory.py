# Ported from melange 7.2.0, tests/backends/test_factory.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

import os

import pytest
from hamcrest import *

from melange_lab import MessagingBackendFactory, SimulatedBroker


class TestFactory:
    @pytest.fixture
    def backend(self):
        return SimulatedBroker.default().backend

    def test_create_topic(self, backend):
        factory = MessagingBackendFactory(backend=backend)
        topic = factory.init_topic("mytopic")
        assert_that(topic.unwrapped_obj, is_not(none()))

    def test_create_and_subscribe_queue_with_a_topic(self, backend):
        factory = MessagingBackendFactory(backend=backend)
        queue = factory.init_queue("myqueue", ["mytopic1", "mytopic2"], "mydlq")
        assert_that(queue.unwrapped_obj, is_not(none()))
