"""melange's ``melange.message_dispatcher``: ``MessageDispatcher`` and
``SimpleMessageDispatcher``, with the lab's ``ConsumeSummary``.

Only an import path: the dispatcher lives in ``melange_lab.dispatcher``, one module per job.
"""

from melange_lab.dispatcher.dispatching import MessageDispatcher, SimpleMessageDispatcher
from melange_lab.dispatcher.handling import AfterConsume, OnException
from melange_lab.dispatcher.summary import ConsumeSummary, Outcome

__all__ = [
    "AfterConsume",
    "ConsumeSummary",
    "MessageDispatcher",
    "OnException",
    "Outcome",
    "SimpleMessageDispatcher",
]
