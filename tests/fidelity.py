"""The fidelity table: each behaviour the lab teaches, AWS's rule, and what each broker did.

A fidelity test is marked ``@pytest.mark.fidelity("behaviour-id", wrong_on={broker: why})``
and runs once per broker (``lab``, ``moto_server``, ``localstack``). A broker listed in
``wrong_on`` is known to break AWS's rule there: its run is a strict xfail (so it fails the
run the day that broker is fixed) and the table says why. The hooks below record every
outcome; ``--fidelity-table PATH`` writes the Markdown table (docs/fidelity.md is generated
so by ``make fidelity``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

BROKERS = ("lab", "moto_server", "localstack")
_ALIASES = {"simulated": "lab", "http": "moto_server"}  # tests/test_real_broker.py's names
BROKER_TITLES = {"lab": "the lab", "moto_server": "moto's server", "localstack": "LocalStack"}
SQS_DOCS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide"
SNS_DOCS = "https://docs.aws.amazon.com/sns/latest/dg"


@dataclass(frozen=True)
class Behaviour:
    title: str
    rule: str
    link: str


BEHAVIOURS: dict[str, Behaviour] = {
    "queue-round-trip": Behaviour(
        "A queue message comes back unchanged and is gone once deleted",
        "Body and message attributes are returned as sent; DeleteMessage removes it.",
        f"{SQS_DOCS}/sqs-message-attributes.html",
    ),
    "visibility-timeout": Behaviour(
        "A received message stays invisible, then reappears after its visibility timeout",
        "Not deleted within the visibility timeout, a message becomes visible again.",
        f"{SQS_DOCS}/sqs-visibility-timeout.html",
    ),
    "dead-letter-after-max-receives": Behaviour(
        "A message received maxReceiveCount times moves to the dead-letter queue",
        "When ReceiveCount exceeds maxReceiveCount, SQS moves the message to the DLQ.",
        f"{SQS_DOCS}/sqs-dead-letter-queues.html",
    ),
    "dead-letter-source-arn": Behaviour(
        "A dead-lettered message carries DeadLetterQueueSourceArn",
        "ReceiveMessage returns the source queue's ARN as system attribute "
        "DeadLetterQueueSourceArn.",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"
        "API_ReceiveMessage.html",
    ),
    "fan-out-envelope": Behaviour(
        "A topic publish reaches every subscribed queue inside an SNS envelope",
        "Each SQS subscriber gets a JSON Notification with Message, TopicArn, MessageId and "
        "MessageAttributes ({Type, Value}).",
        f"{SNS_DOCS}/sns-message-and-json-formats.html",
    ),
    "asynchronous-delivery": Behaviour(
        "SNS delivers to SQS after Publish returns; tests poll, bounded",
        "Delivery is asynchronous: a queue may still be empty right after Publish.",
        f"{SNS_DOCS}/sns-message-delivery-retries.html",
    ),
    "raw-delivery-binary": Behaviour(
        "Raw delivery hands over the bare message and its attributes, Binary included",
        "With RawMessageDelivery the body is the message itself and attributes become SQS "
        "message attributes.",
        f"{SNS_DOCS}/sns-large-payload-raw-message-delivery.html",
    ),
    "signature-version": Behaviour(
        "Envelopes are signed with SignatureVersion 1 (SHA1) unless the topic asks for 2",
        'SignatureVersion "1" is SHA1withRSA, "2" SHA256withRSA when the topic sets it; the '
        "signature verifies against the certificate at SigningCertURL.",
        f"{SNS_DOCS}/sns-verify-signature-of-message.html",
    ),
    "filter-attributes": Behaviour(
        "An attribute filter policy lets through only matching messages",
        "Exact, prefix, suffix, equals-ignore-case, numeric, exists and anything-but "
        "matching on String, String.Array and Number attributes.",
        f"{SNS_DOCS}/sns-subscription-filter-policies.html",
    ),
    "filter-exists": Behaviour(
        "exists: false needs some attribute; exists: true needs a non-null value",
        '"exists": false only matches if at least one attribute is present; "exists": true '
        "needs the key with a non-null, non-empty value.",
        f"{SNS_DOCS}/attribute-key-matching.html",
    ),
    "filter-body-or": Behaviour(
        "$or works in a MessageBody filter policy",
        "$or combines alternative conditions, in attribute and in body policies.",
        f"{SNS_DOCS}/and-or-logic.html",
    ),
    "filter-cidr": Behaviour(
        "cidr matches IP addresses in a range",
        '{"cidr": "10.0.0.0/24"} matches addresses inside the block.',
        f"{SNS_DOCS}/ip-address-matching.html",
    ),
    "filter-anything-but-array": Behaviour(
        "anything-but matches a body array that holds another value",
        "A message body array matches anything-but when one of its values is not listed.",
        f"{SNS_DOCS}/string-value-matching.html",
    ),
    "filter-refused": Behaviour(
        "Filter policies SNS refuses are refused with InvalidParameter",
        "Non-JSON, empty arrays, more than 5 keys, over 150 combinations, nested attribute "
        "policies, wrong operand types and unknown operators are refused.",
        f"{SNS_DOCS}/subscription-filter-policy-constraints.html",
    ),
    "fifo-order": Behaviour(
        "A FIFO queue returns each message group in order",
        "Messages of one group are received in the order sent.",
        f"{SQS_DOCS}/FIFO-queues-message-order.html",
    ),
    "fifo-dedup-window": Behaviour(
        "A FIFO deduplication id is remembered for 5 minutes, even after the delete",
        "A message with a deduplication id seen in the last 5 minutes is accepted but not "
        "delivered; SendMessage answers with the first message's id.",
        f"{SQS_DOCS}/FIFO-queues-exactly-once-processing.html",
    ),
    "fifo-topic-dedup-window": Behaviour(
        "A FIFO topic drops a repeated deduplication id for 5 minutes",
        "SNS FIFO topics deduplicate within a 5-minute interval, delivered copy deleted or not.",
        f"{SNS_DOCS}/fifo-message-dedup.html",
    ),
    "queue-attribute-ranges": Behaviour(
        "Queue attributes outside SQS's ranges are refused",
        "DelaySeconds 0-900, MaximumMessageSize 1,024-1,048,576, MessageRetentionPeriod "
        "60-1,209,600, ReceiveMessageWaitTimeSeconds 0-20, VisibilityTimeout 0-43,200 "
        "(InvalidAttributeValue).",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"
        "API_SetQueueAttributes.html",
    ),
    "message-contents": Behaviour(
        "Empty bodies, characters SQS does not carry, empty or over 10 attributes are refused",
        "MessageBody is required and limited to #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, "
        "#x10000-#x10FFFF; up to 10 message attributes, each with a value.",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"
        "API_SendMessage.html",
    ),
    "message-size-bytes": Behaviour(
        "Message size is counted in UTF-8 bytes, attributes included",
        "The limit applies to body bytes plus each attribute's name, type and value bytes.",
        f"{SQS_DOCS}/quotas-messages.html",
    ),
    "sns-publish-checks": Behaviour(
        "Publish refuses an empty message and a FIFO publish without group or deduplication id",
        "Message must not be empty; FIFO topics need MessageGroupId, and MessageDeduplicationId "
        "unless ContentBasedDeduplication (InvalidParameter); a missing topic is NotFound.",
        "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html",
    ),
    "sns-attribute-values": Behaviour(
        "An empty attribute value, or a Number that is not a number, is ParameterValueInvalid",
        "Publish checks each message attribute: a value is required, and a Number must be one.",
        f"{SNS_DOCS}/sns-message-attributes.html",
    ),
    "sns-message-size-bytes": Behaviour(
        "An SNS message over 256 KiB in UTF-8 bytes is refused",
        "Publish refuses a message (with attributes) over 262,144 bytes.",
        f"{SNS_DOCS}/sns-large-payload-raw-message-delivery.html",
    ),
    "fifo-whole-group": Behaviour(
        "A FIFO receive hands out one group's messages together, and the whole group again "
        "after a timeout",
        "SQS returns as many messages of one group as it can, in order, before the next group; "
        "a group is locked while its oldest message is in flight (AWS's recorded answers).",
        f"{SQS_DOCS}/FIFO-queues-understanding-logic.html",
    ),
    "fifo-deduplication-scope": Behaviour(
        "DeduplicationScope=messageGroup deduplicates per group; PurgeQueue forgets the ids",
        "With messageGroup scope a deduplication id is unique within its group; a purged "
        "queue accepts an id it saw before the purge (AWS's recorded answers).",
        f"{SQS_DOCS}/high-throughput-fifo.html",
    ),
    "fifo-topic-to-standard-queue": Behaviour(
        "A FIFO topic delivers to a standard queue; its envelope has SequenceNumber, no Signature",
        "FIFO topics deliver to FIFO and standard queues; the notification carries the "
        "SequenceNumber Publish answered and is not signed (AWS's recorded answers).",
        f"{SNS_DOCS}/fifo-message-delivery.html",
    ),
    "batch-entry-failures": Behaviour(
        "A batch fails a bad entry alone, in Failed; more than 10 entries fail the request",
        "SendMessageBatch answers each entry in Successful or Failed; the request itself fails "
        "only for the batch as a whole (entries, ids, total size).",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"
        "API_SendMessageBatch.html",
    ),
    "filter-dotted-keys": Behaviour(
        'A body policy key "a.b" reaches {"a": {"b": ...}} and a literal "a.b" key',
        "SNS compares dotted paths in payload-based filtering (AWS's recorded answers).",
        f"{SNS_DOCS}/sns-message-filtering.html",
    ),
    "filter-complexity-and-removal": Behaviour(
        "Nesting counts in a policy's complexity (216 is refused); FilterPolicy {} removes it",
        "Each array counts its values times its key's depth, arrays multiply, over 150 is "
        "refused; a refused Subscribe creates nothing; an empty policy matches everything.",
        f"{SNS_DOCS}/subscription-filter-policy-constraints.html",
    ),
    "sixty-second-rules": Behaviour(
        "A deleted queue's name, and a second PurgeQueue, wait 60 seconds",
        "CreateQueue answers QueueDeletedRecently for 60 s after DeleteQueue; one PurgeQueue "
        "per queue every 60 s (PurgeQueueInProgress). The lab counts on its own clock.",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_PurgeQueue.html",
    ),
    "subscribe-attributes": Behaviour(
        "Subscribe checks its attributes and refuses a repeat with different ones",
        "RawMessageDelivery is true or false, the protocol one SNS knows; subscribing again "
        "with different attributes is InvalidParameter (AWS's recorded answers).",
        "https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html",
    ),
    "tags": Behaviour(
        "Tags: duplicate keys and a repeated CreateTopic with other tags are refused",
        "TagResource refuses two tags with one key; CreateTopic of an existing topic with a tag "
        "it does not have is InvalidParameter, with some or none of its tags the same topic; a "
        "queue without tags lists none (AWS's recorded answers).",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-tags.html",
    ),
    "trace-header": Behaviour(
        "An X-Ray trace header travels as the AWSTraceHeader system attribute",
        "SendMessage keeps the X-Amzn-Trace-Id header as AWSTraceHeader and answers "
        "MD5OfMessageSystemAttributes for those given; SNS passes a Publish's header on to "
        "SQS (AWS's recorded answers).",
        f"{SQS_DOCS}/sqs-message-metadata.html",
    ),
    "lab-scenarios": Behaviour(
        "The lab's shared scenarios (publish, consume, retry, DLQ, redrive, FIFO, fan-out)",
        "tests/scenarios.py, through the lab's own backend, on every broker.",
        f"{SQS_DOCS}/welcome.html",
    ),
}


@dataclass
class Outcome:
    state: str  # "matches AWS" | "differs" | "FAILED" | "skipped"
    note: str = ""


_results: dict[str, dict[str, list[Outcome]]] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fidelity-table",
        default=None,
        help="write the fidelity table (Markdown) of this run to this path",
    )


def _broker_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for value in callspec.params.values():
        if isinstance(value, str) and _ALIASES.get(value, value) in BROKERS:
            return _ALIASES.get(value, value)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("fidelity")
        if marker is None:
            continue
        behaviour = marker.args[0]
        if behaviour not in BEHAVIOURS:
            raise pytest.UsageError(f"{item.nodeid}: unknown fidelity behaviour {behaviour!r}")
        wrong_on: dict[str, str] = marker.kwargs.get("wrong_on", {})
        broker = _broker_of(item)
        if broker in wrong_on:
            item.add_marker(pytest.mark.xfail(reason=wrong_on[broker], strict=True))


def record(item: pytest.Item, report: pytest.TestReport) -> None:
    marker = item.get_closest_marker("fidelity")
    broker = _broker_of(item)
    if marker is None or broker is None:
        return
    if report.when == "setup" and report.passed:
        return
    if report.when == "teardown" and not report.failed:
        return
    if hasattr(report, "wasxfail"):
        outcome = Outcome("differs", str(report.wasxfail).removeprefix("reason: "))
    elif report.skipped:
        outcome = Outcome("skipped")
    elif report.failed:
        outcome = Outcome("FAILED", item.nodeid)
    else:
        outcome = Outcome("matches AWS")
    _results.setdefault(marker.args[0], {}).setdefault(broker, []).append(outcome)


def _cell(outcomes: list[Outcome] | None) -> str:
    if not outcomes:
        return "not run"
    for state in ("FAILED", "differs", "skipped"):
        bad = [o for o in outcomes if o.state == state]
        if bad:
            notes = "; ".join(dict.fromkeys(o.note for o in bad if o.note and state != "FAILED"))
            mark = {"FAILED": "**fails**", "differs": "differs", "skipped": "skipped"}[state]
            return f"{mark}: {notes}" if notes else mark
    return f"matches AWS ({len(outcomes)})"


def table() -> str:
    """The Markdown table of what this run recorded."""
    lines = [
        "# Fidelity: what the lab teaches, checked against AWS's rules",
        "",
        "Generated by the test run (`tests/fidelity.py`), not written by hand: each row is a",
        "behaviour the tutorials and exercises teach, each column what a fidelity test saw on",
        "that broker (the count is how many test cases passed). *differs* is a strict xfail",
        "whose reason says what that broker does instead. moto's server is stock moto (no lab",
        "fixes), so its column shows what the lab corrects. LocalStack's timers (visibility,",
        "delay) fire up to a second late, so its tests wait a second longer",
        "(`LOCALSTACK_TIMER_SLACK`); its topic deliveries are asynchronous, as on AWS, so every",
        'test waits for them with a bounded poll. Rows from "A FIFO receive hands out" on',
        "are AWS's recorded answers (tests/test_fidelity_recorded.py). `make fidelity`",
        "regenerates this table (`pytest $(FIDELITY_TESTS) --fidelity-table docs/fidelity.md`,",
        "see the Makefile) and the suites section below.",
        "",
        "| Behaviour | AWS's rule | " + " | ".join(BROKER_TITLES[b] for b in BROKERS) + " |",
        "|---|---|" + "---|" * len(BROKERS),
    ]
    for key, behaviour in BEHAVIOURS.items():
        seen = _results.get(key, {})
        cells = " | ".join(_cell(seen.get(broker)) for broker in BROKERS)
        rule = f"{behaviour.rule} ([AWS]({behaviour.link}))"
        lines.append(f"| {behaviour.title} | {rule} | {cells} |")
    return "\n".join(lines) + "\n"


SUITES_HEADING = "## Other projects' test suites"  # from here on, tests/suites/report.py writes


def write_table(config: pytest.Config) -> None:
    """Writes the table over the top of ``path``, keeping the suites section and the
    hand-written notes below it."""
    path = config.getoption("--fidelity-table")
    if path and _results:
        current = Path(path).read_text(encoding="utf-8") if Path(path).exists() else ""
        _, heading, rest = current.partition(SUITES_HEADING)
        Path(path).write_text(table() + ("\n" + heading + rest if heading else ""))
