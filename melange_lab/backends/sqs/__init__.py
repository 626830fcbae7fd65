"""The SNS/SQS backend, under melange's module path ``melange.backends.sqs``."""

from melange_lab.backends.sqs.sqs_backend import (
    SNS_MESSAGE_LIMIT,
    SQS_BATCH_SIZE,
    SQSBackend,
    Subscription,
)

__all__ = ["SNS_MESSAGE_LIMIT", "SQS_BATCH_SIZE", "SQSBackend", "Subscription"]
