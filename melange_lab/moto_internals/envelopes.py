"""The SNS envelope an SQS subscriber gets, as AWS builds it where moto does not.

moto 5.2 puts a made-up subscription (a fixed id, always us-east-1) in every envelope's
UnsubscribeURL, and builds a FIFO topic's envelope like a standard topic's. AWS's
recordings (LocalStack's ``test_sns.snapshot.json``, 2025) show the subscription's own ARN in
UnsubscribeURL, and a FIFO topic's notification carrying its SequenceNumber and no
Signature, SignatureVersion or SigningCertURL. This layer sits on whatever builds the
envelope (moto's, or ``signing``'s faster one) and corrects those fields.

With MessageStructure=json, moto hands an SQS subscriber the "sqs" entry whatever it holds;
SNS uses a protocol's entry only when it is a string, else the "default" (recorded).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.sns.models import Subscription

from melange_lab.moto_internals.fifo_topics import sequence_number_of
from melange_lab.moto_internals.patching import _set_feature

_UNSIGNED = ("Signature", "SignatureVersion", "SigningCertURL")


def _as_sns_builds_it(stock: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def get_post_data(
        self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        envelope = stock(self, message, message_id, *args, **kwargs)
        region = self.topic.sns_backend.region_name
        envelope["UnsubscribeURL"] = (
            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={self.arn}"
        )
        if self.topic.fifo_topic:
            for name in _UNSIGNED:
                envelope.pop(name, None)
            sequence_number = sequence_number_of(message_id)
            if sequence_number is not None:
                envelope["SequenceNumber"] = sequence_number
        return envelope

    return get_post_data


def _string_entries_only(stock: Callable[..., str]) -> Callable[..., str]:
    def _parse_message_structure(self: Subscription, message: str, protocol: str) -> str:
        try:
            structured = json.loads(message)
        except (TypeError, ValueError, RecursionError):
            return stock(self, message, protocol)
        if isinstance(structured, dict) and not isinstance(structured.get(self.protocol), str):
            structured.pop(self.protocol, None)
            return stock(self, json.dumps(structured), protocol)
        return stock(self, message, protocol)

    return _parse_message_structure


def install_envelopes() -> None:
    """SNS envelopes name their subscription, and FIFO ones carry SequenceNumber, unsigned."""
    _set_feature(
        "envelopes",
        [
            (Subscription, "get_post_data", _as_sns_builds_it),
            (Subscription, "_parse_message_structure", _string_entries_only),
        ],
    )


def uninstall_envelopes() -> None:
    _set_feature("envelopes", None)
