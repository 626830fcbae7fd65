# Ported from melange 7.2.0, tests/test_pickleserializer.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

import uuid

from hamcrest import *

from melange_lab.serializers import PickleSerializer
from tests.melange_suite.examples.payment_service.events import OrderResponse


def test_pickle_a_domain_event():
    event = OrderResponse(str(uuid.uuid4()), "REF88888")

    serializer = PickleSerializer()
    data = serializer.serialize(event)
    event = serializer.deserialize(data, manifest=None)
    assert_that(event, is_(OrderResponse))
