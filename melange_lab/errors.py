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

    def __init__(self, operation: str, code: str, detail: str) -> None:
        self.aws_code = code
        super().__init__(f"{operation} failed with {code}: {detail}")
