"""Consumers: what a dispatcher hands each decoded message to (melange's ``consumers``).

``Consumer(on_message=...)`` wraps a function. ``SingleDispatchConsumer`` picks a handler by
the message's type: mark methods with ``@consumer`` and annotate their message parameter (or
name the type, ``@consumer(OrderCreated)``); the most specific registered type wins, as with
``functools.singledispatch``, which does the lookup.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar, overload

from melange_lab.arguments import checked
from melange_lab.errors import MelangeLabError

_HANDLED_TYPE = "__melange_lab_consumes__"
F = TypeVar("F", bound=Callable[..., Any])


class Consumer:
    """Processes the messages it accepts; by default it accepts every message.

    Give ``on_message`` (called with the decoded message), or subclass and override
    ``process``. A consumer that raises leaves the message unacknowledged, so it is retried.
    """

    @checked()
    def __init__(self, on_message: Callable[[Any], Any] | None = None) -> None:
        self.on_message = on_message

    def accepts(self, message: Any) -> bool:
        """Whether this consumer wants ``message`` (the decoded object)."""
        return True

    def process(self, message: Any, **kwargs: Any) -> None:
        """Handles one decoded message; ``kwargs`` carry ``message_id``."""
        if self.on_message is None:
            raise NotImplementedError(
                f"{type(self).__qualname__} has no on_message and does not override process(): "
                "pass Consumer(on_message=handler) or subclass it and define process()."
            )
        self.on_message(message)

    @property
    def qualified_name(self) -> str:
        """Names this consumer in dedup-cache keys and events.

        A plain ``Consumer`` is named after its ``on_message`` function, so two consumers of
        the same class but different functions do not share cache entries.
        """
        named: Any = self.on_message if type(self) is Consumer and self.on_message else type(self)
        module = getattr(named, "__module__", "?")
        return f"{module}.{getattr(named, '__qualname__', repr(named))}"

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} {self.qualified_name}>"


@overload
def consumer(handler: type) -> Callable[[F], F]: ...


@overload
def consumer(handler: F) -> F: ...


def consumer(handler: Any) -> Any:
    """Marks a ``SingleDispatchConsumer`` method as the handler for one message type.

    ``@consumer`` reads the type from the annotation of the parameter after ``self``;
    ``@consumer(SomeType)`` names it explicitly.
    """
    if isinstance(handler, type):
        handled = handler

        def mark(function: F) -> F:
            setattr(function, _HANDLED_TYPE, handled)
            return function

        return mark
    setattr(handler, _HANDLED_TYPE, None)
    return handler


def _no_handler(message: Any) -> None:
    """The dispatch fallback: stands for "no registered type matches"."""


def _handled_type(owner: type, function: Callable[..., Any]) -> type:
    explicit = getattr(function, _HANDLED_TYPE)
    if explicit is not None:
        return typing.cast(type, explicit)
    parameters = list(inspect.signature(function).parameters)
    problem = f"{owner.__qualname__}.{function.__name__}"
    if len(parameters) < 2:
        raise MelangeLabError(
            f"@consumer method {problem} takes no message parameter: write "
            f"def {function.__name__}(self, event: SomeEvent)."
        )
    try:
        hints = typing.get_type_hints(function)
    except NameError as error:
        raise MelangeLabError(
            f"@consumer cannot resolve the annotation of {problem} ({error}); name the type "
            f"explicitly: @consumer(SomeEvent)."
        ) from None
    handled = hints.get(parameters[1])
    if not isinstance(handled, type):
        raise MelangeLabError(
            f"@consumer method {problem} needs its message parameter annotated with a class, "
            f"e.g. (self, event: OrderCreated), or the type named: @consumer(OrderCreated)."
        )
    return handled


class SingleDispatchConsumer(Consumer):
    """Routes each message to the ``@consumer`` method registered for its type.

    It accepts a message only when some registered type (or a base class of the message's
    type) has a handler.
    """

    _dispatch: Any  # functools.singledispatch function; set per subclass

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dispatch = functools.singledispatch(_no_handler)
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                if callable(attribute) and hasattr(attribute, _HANDLED_TYPE):
                    dispatch.register(_handled_type(klass, attribute), attribute)
        cls._dispatch = dispatch

    @checked()
    def __init__(self, on_message: Callable[[Any], Any] | None = None) -> None:
        """``on_message`` is accepted, as melange does, but the ``@consumer`` methods decide."""
        super().__init__(on_message=on_message)

    def handler_for(self, message: Any) -> Callable[..., Any] | None:
        """The registered method for ``message``'s type, or None."""
        dispatch = getattr(type(self), "_dispatch", None)
        if dispatch is None:
            return None
        found = dispatch.dispatch(type(message))
        return None if found is _no_handler else typing.cast(Callable[..., Any], found)

    def accepts(self, message: Any) -> bool:
        return self.handler_for(message) is not None

    def process(self, message: Any, **kwargs: Any) -> None:
        handler = self.handler_for(message)
        if handler is None:
            raise MelangeLabError(
                f"{type(self).__qualname__} has no @consumer method for "
                f"{type(message).__qualname__}; add one, e.g. "
                f"@consumer def on_it(self, event: {type(message).__qualname__})."
            )
        handler(self, message)
