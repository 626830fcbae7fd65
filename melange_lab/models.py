"""The values that travel between publishers, backends and consumers (melange's models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    """A message as a backend carries it: serialized content plus how to decode it.

    ``metadata`` holds the provider's own view of the message (for SQS the received message and
    its queue URL), which the backend needs to acknowledge it.
    """

    message_id: str | None
    content: Any
    metadata: Any = None
    manifest: str | None = None
    serializer_id: int | None = None

    @staticmethod
    def create(
        content: Any, manifest: str | None = None, serializer_id: int | None = None
    ) -> Message:
        """A message about to be published: it has no id until the broker gives it one."""
        return Message(None, content, None, manifest, serializer_id)

    def get_message_manifest(self) -> str | None:
        return self.manifest


@dataclass
class MessageDto:
    """One entry of a batch publish: the message and its FIFO settings."""

    message: Message
    message_group_id: str | None = None
    message_deduplication_id: str | None = None


@dataclass(frozen=True)
class QueueWrapper:
    """A handle on a queue: its name and the URL the provider addresses it by."""

    name: str
    url: str
    attributes: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_fifo(self) -> bool:
        return self.name.endswith(".fifo")


@dataclass(frozen=True)
class TopicWrapper:
    """A handle on a topic: its name and ARN."""

    name: str
    arn: str

    @property
    def is_fifo(self) -> bool:
        return self.name.endswith(".fifo")
