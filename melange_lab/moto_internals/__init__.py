"""The one package that touches moto's internals; everything else talks to moto through boto3.

Why it exists: a teaching broker must show what boto3 cannot (a queue's messages without
receiving them, the moment moto moves a message to a dead-letter queue inside ReceiveMessage),
must run moto on the broker's clock instead of the kernel's, must not slow to a crawl as a
queue fills or a topic fans out, and must follow AWS where moto does not.

One module per fix: ``clock``, ``fast_counts`` (depth-independent counts), ``fifo``,
``signing``, ``filter_policies``, ``dead_letters``, ``look_inside``; ``patching`` installs and
undoes them in layers, ``versions`` checks the moto underneath. Checked against moto 5.2.1 and
5.2.5: every moto function patched or read here has the same source in both, and
``check_supported`` fingerprints that source, so a newer moto fails loudly instead of
misbehaving quietly. Every install is undone by its ``uninstall_*``.
"""

from __future__ import annotations

from melange_lab.errors import QueueNotFound
from melange_lab.moto_internals.clock import install_clock, uninstall_clock
from melange_lab.moto_internals.dead_letters import DeadLetterMove, add_dead_letter_listener
from melange_lab.moto_internals.fast_counts import install_fast_counts, uninstall_fast_counts
from melange_lab.moto_internals.fifo import install_fifo_group_fix, uninstall_fifo_group_fix
from melange_lab.moto_internals.filter_policies import matches, validation_problem
from melange_lab.moto_internals.look_inside import (
    StoredMessage,
    dead_letter_target,
    peek_messages,
    queue_counts,
)
from melange_lab.moto_internals.patching import _FEATURE_ORDER, _features, _originals
from melange_lab.moto_internals.signing import install_fast_signing, uninstall_fast_signing
from melange_lab.moto_internals.versions import (
    _FINGERPRINTS,
    _PATCHED_GLOBALS,
    SUPPORTED_MOTO,
    UnsupportedMotoVersion,
    check_supported,
)

__all__ = [
    "SUPPORTED_MOTO",
    "_FEATURE_ORDER",
    "_FINGERPRINTS",
    "_PATCHED_GLOBALS",
    "DeadLetterMove",
    "QueueNotFound",
    "StoredMessage",
    "UnsupportedMotoVersion",
    "_features",
    "_originals",
    "add_dead_letter_listener",
    "check_supported",
    "dead_letter_target",
    "install_clock",
    "install_fast_counts",
    "install_fast_signing",
    "install_fifo_group_fix",
    "matches",
    "peek_messages",
    "queue_counts",
    "uninstall_clock",
    "uninstall_fast_counts",
    "uninstall_fast_signing",
    "uninstall_fifo_group_fix",
    "validation_problem",
]
