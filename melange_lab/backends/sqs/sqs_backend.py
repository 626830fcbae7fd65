"""melange's ``melange.backends.sqs.sqs_backend``: its ``BaseSQSBackend`` and ``AWSBackend``.

Only an import path: the backend lives in the modules of ``melange_lab.backends.sqs`` (one
per job, put together in ``backend.py``), the endpoint backends in ``backends.endpoints``.
"""

from melange_lab.backends.endpoints import AWSBackend
from melange_lab.backends.sqs.backend import BaseSQSBackend, SQSBackend
from melange_lab.backends.sqs.requests import SNS_MESSAGE_LIMIT, SQS_BATCH_SIZE
from melange_lab.backends.sqs.subscriptions import Subscription

__all__ = [
    "SNS_MESSAGE_LIMIT",
    "SQS_BATCH_SIZE",
    "AWSBackend",
    "BaseSQSBackend",
    "SQSBackend",
    "Subscription",
]
