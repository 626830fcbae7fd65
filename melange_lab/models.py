"""The values that travel between publishers, backends and consumers (melange's models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    """A message as a backend carries it: serialized content plus how to decode it.

    Positional order as melange's: ``Message(message_id, content, metadata, serializer_id,
    manifest)``. ``metadata`` holds the provider's own view of the message (for SQS the
    received message and its queue URL), which the backend needs to acknowledge it.
    """

    message_id: str | None
    content: Any
    metadata: Any = None
    serializer_id: int | None = None
    manifest: str | None = None

    @staticmethod
    def create(
        content: Any,
        manifest: str | None = None,
        serializer_id: int | None = None,
        metadata: Any = None,
    ) -> Message:
        """A message about to be published: it has no id until the broker gives it one."""
        return Message(None, content, metadata, serializer_id, manifest)

    def get_message_manifest(self) -> str | None:
        return self.manifest


@dataclass
class MessageDto:
    """One entry of a batch publish: the message and its FIFO settings."""

    message: Message
    message_group_id: str | None = None
    message_deduplication_id: str | None = None


@dataclass(frozen=True)
class SQSQueue:
    """What the lab's SQS backend wraps: a queue's name, URL and attributes when looked up."""

    name: str
    url: str
    attributes: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_fifo(self) -> bool:
        return self.name.endswith(".fifo")


@dataclass(frozen=True)
class SNSTopic:
    """What the lab's SNS backend wraps: a topic's name and ARN."""

    name: str
    arn: str

    @property
    def is_fifo(self) -> bool:
        return self.name.endswith(".fifo")


class _Wrapper:
    """melange's wrapper shape: built from the provider's object, which only the backend that
    made it unwraps. The lab's SQS backend wraps ``SQSQueue``/``SNSTopic`` values; a backend
    written for melange may wrap anything."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    @property
    def unwrapped_obj(self) -> Any:
        return self.obj

    def unwrap(self) -> Any:
        return self.obj

    @property
    def name(self) -> str:
        """The wrapped object's ``name``, else its text (for logs and events)."""
        name = getattr(self.obj, "name", None)
        return name if isinstance(name, str) else str(self.obj)

    @property
    def is_fifo(self) -> bool:
        return self.name.endswith(".fifo")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Wrapper) and type(other) is type(self) and other.obj == self.obj

    def __hash__(self) -> int:
        try:
            return hash(self.obj)
        except TypeError:
            return id(self.obj)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.obj!r})"


class QueueWrapper(_Wrapper):
    """A handle on a queue. ``QueueWrapper(obj)`` as in melange, or the lab's
    ``QueueWrapper(name, url)``, which wraps an ``SQSQueue``."""

    def __init__(
        self, obj: Any, url: str | None = None, attributes: dict[str, str] | None = None
    ) -> None:
        super().__init__(obj if url is None else SQSQueue(str(obj), url, dict(attributes or {})))

    @property
    def url(self) -> str:
        return str(getattr(self.obj, "url", ""))

    @property
    def attributes(self) -> dict[str, str]:
        """The attributes the queue had when it was looked up (empty if the object has none)."""
        attributes = getattr(self.obj, "attributes", None)
        return attributes if isinstance(attributes, dict) else {}


class TopicWrapper(_Wrapper):
    """A handle on a topic. ``TopicWrapper(obj)`` as in melange, or the lab's
    ``TopicWrapper(name, arn)``, which wraps an ``SNSTopic``."""

    def __init__(self, obj: Any, arn: str | None = None) -> None:
        super().__init__(obj if arn is None else SNSTopic(str(obj), arn))

    @property
    def arn(self) -> str:
        return str(getattr(self.obj, "arn", ""))
