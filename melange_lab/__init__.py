"""melange-lab: learn publish/subscribe on a simulated SNS/SQS broker, with melange's API.

Port a melange program by writing ``melange_lab`` for ``melange`` in its imports and using
``SimulatedBroker().backend`` as its backend.
"""

from melange_lab.backends.factory import MessagingBackendFactory
from melange_lab.broker import SimulatedBroker
from melange_lab.consumers import Consumer, SingleDispatchConsumer, consumer
from melange_lab.errors import MelangeLabError
from melange_lab.filter_policies import FilterPolicy, FilterPolicyScope
from melange_lab.message_dispatcher import MessageDispatcher, SimpleMessageDispatcher
from melange_lab.publishers import QueuePublisher, TopicPublisher
from melange_lab.remote_broker import RemoteBroker

__version__ = "0.1.0"

__all__ = [
    "Consumer",
    "FilterPolicy",
    "FilterPolicyScope",
    "MelangeLabError",
    "MessageDispatcher",
    "MessagingBackendFactory",
    "QueuePublisher",
    "RemoteBroker",
    "SimpleMessageDispatcher",
    "SimulatedBroker",
    "SingleDispatchConsumer",
    "TopicPublisher",
    "__version__",
    "consumer",
]
