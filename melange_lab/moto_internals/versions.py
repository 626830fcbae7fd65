"""Which moto we run on: the supported range, and fingerprints of the moto code we patch or read.

A newer moto fails loudly here instead of misbehaving quietly.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import textwrap
from importlib import metadata
from types import ModuleType

import moto.core.utils as moto_utils
import moto.sns.models as sns_models
import moto.sqs.models as sqs_models
from moto.core.serialize import BaseJSONSerializer, QuerySerializer
from moto.sns.models import SNSBackend, Subscription, Topic
from moto.sns.responses import SNSResponse
from moto.sns.utils import FilterPolicyMatcher
from moto.sqs.models import Message, Queue, SQSBackend
from moto.sqs.responses import SQSResponse

from melange_lab.errors import UnsupportedMotoVersion
from melange_lab.moto_internals.patching import MISSING, _stock

SUPPORTED_MOTO = ">=5.2.1,<5.3"
ABSENT = "absent"  # the fingerprint of something moto does not have
_LOWEST, _BELOW = (5, 2, 1), (5, 3)


# --- checking the moto we run on ------------------------------------------------------------

# sha256 (first 16 hex digits) of the dedented source of each moto object we replace, wrap, or
# whose fields and units (milliseconds) we read: one digest, or several where supported moto
# versions differ in a way that does not matter to the patch.
_FINGERPRINTS: dict[str, str | tuple[str, ...]] = {
    "Message.__init__": "940a3cff74fa0f08",
    "Message.change_visibility": "e78bd2f5e2d4eb3d",
    "Message.delay": "63024980710cbe05",
    "Message.visible": "1abcc7861b9a4c5b",
    "Message.delayed": "815515980283b0b0",
    "Queue._setup_dlq": "fb70d1b10d3b5f61",
    "Queue.attributes": "ddf03540564891aa",
    "Queue.policy": "abcfbaaa0f2832c8",  # fast_counts leaves it out where unread (5.2.1, 5.2.6)
    "Queue.approximate_number_of_messages": "58ad3ae419355f73",
    "Queue.approximate_number_of_messages_delayed": "e69b37fb977867ed",
    "Queue.approximate_number_of_messages_not_visible": "e411bdffb39107ee",
    "Queue.messages": "67cdc0178b71ab4c",
    "Queue.add_message": "2ea74b872868bc97",
    "Queue.delete_message": "9c3d8164626a0986",
    "SQSBackend.send_message": "fd7abfe52e85d643",
    "SQSBackend._validate_message": "270d61e427a1cecd",
    "SQSBackend.receive_message": "79cac41881a077fd",
    "SQSBackend.is_message_valid_based_on_retention_period": "9c430561cf6d7cb4",
    "Subscription.get_post_data": "dc591399b4d078f5",
    "Subscription.publish": "0542364934c7e398",
    "Queue.pending_message_groups": "cbc9268f7ddfa5ab",
    "SQSBackend.create_queue": "ea3b87d7849ea211",
    "SQSBackend.set_queue_attributes": "94934a72a70693f8",
    "SNSResponse._transform_message_attributes": "9461d4dd903aef33",
    "SNSResponse.publish": "2decdd151c0013e9",
    "SNSResponse.get_topic_attributes": "68c2e1e64dbe3b31",
    "SQSBackend.send_message_batch": "bcfb7650c4e91628",
    "SQSResponse.receive_message": "600506ac3ac885c2",
    "SNSBackend.publish": "83a33950942808e8",
    "SNSBackend._validate_filter_policy": "ef2dda532b8610bf",
    "SNSBackend.set_subscription_attributes": "c8d48c8774367ba2",
    "FilterPolicyMatcher.matches": "2c6384cb6cdd2b15",
    "Topic.publish": "20061a77c84ca858",
    # the broker's events (event_hooks and its modules) and fan_out (moto 5.2.6): what they
    # wrap, and the batch calls that reach the wrapped single calls through self
    "SQSBackend.delete_queue": "b4f065534f2ad32f",
    "SQSBackend.delete_message": "1e18e68ea2139bf0",
    "SQSBackend.delete_message_batch": "6bf1a92dd5520d6a",
    "SQSBackend.change_message_visibility": "9c89525e42fd0d37",
    "SQSBackend.change_message_visibility_batch": "c03e047956f24bcb",
    "SQSBackend.purge_queue": ("1323c707481284af", "b3989bc918fc0dee"),  # 5.2.6, 5.2.1
    "SNSBackend.create_topic": "8597d378c1efef65",
    "SNSBackend.delete_topic": "fc6d9a3426aa4409",
    "SNSBackend.subscribe": "0710641d869b9b82",
    "SNSBackend.unsubscribe": "b48679c07dc9ea79",
    "SNSBackend._find_subscription": "602de6c7bb3fd811",
    "SNSBackend.publish_batch": "fbabfe142a32afa0",
    "SNSResponse.subscribe": "37131d6c3aa6d111",
    # the fidelity fixes (moto 5.2.6)
    "SNSResponse.set_subscription_attributes": "6086369f151d6909",
    "SQSResponse.send_message_batch": "f34b5d5e76a07eaf",
    "SQSResponse.delete_message_batch": "e76347c7a51435b5",
    "SQSResponse.change_message_visibility_batch": "104fb18ea070a801",
    "QuerySerializer._serialized_error_to_response": "ca409fd993dee7ac",
    "SNSBackend.get_subscription_attributes": "c826265a750bf15e",
    "BaseJSONSerializer._get_protocol_specific_error_code": "58cc748c47cdfab5",
    "SNSResponse.unsubscribe": "b181b8edb0b2973c",
    "SNSBackend.set_topic_attribute": "a502090fc8897cf6",
    "Subscription._parse_message_structure": "5773edb05a2242a5",
    "Message.validate_attribute_name": "23aafd412f89b959",
    "SNSResponse.tag_resource": "539e6ac69087a37f",
    "SQSResponse.list_queue_tags": "8f0937e699da1b35",
    "SQSBackend.add_permission": "0a1642a8bc2fa494",
    "SQSBackend.remove_permission": "896414b6e50ef3b0",
    "SNSBackend.add_permission": "cfdb8dcad3432bb2",
    "SNSBackend._get_values_nexttoken": "2ea2a8fe42b857e4",
    "SQSResponse.send_message": "239e783c4da52fd5",
    # message_moves: API actions moto lacks, added; a moto that has them must be re-checked
    "SQSResponse.start_message_move_task": "absent",
    "SQSResponse.list_message_move_tasks": "absent",
    "SNSResponse.put_data_protection_policy": "absent",
    "SNSResponse.get_data_protection_policy": "absent",
}


# moto.core.utils functions that moto's modules imported by name and that we replace there.
_PATCHED_GLOBALS: dict[ModuleType, tuple[str, ...]] = {
    sqs_models: ("unix_time", "unix_time_millis", "camelcase_to_underscores"),
    sns_models: ("unix_time", "iso_8601_datetime_with_milliseconds"),
}


def _version_tuple(version: str) -> tuple[int, ...]:
    found = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if found is None:
        return ()
    return tuple(int(part or 0) for part in found.groups())


_OWNERS: dict[str, type] = {
    owner.__name__: owner
    for owner in (
        Message,
        Queue,
        SQSBackend,
        SQSResponse,
        Subscription,
        Topic,
        SNSBackend,
        SNSResponse,
        FilterPolicyMatcher,
        QuerySerializer,
        BaseJSONSerializer,
    )
}


def _fingerprint(qualified: str) -> str | None:
    owner_name, name = qualified.split(".", 1)
    owner = _OWNERS[owner_name]
    target = _stock(owner, name)
    if target is MISSING or target is None:
        return ABSENT
    target = target.fget if isinstance(target, property) else target
    if not callable(target):
        return None
    try:
        source = textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def check_supported(installed: str | None = None) -> None:
    """Fail loudly unless moto is in ``SUPPORTED_MOTO`` and the code we patch is unchanged.

    ``installed`` defaults to the installed moto's version (tests pass a fake one).
    """
    version = installed if installed is not None else metadata.version("moto")
    if not _LOWEST <= _version_tuple(version) < _BELOW:
        raise UnsupportedMotoVersion(
            f"moto {version} is installed, but melange-lab supports moto{SUPPORTED_MOTO} only "
            f"(it patches moto's SQS internals). Fix: pip install 'moto[sns,sqs]{SUPPORTED_MOTO}'."
        )
    for module, global_names in _PATCHED_GLOBALS.items():
        for global_name in global_names:
            if _stock(module, global_name) is not getattr(moto_utils, global_name, None):
                raise UnsupportedMotoVersion(
                    f"moto {version}: {module.__name__} no longer calls "
                    f"moto.core.utils.{global_name}, which melange-lab replaces there. "
                    f"Fix: pip install 'moto[sns,sqs]{SUPPORTED_MOTO}'."
                )
    changed = sorted(
        name
        for name, digests in _FINGERPRINTS.items()
        if _fingerprint(name) not in (digests if isinstance(digests, tuple) else (digests,))
    )
    if changed:
        raise UnsupportedMotoVersion(
            f"moto {version} changed code melange-lab patches or reads: {', '.join(changed)}. "
            f"Supported: moto{SUPPORTED_MOTO}. Fix: pip install 'moto[sns,sqs]{SUPPORTED_MOTO}', "
            "or re-check melange_lab/moto_internals/ against the new moto and update "
            "_FINGERPRINTS."
        )
