"""The SNS/SQS backend: one implementation for the simulated broker, LocalSQS and AWS.

Unlike melange, it creates its boto3 clients once and caches queue URLs and topic ARNs, so a
publish is one boto3 call. Each of its jobs lives in a module of this package, named for it;
this class puts them together. The simulated broker's own behaviour is a subclass
(``simulated.SimulatedSQSBackend``), the real endpoints' another (``backends.endpoints``).
"""

from __future__ import annotations

import time
from typing import Any

from melange_lab import limits
from melange_lab.arguments import checked, optional
from melange_lab.backends.sqs.backend_events import CallReports
from melange_lab.backends.sqs.consuming import Consuming
from melange_lab.backends.sqs.declarations import Declaring
from melange_lab.backends.sqs.publishing import Publishing
from melange_lab.backends.sqs.redrive import Redriving
from melange_lab.events import EventLog
from melange_lab.serializers import SerializerRegistry


class SQSBackend(Declaring, Publishing, Consuming, Redriving):
    """melange's SQS/SNS backend over reusable boto3 clients.

    ``visibility_timeout=None`` (the default) uses each queue's own setting;
    ``max_receive_count`` is how many receives a message gets before its DLQ takes it.
    """

    drains = True
    #: Whether the backend reports its own calls on ``events``: yes on a real endpoint; the
    #: simulated broker reports every change itself, whoever makes it.
    reports_calls = True

    @checked(
        max_number_of_messages=limits.RECEIVE_BATCH.check,
        visibility_timeout=optional(limits.VISIBILITY_TIMEOUT.check),
        wait_time_seconds=limits.WAIT_TIME_SECONDS.check,
        max_receive_count=limits.MAX_RECEIVE_COUNT.check,
    )
    def __init__(
        self,
        sqs_client: Any,
        sns_client: Any,
        *,
        events: EventLog | None = None,
        max_number_of_messages: int = 10,
        visibility_timeout: int | None = None,
        wait_time_seconds: int = 10,
        max_receive_count: int = 4,
    ) -> None:
        self.events = events if events is not None else EventLog(time.time)
        self.max_number_of_messages = max_number_of_messages
        self.visibility_timeout = visibility_timeout
        self.wait_time_seconds = wait_time_seconds
        self.max_receive_count = max_receive_count
        self.serializer_registry: SerializerRegistry | None = None
        self._reports = CallReports(self.events if self.reports_calls else None)
        self._connect(sqs_client, sns_client)

    def remember_registry(self, registry: SerializerRegistry) -> None:
        """Publishers and dispatchers share their registry, so views can decode payloads."""
        self.serializer_registry = registry


# melange's name for it (melange.backends.sqs.sqs_backend.BaseSQSBackend)
BaseSQSBackend = SQSBackend
