"""The SNS/SQS backend, one module per job (``backend.py`` puts them together); melange's
module paths ``sqs_backend`` and ``localsqs`` are here too."""

from melange_lab.backends.sqs.backend import BaseSQSBackend, SQSBackend
from melange_lab.backends.sqs.requests import SNS_MESSAGE_LIMIT, SQS_BATCH_SIZE
from melange_lab.backends.sqs.subscriptions import Subscription

__all__ = ["SNS_MESSAGE_LIMIT", "SQS_BATCH_SIZE", "BaseSQSBackend", "SQSBackend", "Subscription"]
