# Ported from melange 7.2.0, tests/serializers/test_registry.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

from typing import Dict

from hamcrest import *

from melange_lab.serializers import JsonSerializer, PickleSerializer, SerializerRegistry
from melange_lab.serializers.registry import sort
from tests.melange_suite.fixtures import (
    BananaHappened,
    BaseMessage,
    MessageStubInterface,
    SerializerStub,
)


class TestSerializerRegistry:
    def test_sort(self):
        list_serializers = [
            (BaseMessage, SerializerStub),
            (MessageStubInterface, SerializerStub),
        ]

        result = sort(list_serializers)
        assert_that(result, is_([list_serializers[1], list_serializers[0]]))

    def test_a(self):
        test_settings = {
            "serializers": {
                "json": JsonSerializer,
                "pickle": PickleSerializer,
                "test": SerializerStub,
            },
            "serializer_bindings": {
                Dict: "json",
                MessageStubInterface: "test",
                BaseMessage: "test",
            },
            "default": "pickle",
        }

        serializer_reg = SerializerRegistry(test_settings)

        message_serializer = serializer_reg.find_serializer_for(BananaHappened(1))
        assert_that(message_serializer, is_(SerializerStub))
