"""The view's intents as untrusted input: what a page may ask, checked before anything runs.

The front end asks for actions with ``model.send({"intent": ..., ...})``. Whatever page sends
them, an intent is read like a call to the public API: the intent must be one the view knows,
each field must be present, of its type and in its range, and no field may be extra. Only a
valid intent reaches the Publish and Consume panels, so a refused one publishes, receives or
moves nothing; the error names the form field as the learner sees it and says what it takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from melange_lab import limits
from melange_lab.arguments import number
from melange_lab.errors import InvalidIntent, InvalidParameter, shortened

PANELS = ("publish", "consume", "view")  # "view": the general message area
GENERAL = "view"
MAX_NAME_CHARS = 256  # SNS topic names; SQS queue names are shorter still
MAX_ID_CHARS = 128  # message ids are 36, FIFO group ids at most 128
MAX_CHOICE_CHARS = 1_024
MAX_PAYLOAD_CHARS = 1_048_576  # SQS's largest message; a longer payload could never be sent
MAX_ATTRIBUTES_CHARS = 65_536
MAX_ADVANCE_SECONDS = 1_000_000
MAX_PAGE = 10**9
MAX_REQUEST = 2**53  # JavaScript's largest exact integer: the front end numbers its requests

Check = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Field:
    """One field of an intent: the label the learner sees, its check, and whether it may be
    left out (then ``default``)."""

    label: str
    check: Check
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class IntentSpec:
    """What an intent may carry, and the panel that answers it."""

    panel: str
    fields: Mapping[str, Field] = field(default_factory=dict)
    changes_the_broker: bool = False  # refused at once by a read-only view


@dataclass(frozen=True)
class Intent:
    """A checked intent: its name, the panel that answers it, and its fields' values."""

    name: str
    panel: str
    fields: dict[str, Any]


def _text(maximum: int, *, empty: bool = True) -> Check:
    what = f"text of {'0' if empty else '1'} to {maximum:,} characters"

    def check_text(label: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) > maximum or (not empty and not value):
            raise InvalidIntent(label, value, what)
        return value

    return check_text


