"""The serializer registry picks a serializer per type; pickle loads only bound classes."""

from __future__ import annotations

import pickle

import pytest

from melange_lab.errors import SerializerNotFound, UnsafePickle
from melange_lab.serializers import JsonSerializer, PickleSerializer, SerializerRegistry


class Event:
    pass


class Paid(Event):
    def __init__(self, amount: int) -> None:
        self.amount = amount


class Unbound:
    pass


def registry(**config: object) -> SerializerRegistry:
    return SerializerRegistry(
        {"serializers": {"json": JsonSerializer, "pickle": PickleSerializer}, **config}
    )


def test_ids_and_manifests_match_melange() -> None:
    assert (JsonSerializer.identifier(), PickleSerializer.identifier()) == (1, 2)
    assert JsonSerializer().manifest({}) == "json"
    assert PickleSerializer().manifest(Paid(1)) == "Paid"


def test_exact_binding_wins_then_the_most_specific_bound_superclass_then_default() -> None:
    chosen = registry(serializer_bindings={Event: "pickle", dict: "json"}, default="json")
    # melange returns the configured class; find_serializer_for gives the working instance
    assert chosen.serializer_for(dict) is JsonSerializer
    assert chosen.serializer_for(Paid) is PickleSerializer
    assert chosen.serializer_for(Unbound) is JsonSerializer
    assert isinstance(chosen.find_serializer_for(Paid(1)), PickleSerializer)


def test_unbound_type_without_default_is_named_in_the_error() -> None:
    with pytest.raises(SerializerNotFound, match="Unbound"):
        registry(serializer_bindings={Event: "pickle"}).serializer_for(Unbound)


def test_pickle_round_trips_a_class_bound_through_its_superclass() -> None:
    chosen = registry(serializer_bindings={Event: "pickle"})
    text = chosen.serialize(Paid(5))
    loaded = chosen.deserialize_with_serializerid(text, 2, "Paid")
    assert isinstance(loaded, Paid) and loaded.amount == 5


def test_pickle_refuses_a_class_nobody_bound() -> None:
    import base64

    text = base64.b64encode(pickle.dumps(Unbound())).decode()
    with pytest.raises(UnsafePickle, match=r"test_serializers\.Unbound"):
        registry(serializer_bindings={Event: "pickle"}).deserialize_with_serializerid(text, 2)


def test_pickle_allow_list_admits_an_extra_class() -> None:
    import base64

    chosen = SerializerRegistry({"serializers": {"pickle": PickleSerializer(allowed=[Unbound])}})
    text = base64.b64encode(pickle.dumps(Unbound())).decode()
    assert isinstance(chosen.deserialize_with_serializerid(text, 2), Unbound)


def test_unknown_serializer_name_in_bindings_is_explained() -> None:
    with pytest.raises(Exception, match="No serializer named 'yaml'"):
        registry(serializer_bindings={dict: "yaml"})
