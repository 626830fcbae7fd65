"""Every error the lab raises, under one base, each naming the thing and the fix.

Where AWS has an error code for the same mistake, ``aws_code`` carries it, so a learner also
learns the name they will meet on a real broker.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from typing import Any

QUOTED_CHARS = 80  # how much of a value an error message quotes
LISTED_NAMES = 10  # how many existing queues or topics an error message lists


class MelangeLabError(Exception):
    """Base of every melange-lab error."""

    aws_code: str | None = None


def _short_repr(limit: int) -> reprlib.Repr:
    """``repr`` that stays short for any value: long strings, deep nesting, huge integers."""
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict, short.maxset = 3, 5, 5, 5, 5
    short.maxstring, short.maxother, short.maxlong = limit // 3, limit // 2, limit
    plain_int = short.repr_int
    # reprlib looks its methods up by name, so these two are set on the instance
    setattr(  # noqa: B010
        short,
        "repr_int",
        lambda x, level: _integer(x) if x.bit_length() > 3 * limit else plain_int(x, level),
    )
    setattr(short, "repr_str", lambda x, level: _cut_repr(x, limit // 3))  # noqa: B010
    return short


def _integer(value: int) -> str:
    digits = int(value.bit_length() * 0.30103) + 1  # Python refuses to print > 4,300 digits
    return f"<an integer of about {digits:,} digits>"


def _cut_repr(text: str | bytes, limit: int) -> str:
    if len(text) <= limit:
        return repr(text)
    head = repr(text[: max(1, limit - 20)])
    return f"{head[:-1]}...{head[-1]} ({len(text):,} characters)"


def quoted(value: object, limit: int = QUOTED_CHARS) -> str:
    """``value`` as an error message quotes it: its ``repr``, cut to about ``limit`` characters
    with its full length said, so a 100,000-character name never makes a 100 KB message, and a
    value whose ``repr`` fails (a 5,000-digit integer, a broken ``__repr__``) still reads."""
    if isinstance(value, (str, bytes)):
        return _cut_repr(value, limit)
    try:
        text = _short_repr(limit).repr(value)
    except Exception:  # a learner's __repr__ may raise anything; the message must still form
        return f"<a {type(value).__name__}>"
    return shortened(text, limit)


def shortened(text: str, limit: int = 4 * QUOTED_CHARS) -> str:
    """``text`` (a reason or an answer from elsewhere) cut to ``limit`` characters, saying so."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def readable(text: str) -> str:
    """``text`` as UTF-8 can write it: a file name's bytes that are not UTF-8 (a zip made on
    another system) and lone surrogates become U+FFFD, so a report or a printed line never
    fails on them."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        raw = text.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _listing(names: Iterable[str]) -> str:
    shown = sorted(names)
    listed = ", ".join(quoted(n, 40) for n in shown[:LISTED_NAMES])
    more = f" and {len(shown) - LISTED_NAMES:,} more" if len(shown) > LISTED_NAMES else ""
    return f"{listed}{more}" if shown else "none"


def _name(value: Any) -> str:
    return quoted(value) if not isinstance(value, str) or len(value) > QUOTED_CHARS else value


class QueueNotFound(MelangeLabError):
    aws_code = "AWS.SimpleQueueService.NonExistentQueue"

    def __init__(self, name: str, existing: Iterable[str] = ()) -> None:
        self.name = name
        super().__init__(
            f"Queue {quoted(name)} does not exist (existing queues: {_listing(existing)}). "
            f"Declare it first: backend.declare_queue({quoted(name)}) or "
            f"MessagingBackendFactory(backend).init_queue({quoted(name)})."
        )


class TopicNotFound(MelangeLabError):
    aws_code = "NotFound"

    def __init__(self, name: str, existing: Iterable[str] = ()) -> None:
        self.name = name
        super().__init__(
            f"Topic {quoted(name)} does not exist (existing topics: {_listing(existing)}). "
            f"Declare it first: backend.declare_topic({quoted(name)})."
        )


class InvalidName(MelangeLabError):
    aws_code = "InvalidParameterValue"

    def __init__(self, kind: str, name: object, rule: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"Invalid {kind} name {quoted(name)}: {rule}")


class InvalidParameter(MelangeLabError, ValueError, TypeError):
    """A value SQS, SNS or the lab refuses: names the parameter, the value and what is allowed.

    Also a ``ValueError`` and a ``TypeError``, so code written for Python's conventions catches it.
    """

    aws_code = "InvalidParameterValue"

    def __init__(self, parameter: str, value: object, allowed: str, fix: str = "") -> None:
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.fix = fix
        advice = f" {fix}" if fix else ""
        super().__init__(
            f"{shortened(parameter, QUOTED_CHARS)}={quoted(value)} is not allowed: "
            f"{shortened(allowed)}.{advice}"
        )


class UnknownOption(MelangeLabError, TypeError):
    """A call with a keyword the function does not have, or arguments that do not fit it."""

    def __init__(self, function: str, problem: str, known: Iterable[str]) -> None:
        self.function = function
        listed = ", ".join(known) or "none"
        super().__init__(
            f"{function}(): {shortened(problem)}. Its options are: {listed}. Check the "
            f"spelling, or see help({function.split('(')[0]})."
        )


class SerializerNotFound(MelangeLabError):
    def __init__(self, data_type: type, bindings: dict[type, str], has_default: bool) -> None:
        self.data_type = data_type
        bound = ", ".join(f"{t.__qualname__} -> '{n}'" for t, n in bindings.items()) or "none"
        bound = shortened(bound)
        default = "" if has_default else " and no default serializer"
        name = shortened(data_type.__qualname__, QUOTED_CHARS)
        super().__init__(
            f"No serializer is bound for type {name} (bindings: {bound}{default})."
            f' Fix it by binding the type, e.g. "serializer_bindings": '
            f'{{{name}: "pickle"}}, or by naming a fallback with '
            f'"default": "pickle" in the registry settings.'
        )


class SerializationError(MelangeLabError):
    """melange's ``melange.exceptions.SerializationError``: data a serializer cannot handle.

    Raise it from your own serializer; the lab's two cases below are kinds of it.
    """


class SerializationFailed(SerializationError):
    def __init__(self, data: object, serializer: str, reason: str) -> None:
        self.data_type = type(data)
        super().__init__(
            f"The {serializer} serializer cannot encode a {type(data).__qualname__}: {reason}. "
            f"Send a value it can encode, or bind {type(data).__qualname__} to another serializer."
        )


class DeserializationFailed(SerializationError):
    def __init__(self, message_id: str | None, reason: str) -> None:
        self.message_id = message_id
        self.reason = reason
        super().__init__(
            f"Message {message_id} could not be decoded: {reason}. It was not acknowledged, so "
            f"it will be retried and, after the queue's maxReceiveCount, moved to its dead-letter "
            f"queue; check which serializer the publisher used."
        )


class UnsafePickle(DeserializationFailed):
    def __init__(self, message_id: str | None, global_name: str, is_class: bool = False) -> None:
        self.global_name = global_name
        bind = (
            f' (or, for a class of yours, bind it: "serializer_bindings": '
            f'{{{_name(global_name.rsplit(".", 1)[-1])}: "pickle"}})'
            if is_class
            else ""
        )
        super().__init__(
            message_id,
            f"the pickle asks for {quoted(global_name)}, which the pickle serializer does not "
            f"trust, so it was refused (loading arbitrary globals can run code). If you trust it, "
            f'give the registry a serializer that allows it: "serializers": {{"pickle": '
            f'PickleSerializer(allowed=["{_name(global_name)}"])}}{bind}',
        )


class MissingMessageGroupId(MelangeLabError):
    aws_code = "MissingParameter"

    def __init__(self, queue_or_topic: str) -> None:
        super().__init__(
            f"{quoted(queue_or_topic)} is FIFO, so every message needs a group: publish with "
            f"message_group_id='...' (messages of one group are delivered in order)."
        )


class MessageTooLarge(MelangeLabError):
    aws_code = "InvalidParameterValue"

    def __init__(self, destination: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"The message for {quoted(destination)} is {size:,} bytes, over the limit of {limit:,} "
            f"bytes. Send a smaller payload, e.g. store the data elsewhere and send a reference."
        )


class InvalidMessageContents(MelangeLabError, ValueError):
    """Text a message carries holds a character the service cannot carry (SQS's character
    ranges; for SNS, a lone surrogate half, which no UTF-8 text can hold)."""

    def __init__(self, what: str, text: str, position: int, allowed: str, aws_code: str) -> None:
        self.aws_code = aws_code
        self.position = position
        code = ord(text[position])
        kind = (
            "half of a surrogate pair, alone: not a character UTF-8 can encode"
            if 0xD800 <= code <= 0xDFFF
            else "a control character"
            if code < 0x20
            else "a noncharacter"
        )
        super().__init__(
            f"The {what} holds U+{code:04X} ({kind}) at position {position:,}: {allowed}. "
            "Remove it, or encode the text (a JSON serializer escapes it: json.dumps does)."
        )


class InvalidFilterPolicy(MelangeLabError):
    aws_code = "InvalidParameter"

    def __init__(self, policy: object, reason: str) -> None:
        self.policy = policy
        super().__init__(
            f"Invalid filter policy {quoted(policy)}: {shortened(reason)}. A filter policy is a "
            f"JSON object mapping attribute names to lists of allowed values, e.g. "
            f'{{"manifest": ["OrderCreated"]}}.'
        )


class NoDefaultBackend(MelangeLabError):
    def __init__(self) -> None:
        super().__init__(
            "No backend was given and no default backend is set. Pass one, e.g. "
            "QueuePublisher(registry, broker.backend), or set it once with "
            "BackendManager().set_default_backend(broker.backend)."
        )


class BrokerStopped(MelangeLabError):
    def __init__(self, reason: str = "it was stopped") -> None:
        super().__init__(
            f"This simulated broker cannot be used because {reason}. Start it again with "
            f"broker.start(), or create a new SimulatedBroker()."
        )


class InvalidInput(MelangeLabError):
    """What a learner typed into a widget cannot be used as it is; the message says the fix."""


class InvalidIntent(InvalidInput):
    """What the view's front end sent is not an intent the view can act on (an unknown intent,
    a field missing, extra, or not what the form sends): nothing was published or consumed."""

    def __init__(self, field: str, value: object, allowed: str, text: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        label = shortened(field, QUOTED_CHARS)
        said = text or f"{label} = {quoted(value)} is not allowed: it must be {allowed}"
        super().__init__(f"{said}. Nothing was done.")

    @classmethod
    def missing(cls, intent: str, field: str) -> InvalidIntent:
        return cls(field, None, "given", f"{field} is missing: the view's {intent} needs it")

    @classmethod
    def extra(cls, intent: str, fields: list[object], known: list[str]) -> InvalidIntent:
        listed = ", ".join(quoted(f, 40) for f in fields[:5])
        return cls(
            "fields",
            fields,
            ", ".join(known),
            f"The view's {intent} has no field {listed}; it takes {', '.join(known)}",
        )


class BrokerRequestFailed(MelangeLabError):
    """A broker call failed for a reason the lab has no more specific error for."""

    def __init__(self, operation: str, code: str, detail: str, endpoint: str | None = None) -> None:
        self.aws_code = code
        self.endpoint = endpoint
        where = f" at {endpoint}" if endpoint else ""
        super().__init__(f"{operation}{where} failed with {code}: {shortened(detail)}")


class GradingError(MelangeLabError):
    """The teacher's grading tools cannot go on as asked; the message says what to change."""


