"""melange's ``melange.backends.sqs.localsqs``: the backend for an SNS/SQS endpoint on your
machine (ElasticMQ, LocalStack, moto's server)."""

from melange_lab.backends.endpoints import LocalSQSBackend

__all__ = ["LocalSQSBackend"]
