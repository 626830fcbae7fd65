"""moto on the broker's clock instead of the kernel's."""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Callable
from typing import Any

import moto.core.utils as moto_utils
import moto.sns.models as sns_models
import moto.sqs.models as sqs_models
from moto.sqs.models import SQSBackend

from melange_lab.moto_internals.patching import _set_feature

# --- the broker's clock ---------------------------------------------------------------------


_POLL_PAUSE = 0.05  # real seconds a long poll on a still clock waits between looks


def install_clock(
    now: Callable[[], float], stands_still: Callable[[], bool] = lambda: False
) -> None:
    """Make moto's SQS and SNS read ``now()`` (epoch seconds) as the current time.

    Covers everything moto.sqs.models times (visibility, delays, retention, FIFO dedup window,
    SentTimestamp, the long-poll deadline) and the Timestamp of SNS notifications. The kernel's
    time.time is untouched. A long poll ends when ``now()`` passes its deadline, so while
    ``stands_still()`` (a manual clock) a long poll waits its seconds in real time instead:
    whoever asks (plain boto3, another process through ``broker.serve()``) gets an answer.
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
            (
                SQSBackend,
                "receive_message",
                lambda stock: _real_time_long_poll(stock, stands_still),
            ),
        ],
    )


def _real_time_long_poll(
    stock: Callable[..., list[Any]], stands_still: Callable[[], bool]
) -> Callable[..., list[Any]]:
    @functools.wraps(stock)
    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        if not wait_seconds_timeout or not stands_still():
            return stock(
                self,
                queue_name,
                count,
                wait_seconds_timeout,
                visibility_timeout,
                message_attribute_names,
            )
        deadline = time.monotonic() + float(wait_seconds_timeout)
        while True:
            received = stock(
                self, queue_name, count, 0, visibility_timeout, message_attribute_names
            )
            left = deadline - time.monotonic()
            if received or left <= 0:
                return received
            time.sleep(min(_POLL_PAUSE, left))

    return receive_message


def uninstall_clock() -> None:
    """Give moto back the kernel's clock."""
    _set_feature("clock", None)
