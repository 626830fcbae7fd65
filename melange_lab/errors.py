"""Every error the lab raises, under one base, each naming the thing and the fix.

Where AWS has an error code for the same mistake, ``aws_code`` carries it, so a learner also
learns the name they will meet on a real broker.
"""

from __future__ import annotations

from collections.abc import Iterable


class MelangeLabError(Exception):
    """Base of every melange-lab error."""

    aws_code: str | None = None


def _listing(names: Iterable[str]) -> str:
    shown = sorted(names)
    return ", ".join(f"'{n}'" for n in shown) if shown else "none"


class QueueNotFound(MelangeLabError):
    aws_code = "AWS.SimpleQueueService.NonExistentQueue"

    def __init__(self, name: str, existing: Iterable[str] = ()) -> None:
        self.name = name
        super().__init__(
            f"Queue '{name}' does not exist (existing queues: {_listing(existing)}). "
            f"Declare it first: backend.declare_queue('{name}') or "
            f"MessagingBackendFactory(backend).init_queue('{name}')."
        )


class TopicNotFound(MelangeLabError):
    aws_code = "NotFound"

    def __init__(self, name: str, existing: Iterable[str] = ()) -> None:
        self.name = name
        super().__init__(
            f"Topic '{name}' does not exist (existing topics: {_listing(existing)}). "
            f"Declare it first: backend.declare_topic('{name}')."
        )


class InvalidName(MelangeLabError):
    aws_code = "InvalidParameterValue"

    def __init__(self, kind: str, name: str, rule: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"Invalid {kind} name {name!r}: {rule}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text):,} characters)"


class InvalidParameter(MelangeLabError, ValueError, TypeError):
    """A value SQS, SNS or the lab refuses: names the parameter, the value and what is allowed.

    Also a ``ValueError`` and a ``TypeError``, so code written for Python's conventions catches it.
    """

    aws_code = "InvalidParameterValue"

    def __init__(self, parameter: str, value: object, allowed: str, fix: str = "") -> None:
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        advice = f" {fix}" if fix else ""
        super().__init__(f"{parameter}={_shown(value)} is not allowed: {allowed}.{advice}")


class UnknownOption(MelangeLabError, TypeError):
    """A call with a keyword the function does not have, or arguments that do not fit it."""

    def __init__(self, function: str, problem: str, known: Iterable[str]) -> None:
        self.function = function
        listed = ", ".join(known) or "none"
        super().__init__(
            f"{function}(): {problem}. Its options are: {listed}. Check the spelling, or see "
            f"help({function.split('(')[0]})."
        )


class SerializerNotFound(MelangeLabError):
    def __init__(self, data_type: type, bindings: dict[type, str], has_default: bool) -> None:
        self.data_type = data_type
        bound = ", ".join(f"{t.__qualname__} -> '{n}'" for t, n in bindings.items()) or "none"
        default = "" if has_default else " and no default serializer"
        name = data_type.__qualname__
        super().__init__(
            f"No serializer is bound for type {name} (bindings: {bound}{default})."
            f' Fix it by binding the type, e.g. "serializer_bindings": '
            f'{{{data_type.__qualname__}: "pickle"}}, or by naming a fallback with '
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
            f'{{{global_name.rsplit(".", 1)[-1]}: "pickle"}})'
            if is_class
            else ""
        )
        super().__init__(
            message_id,
            f"the pickle asks for '{global_name}', which the pickle serializer does not trust, so "
            f"it was refused (loading arbitrary globals can run code). If you trust it, give the "
            f'registry a serializer that allows it: "serializers": {{"pickle": '
            f'PickleSerializer(allowed=["{global_name}"])}}{bind}',
        )


class MissingMessageGroupId(MelangeLabError):
    aws_code = "MissingParameter"

    def __init__(self, queue_or_topic: str) -> None:
        super().__init__(
            f"'{queue_or_topic}' is FIFO, so every message needs a group: publish with "
            f"message_group_id='...' (messages of one group are delivered in order)."
        )


class MessageTooLarge(MelangeLabError):
    aws_code = "InvalidParameterValue"

    def __init__(self, destination: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"The message for '{destination}' is {size:,} bytes, over the limit of {limit:,} "
            f"bytes. Send a smaller payload, e.g. store the data elsewhere and send a reference."
        )


class InvalidFilterPolicy(MelangeLabError):
    aws_code = "InvalidParameter"

    def __init__(self, policy: object, reason: str) -> None:
        self.policy = policy
        super().__init__(
            f"Invalid filter policy {policy!r}: {reason}. A filter policy is a JSON object "
            f"mapping attribute names to lists of allowed values, e.g. "
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


class BrokerRequestFailed(MelangeLabError):
    """A broker call failed for a reason the lab has no more specific error for."""

    def __init__(self, operation: str, code: str, detail: str, endpoint: str | None = None) -> None:
        self.aws_code = code
        self.endpoint = endpoint
        where = f" at {endpoint}" if endpoint else ""
        super().__init__(f"{operation}{where} failed with {code}: {detail}")


class GradingError(MelangeLabError):
    """The teacher's grading tools cannot go on as asked; the message says what to change."""


class SourceNotUsable(GradingError):
    def __init__(self, source: object, reason: str) -> None:
        super().__init__(
            f"--source {source}: {reason}. Pass the folder of your solution notebooks, e.g. "
            "--source notebooks/exercises."
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
        super().__init__(f"{where}: {reason}")


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
