"""What the SQS backend remembers between calls, so a publish is one boto3 call."""

from __future__ import annotations

from dataclasses import dataclass, field

from melange_lab import limits
from melange_lab.backends.sqs.deduplication import DeduplicationWindow
from melange_lab.backends.sqs.subscriptions import Subscription
from melange_lab.models import QueueWrapper, TopicWrapper


@dataclass
class BackendCache:
    """Queue URLs and topic ARNs (as their wrappers), subscriptions by topic ARN, each topic's
    content-based deduplication, the FIFO queues declared to deduplicate by content, and the
    FIFO deduplication ids recently sent. Dropped when the broker is reset."""

    queues: dict[str, QueueWrapper] = field(default_factory=dict)
    topics: dict[str, TopicWrapper] = field(default_factory=dict)
    subscriptions: dict[str, list[Subscription]] = field(default_factory=dict)
    content_deduplication: dict[str, bool] = field(default_factory=dict)
    # FIFO queues declared with content_based_deduplication=True: they publish without ids
    content_deduplication_asked: set[str] = field(default_factory=set)
    # kept twice the window: a broker whose timers run late still answers with the old id
    deduplication: DeduplicationWindow = field(
        default_factory=lambda: DeduplicationWindow(keep_for=2 * limits.DEDUPLICATION_INTERVAL)
    )

    def forget(self) -> None:
        """Drops everything but which queues were declared to deduplicate by content."""
        self.queues.clear()
        self.topics.clear()
        self.subscriptions.clear()
        self.content_deduplication.clear()
        self.deduplication.forget()

    def forget_queue(self, name: str) -> None:
        self.queues.pop(name, None)
        self.deduplication.forget(f"queue:{name}")

    def forget_topic(self, topic: TopicWrapper) -> None:
        self.topics.pop(topic.name, None)
        self.subscriptions.pop(topic.arn, None)
        self.deduplication.forget(f"topic:{topic.name}")

    def drop_subscription(self, topic_arn: str, arn: str) -> None:
        """Forgets one subscription of a topic (after it was unsubscribed)."""
        if topic_arn in self.subscriptions:
            self.subscriptions[topic_arn] = [
                s for s in self.subscriptions[topic_arn] if s.arn != arn
            ]
