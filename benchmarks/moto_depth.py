"""How plain boto3 against in-process moto slows as a queue fills, fast-counts fix off and on.

Run: .venv/bin/python benchmarks/moto_depth.py [--depth 20000] [--stock-budget 60]

Prints send and drain (receive 10 + delete each) rates per 1,000 messages up to --depth, and
the cost of the last 1,000 over the first 1,000. Stock moto slows so much that each of its
phases stops after --stock-budget seconds (the last, partial block is marked). Also prints SNS
publish to a topic with two SQS subscribers, which does not depend on depth.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from melange_lab import moto_internals

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
BLOCK = 1000


@contextmanager
def moto(fast: bool) -> Iterator[Any]:
    """A fresh in-process moto, with the fix on or off; the fix is always removed afterwards."""
    config: Any = {"core": {"mock_credentials": False, "reset_boto3_session": False}}
    with mock_aws(config=config):
        if fast:
            moto_internals.install_fast_counts()
        try:
            yield boto3.client("sqs", region_name=REGION, **CREDENTIALS)
        finally:
            moto_internals.uninstall_fast_counts()


def timed_blocks(step: Callable[[], int], total: int, budget: float) -> list[tuple[int, float]]:
    """Run ``step`` (which handles some messages and says how many) in blocks of BLOCK messages.

    Returns (messages, seconds) per block; stops early, with a partial block, after ``budget``.
    """
    blocks: list[tuple[int, float]] = []
    done, started = 0, time.perf_counter()
    block_start, in_block = started, 0
    while done < total:
        handled = step()
        if handled == 0:
            break
        done += handled
        in_block += handled
        now = time.perf_counter()
        if in_block >= BLOCK or done >= total or now - started > budget:
            blocks.append((in_block, now - block_start))
            block_start, in_block = now, 0
            if now - started > budget:
                break
    return blocks


def report(label: str, blocks: list[tuple[int, float]], total: int) -> None:
    cells = []
    done = 0
    for count, seconds in blocks:
        done += count
        partial = "" if count >= BLOCK else f" (partial, {count} msgs)"
        cells.append(f"{done:>6}: {count / seconds:7.0f}/s{partial}")
    print(f"{label}:")
    for cell in cells:
        print(f"    {cell}")
    full = [seconds / count for count, seconds in blocks if count >= BLOCK]
    if done >= total and len(full) >= 2:
        print(f"    last/first 1,000 cost ratio: {full[-1] / full[0]:.2f}")
    elif done < total:
        print(f"    stopped at {done} of {total} messages (time budget)")


def bench_send(fast: bool, depth: int, budget: float) -> None:
    with moto(fast) as sqs:
        url = sqs.create_queue(QueueName="depth")["QueueUrl"]

        def send() -> int:
            sqs.send_message(QueueUrl=url, MessageBody="hello")
            return 1

        report(f"send, fix {'on' if fast else 'off'}", timed_blocks(send, depth, budget), depth)


def bench_drain(fast: bool, depth: int, budget: float) -> None:
    with moto(fast) as sqs:
        url = sqs.create_queue(QueueName="depth")["QueueUrl"]
        moto_internals.install_fast_counts()  # filling is not what is measured
        for start in range(0, depth, 10):
            entries = [{"Id": str(i), "MessageBody": "hello"} for i in range(start, start + 10)]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if not fast:
            moto_internals.uninstall_fast_counts()

        def drain() -> int:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return len(messages)

        label = f"drain from {depth} (receive 10 + delete each), fix {'on' if fast else 'off'}"
        report(label, timed_blocks(drain, depth, budget), depth)


def bench_sns(fast: bool, count: int) -> None:
    with moto(fast) as sqs:
        sns = boto3.client("sns", region_name=REGION, **CREDENTIALS)
        topic = sns.create_topic(Name="fanout")["TopicArn"]
        for name in ("first", "second"):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            endpoint = arn["Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint)
        started = time.perf_counter()
        for _ in range(count):
            sns.publish(TopicArn=topic, Message="hello")
        rate = count / (time.perf_counter() - started)
        print(f"SNS publish to 2 SQS subscribers, {count} msgs, fix {'on' if fast else 'off'}:")
        print(f"    {rate:7.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=20_000)
    parser.add_argument("--stock-budget", type=float, default=60.0, help="seconds per stock phase")
    parser.add_argument("--sns", type=int, default=200, help="SNS publishes to time")
    args = parser.parse_args()
    moto_internals.check_supported()
    unlimited = float("inf")
    for fast in (False, True):
        budget = unlimited if fast else args.stock_budget
        bench_send(fast, args.depth, budget)
        bench_drain(fast, args.depth, budget)
        bench_sns(fast, args.sns)


if __name__ == "__main__":
    main()
