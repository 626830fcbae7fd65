"""Backends: where messages go. Same module shape as ``melange.backends``."""

from melange_lab.backends.backend_manager import BackendManager
from melange_lab.backends.base import MessagingBackend
from melange_lab.backends.endpoints import AWSBackend, LocalSQSBackend
from melange_lab.backends.sqs import SQSBackend, Subscription
from melange_lab.backends.testing import InMemoryMessagingBackend, link_synchronously

__all__ = [
    "AWSBackend",
    "BackendManager",
    "InMemoryMessagingBackend",
    "LocalSQSBackend",
    "MessagingBackend",
    "SQSBackend",
    "Subscription",
    "link_synchronously",
]
