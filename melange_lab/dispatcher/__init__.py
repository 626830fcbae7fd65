"""The dispatcher: receives messages from a queue, decodes them and hands them to consumers.

One module per job, as dramatiq's ``worker.py`` splits its worker from its consumer and
worker threads: ``dispatching`` (``MessageDispatcher`` and its loops), ``batches`` (one
received batch), ``handling`` (one message, and the ack modes), ``background`` (``start()`` /
``stop()``), ``summary`` (``ConsumeSummary``), ``checks``. melange's import path for it is
``melange_lab.message_dispatcher``.

Where the lab differs from melange, on purpose:

- Loops end (see ``MessageDispatcher.consume_loop``); ``start()``/``stop()`` run one in a
  daemon thread that polls in real time.
- A message that cannot be decoded is never acknowledged, whatever the ack mode: it stays
  invisible for its visibility timeout, comes back, and after ``maxReceiveCount`` receives
  moves to the dead-letter queue. A ``failed`` event says why.
- A failed message is left to its visibility timeout (not released at once), as on AWS.
  A message received but not handed to a consumer (a limit was hit, or ``stop()`` was
  called) is released, so it is visible again at once; none is ever half-acknowledged.
"""

from melange_lab.dispatcher.dispatching import MessageDispatcher, SimpleMessageDispatcher
from melange_lab.dispatcher.summary import ConsumeSummary, Outcome

__all__ = ["ConsumeSummary", "MessageDispatcher", "Outcome", "SimpleMessageDispatcher"]
