"""What a provider error means for a learner: boto3's errors become the lab's named errors."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from melange_lab.errors import (
    BrokerRequestFailed,
    MelangeLabError,
    MissingMessageGroupId,
    QueueNotFound,
    TopicNotFound,
)

QUEUE_MISSING = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
TOPIC_MISSING = "NotFound"


def error_code(error: ClientError) -> tuple[str, str]:
    """The AWS error code of an answer, and its message."""
    answer = error.response.get("Error", {})
    return str(answer.get("Code", "Unknown")), str(answer.get("Message", ""))


def refused(
    operation: str,
    error: ClientError,
    queue: str | None,
    topic: str | None,
    queue_names: Callable[[], list[str]],
    topic_names: Callable[[], list[str]],
) -> MelangeLabError:
    """The lab's error for a request the broker answered with an error; ``queue_names`` and
    ``topic_names`` list what exists, for a not-found error to name."""
    code, detail = error_code(error)
    if queue is not None and code in QUEUE_MISSING:
        return QueueNotFound(queue, queue_names())
    if topic is not None and code == TOPIC_MISSING:
        return TopicNotFound(topic, topic_names())
    if code == "MissingParameter" and "MessageGroupId" in detail:
        return MissingMessageGroupId(queue or topic or "?")
    return BrokerRequestFailed(operation, code, detail)


def unanswered(operation: str, error: BotoCoreError) -> BrokerRequestFailed:
    """The lab's error for a request that got no answer at all: endpoint down, no
    credentials, ...; names the endpoint when botocore knows it, and what to try."""
    endpoint = getattr(error, "kwargs", {}).get("endpoint_url")
    detail = str(error) if endpoint is None else _no_answer(error)
    return BrokerRequestFailed(operation, type(error).__name__, detail, endpoint)


def _no_answer(error: BotoCoreError) -> str:
    """What a transport failure means for a learner, and what to try."""
    return (
        f"{error} The server did not answer in time or could not be reached: check that it is "
        "running at that address, or give the backend longer timeouts (connect_timeout=..., "
        "read_timeout=...)."
    )