class SourceNotUsable(GradingError):
    def __init__(self, source: object, reason: str) -> None:
        super().__init__(
            f"--source {shortened(str(source))}: {shortened(reason)}. Pass the folder of your "
            "solution notebooks, e.g. --source notebooks/exercises."
        )


class SandboxUnavailable(GradingError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Cannot grade safely: {reason}. Grading runs each student's code; install "
            "bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) so it runs sandboxed, or "
            "pass --unsafe-no-sandbox to run it with your own rights (it can then read your "
            "files and secrets, change or delete them, use the network and outlive the run)."
        )


class GradingNeedsATeachersMachine(GradingError):
    def __init__(self) -> None:
        super().__init__(
            "Grading cannot run in the browser (JupyterLite/Pyodide has no processes to "
            "sandbox a submission in): run 'melange-lab grade' on a teacher's machine."
        )


class NotebookRefused(GradingError):
    """A notebook, or one of its cells, cannot be turned into a student version safely."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{shortened(where)}: {shortened(reason)}")


class SolutionMarkersUnbalanced(NotebookRefused):
    def __init__(
        self, where: str, begin: str = "BEGIN SOLUTION", end: str = "END SOLUTION"
    ) -> None:
        super().__init__(
            where,
            f"every line containing '{begin}' needs a line containing '{end}' after it (and no "
            "nesting); fix the markers in the source notebook.",
        )


class ViewIsReadOnly(MelangeLabError):
    """The broker view watches a source it cannot publish to or consume from."""

    def __init__(self) -> None:
        super().__init__(
            "This broker is watched read-only: publish and consume from your own code; the "
            "view follows what happens. For the Publish and Consume panels, view a "
            "SimulatedBroker (broker.view())."
        )


class PeekNotSupported(MelangeLabError):
    def __init__(self, queue: str) -> None:
        super().__init__(
            f"Cannot peek into '{queue}' on a real endpoint: SQS has no read-only look at "
            "messages, and receiving one to show it would raise its receive count and hide it "
            "from consumers. Use queues() for the counts, or a SimulatedBroker to see messages."
        )


class CheckFailed(MelangeLabError, AssertionError):
    """An exercise check did not pass; the message says what is wrong and how to fix it.

    ``template`` is the sentence with ``{name}`` fields, ``values`` what fills them.
    """

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = {name: str(value) for name, value in values.items()}
        super().__init__(template.format(**self.values))


class UnsupportedMotoVersion(MelangeLabError, RuntimeError):
    """The installed moto is outside the range, or its code no longer has the shape we patch."""


class PortInUse(MelangeLabError, OSError):
    """``broker.serve(port=...)`` asked for a port another program already listens on."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(
            f"Port {port} on {host} is already in use (by another program, or an earlier "
            f"broker.serve()), so the broker cannot answer there. Pick another port, or "
            f"serve(port=0) for a free one (its address is in .url)."
        )


class ServeNotAvailable(MelangeLabError):
    """``broker.serve()`` cannot listen here: a browser tab has no sockets, or moto's server
    application (Flask) is not installed."""

    IN_A_BROWSER = (
        "a browser tab (JupyterLite, Pyodide) has no network sockets to listen on. Run this "
        "notebook in JupyterLab (make lab, or Binder) to let other programs reach the broker; "
        "everything else works in the tab"
    )

    def __init__(self, reason: str = IN_A_BROWSER) -> None:
        super().__init__(f"broker.serve() cannot start: {reason}.")


# -- apart from MelangeLabError, on purpose ---------------------------------------------------
# The grader and the moto layer catch these themselves and report them in their own words:
# the first two are ValueErrors as they always were; TimeLimitReached is a BaseException so
# that a student's ``except Exception`` cannot swallow it.


class NotebookUnreadable(ValueError):
    """A file is not a notebook the grader can use; the message says why, for the report."""


class PolicyProblem(ValueError):
    """What SNS would answer for a policy it refuses (the text after "FilterPolicy: ")."""


class TimeLimitReached(BaseException):
    """Raised into a cell whose time is up; a BaseException so ``except Exception`` misses it."""
