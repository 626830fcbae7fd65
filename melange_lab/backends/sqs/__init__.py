"""The SNS/SQS backend, under melange's module paths ``melange.backends.sqs.sqs_backend``
and ``melange.backends.sqs.localsqs``."""

from melange_lab.backends.sqs.sqs_backend import (
    SNS_MESSAGE_LIMIT,
    SQS_BATCH_SIZE,
    BaseSQSBackend,
    SQSBackend,
    Subscription,
)

__all__ = ["SNS_MESSAGE_LIMIT", "SQS_BATCH_SIZE", "BaseSQSBackend", "SQSBackend", "Subscription"]
