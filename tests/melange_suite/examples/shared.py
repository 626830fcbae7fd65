# Ported from melange 7.2.0, melange/examples/shared.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.

from simple_cqrs.domain_event import DomainEvent

from melange_lab.serializers import PickleSerializer, SerializerRegistry

serializer_settings = {
    "serializers": {"pickle": PickleSerializer},
    "serializer_bindings": {DomainEvent: "pickle"},
}

serializer_registry = SerializerRegistry(serializer_settings)