def _one_of(*allowed: str) -> Check:
    listed = ", ".join(repr(a) for a in allowed)

    def check_choice(label: str, value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise InvalidIntent(label, value, f"one of {listed}")
        return value

    return check_choice


def _number(minimum: float, maximum: float, unit: str, *, whole: bool = False) -> Check:
    def check_number(label: str, value: Any) -> float:
        try:
            checked = number(label, value, minimum, maximum, whole=whole, unit=unit)
        except InvalidParameter as error:
            raise InvalidIntent(label, value, error.allowed) from None
        return int(checked) if whole else checked + 0.0  # -0.0 reads as 0

    return check_number


def _flag(label: str, value: Any) -> bool:
    if not isinstance(value, bool):  # the text "false" would read as true
        raise InvalidIntent(label, value, "true or false")
    return value


_NAME = _text(MAX_NAME_CHARS)  # empty: nothing chosen yet, which the panels explain
_ID = _text(MAX_ID_CHARS)
_PANEL = Field("panel", _one_of(*PANELS), required=False)
_REQUEST = Field("request", _number(0, MAX_REQUEST, "", whole=True), required=False)
COMMON = ("intent", "panel", "request")  # what every intent may carry besides its fields
_QUEUE = Field("Queue", _NAME)

INTENTS: dict[str, IntentSpec] = {
    "publish": IntentSpec(
        "publish",
        {
            "kind": Field("Publish to a", _one_of("topic", "queue")),
            "target": Field("Name", _NAME),
            "choice": Field("Message", _text(MAX_CHOICE_CHARS)),
            "payload": Field("Payload", _text(MAX_PAYLOAD_CHARS)),
            "attributes": Field("Attributes", _text(MAX_ATTRIBUTES_CHARS), False, ""),
            "group_id": Field("Group id", _text(limits.ID_LENGTH), False, ""),
        },
        changes_the_broker=True,
    ),
    "receive": IntentSpec(
        "consume",
        {
            "queue": _QUEUE,
            "hide_for": Field(
                "Hide for (s)",
                _number(
                    limits.VISIBILITY_TIMEOUT.minimum,
                    limits.VISIBILITY_TIMEOUT.maximum,
                    "seconds (12 hours)",
                    whole=True,
                ),
            ),
        },
        changes_the_broker=True,
    ),
    "finish": IntentSpec(
        "consume",
        {
            "id": Field("Received", _ID),
            "how": Field("how", _one_of("acknowledge", "release", "let_time_out")),
        },
        changes_the_broker=True,
    ),
    "background": IntentSpec(
        "consume",
        {"queue": _QUEUE, "on": Field("on", _flag)},
        changes_the_broker=True,
    ),
    "advance": IntentSpec(
        "consume",
        {"seconds": Field("Seconds", _number(0, MAX_ADVANCE_SECONDS, "seconds"))},
        changes_the_broker=True,
    ),
    "page": IntentSpec(
        GENERAL, {"queue": _QUEUE, "page": Field("page", _number(0, MAX_PAGE, "", whole=True))}
    ),
    "inspect": IntentSpec(GENERAL, {"queue": _QUEUE, "id": Field("message id", _ID)}),
    "select": IntentSpec(GENERAL, {"id": Field("message id", _ID)}),
    "tick": IntentSpec(GENERAL),
    "history": IntentSpec(GENERAL),  # a front end just drawn asks for the earlier events
}


def answer_panel(content: object) -> str:
    """Where the answer to ``content`` is shown: the panel it names if that is one of the
    view's, else its intent's own panel, else the general message area."""
    if not isinstance(content, dict):
        return GENERAL
    panel = content.get("panel")
    if isinstance(panel, str) and panel in PANELS:  # a known name: the sender's panel
        return panel
    name = content.get("intent")
    spec = INTENTS.get(name) if isinstance(name, str) else None
    return spec.panel if spec is not None and "panel" not in content else GENERAL


def request_of(content: object) -> int | None:
    """The number the front end gave this request (its panel waits for the answer naming it),
    if ``content`` carries a valid one."""
    request = content.get("request") if isinstance(content, dict) else None
    if isinstance(request, int) and not isinstance(request, bool) and 0 <= request <= MAX_REQUEST:
        return request
    return None


def spec_of(content: object) -> tuple[str, IntentSpec]:
    """The intent ``content`` names and what it may carry; ``InvalidIntent`` if it names none
    the view knows (or is not an intent at all)."""
    known = ", ".join(repr(name) for name in INTENTS)
    if not isinstance(content, dict):
        raise InvalidIntent("message", content, f"a JSON object naming an intent ({known})")
    name = content.get("intent")
    spec = INTENTS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise InvalidIntent("intent", name, f"one of {known}")
    assert isinstance(name, str)
    return name, spec


def read_intent(content: object) -> Intent:
    """``content`` as an ``Intent`` with every field checked, or ``InvalidIntent`` naming the
    first field that is missing, extra, or not what the form sends."""
    name, spec = spec_of(content)
    assert isinstance(content, dict)
    extra = [key for key in content if key not in spec.fields and key not in COMMON]
    if extra:
        raise InvalidIntent.extra(name, extra, ["panel", "request", *spec.fields])
    if "panel" in content:
        _PANEL.check(_PANEL.label, content["panel"])
    if "request" in content:
        _REQUEST.check(_REQUEST.label, content["request"])
    values: dict[str, Any] = {}
    for key, wanted in spec.fields.items():
        if key in content:
            values[key] = wanted.check(wanted.label, content[key])
        elif wanted.required:
            raise InvalidIntent.missing(name, wanted.label)
        else:
            values[key] = wanted.default
    return Intent(name, answer_panel(content), values)


FRONT_END_TRAITS = {"compact": bool}  # the only state the front end owns


def front_end_state(sync_data: object) -> dict[str, Any]:
    """The part of a state update from the front end that it may make: its own toggles, of
    their type. Everything else the kernel computes, and a page must not overwrite it."""
    if not isinstance(sync_data, dict):
        return {}
    return {
        name: value
        for name, value in sync_data.items()
        if name in FRONT_END_TRAITS and isinstance(value, FRONT_END_TRAITS[name])
    }


def unexpected(error: Exception) -> str:
    """What the panel says when the lab itself failed (a bug), instead of staying busy."""
    try:
        said = shortened(str(error))
    except Exception:  # even its text may fail; the panel must still get an answer
        said = "no description"
    return (
        f"The view could not finish this ({type(error).__name__}: {said}). "
        "Look at the queues to see what happened. If the error comes from your own code (a "
        "serializer, a message class), fix it there; otherwise it is a bug in melange-lab: "
        "please report it."
    )
