"""melange's ``melange.helpers.typing``: the type variable its serializer interface uses."""

from typing import TypeVar

T = TypeVar("T")
