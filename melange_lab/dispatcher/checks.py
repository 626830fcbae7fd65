"""The dispatcher's argument checks: a bad value is refused, naming it and the fix."""

from __future__ import annotations

from melange_lab.arguments import number, whole_number
from melange_lab.errors import InvalidParameter


def callable_or_none(parameter: str, value: object) -> None:
    if value is not None and not callable(value):
        raise InvalidParameter(parameter, value, "a function, or None", f"e.g. {parameter}=print.")


def check_consumer(consumer: object) -> None:
    if not (
        callable(getattr(consumer, "accepts", None))
        and callable(getattr(consumer, "process", None))
    ):
        raise InvalidParameter(
            "consumer",
            consumer,
            "a Consumer (something with accepts() and process())",
            "e.g. attach_consumer(Consumer(on_message=handle)), or subclass Consumer.",
        )


def backend_or_none(parameter: str, value: object) -> None:
    if value is not None and not callable(getattr(value, "retrieve_messages", None)):
        raise InvalidParameter(
            parameter,
            value,
            "a messaging backend, or None for the default one",
            "e.g. MessageDispatcher(registry, backend=broker.backend).",
        )


def count(parameter: str, value: object) -> int:
    return whole_number(
        parameter, value, 1, 10**9, fix=f"e.g. {parameter}=10, or None for no limit."
    )


def seconds(parameter: str, value: object) -> float:
    return number(parameter, value, 0, 10**6, unit="real seconds", fix=f"e.g. {parameter}=5.")


def poll_interval(parameter: str, value: object) -> float:
    return number(
        parameter, value, 0.001, 3_600, unit="real seconds", fix="e.g. poll_interval=0.2."
    )


# the caller's callbacks, which every consuming call takes
HOOKS = {"on_exception": callable_or_none, "after_consume": callable_or_none}
