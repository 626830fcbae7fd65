"""moto on the broker's clock instead of the kernel's."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import moto.core.utils as moto_utils
import moto.sns.models as sns_models
import moto.sqs.models as sqs_models

from melange_lab.moto_internals.patching import _set_feature

# --- the broker's clock ---------------------------------------------------------------------


def install_clock(now: Callable[[], float]) -> None:
    """Make moto's SQS and SNS read ``now()`` (epoch seconds) as the current time.

    Covers everything moto.sqs.models times (visibility, delays, retention, FIFO dedup window,
    SentTimestamp, the long-poll deadline) and the Timestamp of SNS notifications. The kernel's
    time.time is untouched. A long poll ends when ``now()`` passes its deadline; moto still
    waits up to one real second between checks, so a clock that never moves never ends it.
    """

    def unix_time(dt: datetime.datetime | None = None) -> float:
        return now() if dt is None else moto_utils.unix_time(dt)

    def unix_time_millis(dt: datetime.datetime | None = None) -> float:
        return unix_time(dt) * 1000.0

    def iso_8601(value: datetime.datetime | None = None) -> str:
        moment = value or datetime.datetime.fromtimestamp(now(), datetime.timezone.utc)
        return moto_utils.iso_8601_datetime_with_milliseconds(moment.replace(tzinfo=None))

    _set_feature(
        "clock",
        [
            (sqs_models, "unix_time", lambda _: unix_time),
            (sqs_models, "unix_time_millis", lambda _: unix_time_millis),
            (sns_models, "unix_time", lambda _: unix_time),
            (sns_models, "iso_8601_datetime_with_milliseconds", lambda _: iso_8601),
        ],
    )


def uninstall_clock() -> None:
    """Give moto back the kernel's clock."""
    _set_feature("clock", None)
