"""Serializers turn message objects into text and back; the registry picks one per type.

Same module layout, names, ids and manifests as melange (``interfaces``, ``json``, ``pickle``,
``registry``), so a message written by one is read by the other. The pickle serializer differs
on purpose: it only loads what it trusts (see ``melange_lab.serializers.pickle``).
"""

from __future__ import annotations

from melange_lab.serializers.interfaces import Serializer
from melange_lab.serializers.json import JsonSerializer
from melange_lab.serializers.pickle import PickleSerializer
from melange_lab.serializers.registry import SerializerRegistry, SerializerSpec

__all__ = [
    "JsonSerializer",
    "PickleSerializer",
    "Serializer",
    "SerializerRegistry",
    "SerializerSpec",
]
