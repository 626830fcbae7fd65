"""Checks for the values learners pass to the lab's public calls, before anything happens.

Each check names the parameter, the value and what is allowed, and raises ``InvalidParameter``
(a ``MelangeLabError`` that is also a ``ValueError`` and a ``TypeError``). ``checked`` puts
them on a function together with a check of the call itself, so an unknown keyword names the
function the learner called (``UnknownOption``), not some internal one.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Collection
from typing import Any, ParamSpec, TypeVar

from melange_lab.errors import InvalidParameter, UnknownOption, quoted

P = ParamSpec("P")
R = TypeVar("R")
Check = Callable[[str, Any], object]


def number(
    parameter: str,
    value: object,
    minimum: float,
    maximum: float,
    *,
    whole: bool = False,
    unit: str = "",
    fix: str = "",
) -> float:
    """``value`` as a finite number in [minimum, maximum]; booleans and strings are refused."""
    kind = "a whole number" if whole else "a number"
    span = f"{kind} from {_plain(minimum)} to {_plain(maximum)}{f' {unit}' if unit else ''}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameter(parameter, value, span, fix)
    try:
        as_float = float(value)
    except OverflowError:  # an int too large for any float: far out of every range
        raise InvalidParameter(parameter, value, span, fix) from None
    if not math.isfinite(as_float):
        raise InvalidParameter(parameter, value, f"{span} (not NaN or infinity)", fix)
    if whole and not isinstance(value, numbers.Integral):
        raise InvalidParameter(parameter, value, span, fix)
    exact = int(value) if isinstance(value, numbers.Integral) else as_float  # 2**53 + 1 exact
    if not minimum <= exact <= maximum:
        raise InvalidParameter(parameter, value, span, fix)
    return as_float


def whole_number(
    parameter: str, value: object, minimum: int, maximum: int, *, unit: str = "", fix: str = ""
) -> int:
    """``value`` as an ``int`` in [minimum, maximum] (``True`` is not 1 here)."""
    number(parameter, value, minimum, maximum, whole=True, unit=unit, fix=fix)
    assert isinstance(value, numbers.Integral)
    return int(value)


def ranged(
    minimum: float, maximum: float, *, whole: bool = False, unit: str = "", fix: str = ""
) -> Check:
    """A check that a value is a (whole) number in [minimum, maximum], for ``@checked``."""

    def check_range(parameter: str, value: object) -> float:
        return number(parameter, value, minimum, maximum, whole=whole, unit=unit, fix=fix)

    return check_range


def flag(parameter: str, value: object) -> bool:
    """``value`` if it is ``True`` or ``False``: a string "false" would read as true."""
    if not isinstance(value, bool):
        raise InvalidParameter(parameter, value, "True or False")
    return value


def choice(parameter: str, value: object, allowed: Collection[str]) -> str:
    """``value`` if it is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise InvalidParameter(parameter, value, f"one of {listed}")
    return value


def text(parameter: str, value: object, *, fix: str = "") -> str:
    """``value`` if it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise InvalidParameter(parameter, value, "a non-empty string", fix)
    return value


def host(parameter: str, value: object, *, fix: str = "") -> str:
    """``value`` if a socket can take it as a host: a name or an IP address of 1 to 253
    printable characters without spaces (a NUL or a lone surrogate never reaches the network)."""
    if (
        isinstance(value, str)
        and 0 < len(value) <= 253
        and value.isprintable()
        and not any(c.isspace() for c in value)
    ):
        try:
            value.encode("idna")
        except UnicodeError:  # a label over 63 characters, or text IDNA cannot spell
            pass
        else:
            return value
    raise InvalidParameter(
        parameter, value, "a host name or IP address such as 127.0.0.1 or localhost", fix
    )


def instance_of(kind: type, described: str, fix: str = "") -> Check:
    """A check that ``value`` is a ``kind`` (``described`` says what that is to a learner)."""

    def check_instance(parameter: str, value: Any) -> object:
        if not isinstance(value, kind):
            raise InvalidParameter(parameter, value, described, fix)
        return value

    return check_instance


def from_text(text: str, check: Check, parse: Callable[[str], object] = float) -> Any:
    """``check`` applied to a number typed on a command line: for argparse's ``type=``, so a
    bad option is argparse's usual error (the option named, exit status 2) with our text."""
    import argparse  # only the command line needs it

    try:
        value = parse(text.strip())
    except (ValueError, OverflowError):  # not a number, or more digits than Python reads
        value = text
    try:
        return check("", value)
    except InvalidParameter as error:
        raise argparse.ArgumentTypeError(
            f"{quoted(text)} is not allowed: {error.allowed}."
            + (f" {error.fix}" if error.fix else "")
        ) from None


def serializer_registry(parameter: str, value: object) -> object:
    """``value`` if it is ``None`` (the default registry) or a ``SerializerRegistry``."""
    from melange_lab.serializers.registry import SerializerRegistry

    if value is not None and not isinstance(value, SerializerRegistry):
        raise InvalidParameter(
            parameter,
            value,
            "a SerializerRegistry, or None for the backend's own",
            "e.g. SerializerRegistry({'serializers': {'json': JsonSerializer}, 'default': 'json'})",
        )
    return value


def optional(check: Check) -> Check:
    """The same check, letting ``None`` (meaning "the default") through."""

    def check_unless_none(parameter: str, value: Any) -> object:
        return None if value is None else check(parameter, value)

    return check_unless_none


def checked(**checks: Check) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Checks the call against the function's signature, then each named argument.

    ``@checked(seconds=duration)`` on ``advance(self, seconds)``: a call with an unknown keyword
    raises ``UnknownOption`` naming ``advance``; a bad ``seconds`` raises ``InvalidParameter``.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)
        name = function.__qualname__.replace(".__init__", "")
        known = [p for p in signature.parameters if p != "self"]
        takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())

        constructor = function.__name__ == "__init__"

        @functools.wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            # a constructor is named after the class called (TopicPublisher), not its base
            called = type(args[0]).__qualname__ if constructor and args else name
            unknown = [] if takes_any else sorted(set(kwargs) - set(known))
            if unknown:
                raise UnknownOption(called, f"unknown option(s) {quoted(unknown)}", known)
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                raise UnknownOption(called, str(error), known) from None
            for parameter, check in checks.items():
                if parameter in bound.arguments:
                    check(parameter, bound.arguments[parameter])
            return function(*args, **kwargs)

        return call

    return decorate


def _plain(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else str(value)
