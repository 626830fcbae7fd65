"""melange-lab: learn publish/subscribe on a simulated SNS/SQS broker, with melange's API.

Port a melange program by writing ``melange_lab`` for ``melange`` in its imports and using
``SimulatedBroker().backend`` as its backend.
"""

from melange_lab import browser_tab as _browser_tab

_browser_tab.look_in_the_working_folder_last()  # in a browser tab: its storage is slow to ask
_browser_tab.check_dependencies()  # in a browser tab: name what did not arrive, before using it

from melange_lab.backends.factory import MessagingBackendFactory  # noqa: E402
from melange_lab.broker import SimulatedBroker  # noqa: E402
from melange_lab.consumers import Consumer, SingleDispatchConsumer, consumer  # noqa: E402
from melange_lab.errors import MelangeLabError  # noqa: E402
from melange_lab.filter_policies import FilterPolicy, FilterPolicyScope  # noqa: E402
from melange_lab.message_dispatcher import MessageDispatcher, SimpleMessageDispatcher  # noqa: E402
from melange_lab.publishers import QueuePublisher, TopicPublisher  # noqa: E402
from melange_lab.remote_broker import RemoteBroker  # noqa: E402

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
