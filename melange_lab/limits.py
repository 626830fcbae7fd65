"""The ranges SQS and SNS accept, in one place, with the checks that enforce them.

Sources: the SQS API reference (CreateQueue, SendMessage, ReceiveMessage,
ChangeMessageVisibility) and the SNS API reference (Publish). The lab checks every value
before it creates or sends anything, so a value AWS would refuse never half-applies here and
never "works" in the lab only to fail on AWS (a retention of 0 would silently drop every
message in moto).
"""

from __future__ import annotations

import decimal
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from melange_lab import wire
from melange_lab.arguments import choice, flag, whole_number
from melange_lab.errors import InvalidMessageContents, InvalidParameter, MelangeLabError, quoted
from melange_lab.models import TopicWrapper

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True)
class Limit:
    """An inclusive range of whole numbers, with the unit and a reading of it for learners."""

    minimum: int
    maximum: int
    unit: str
    meaning: str

    def check(self, parameter: str, value: object) -> int:
        """``value`` if it is a whole number in range, else ``InvalidParameter`` with the range."""
        return whole_number(
            parameter, value, self.minimum, self.maximum, unit=f"{self.unit} ({self.meaning})"
        )


RETENTION_PERIOD = Limit(MINUTE, 14 * DAY, "seconds", "1 minute to 14 days; AWS's default 4 days")
VISIBILITY_TIMEOUT = Limit(0, 12 * HOUR, "seconds", "0 to 12 hours; AWS's default 30 s")
DELAY_SECONDS = Limit(0, 15 * MINUTE, "seconds", "0 to 15 minutes")
MAX_RECEIVE_COUNT = Limit(1, 1_000, "receives", "how many receives before the dead-letter queue")
RECEIVE_BATCH = Limit(1, 10, "messages", "SQS hands out at most 10 per receive")
WAIT_TIME_SECONDS = Limit(0, 20, "seconds", "0 is a short poll, up to 20 a long poll")

# SNS's limit, in bytes of UTF-8: body plus attribute names, types and values. A queue's own
# limit is its MaximumMessageSize attribute (SQS's default became 1 MiB in 2025).
MESSAGE_SIZE = 262_144
DEDUPLICATION_INTERVAL = 5 * MINUTE  # a FIFO duplicate within it is accepted and dropped
ID_LENGTH = 128  # MessageDeduplicationId and MessageGroupId
SUBJECT_LENGTH = 99  # SNS: "must be less than 100 characters"
MESSAGE_ATTRIBUTES = 10  # per message, SQS and SNS

_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")


def fifo_id(parameter: str, value: object) -> str:
    """A MessageGroupId or MessageDeduplicationId: 1 to 128 letters, digits or punctuation."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidParameter(
            parameter,
            value,
            f"1 to {ID_LENGTH} characters, each a letter, a digit or ASCII punctuation "
            "(no spaces), as SQS and SNS require",
            "e.g. message_group_id='customer-42'.",
        )
    return value


def subject(parameter: str, value: object) -> str:
    """An SNS Subject: printable ASCII, no line breaks, under 100 characters."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > SUBJECT_LENGTH
        or not value.isascii()
        or not value.isprintable()
        or value[0].isspace()
    ):
        raise InvalidParameter(
            parameter,
            value,
            f"1 to {SUBJECT_LENGTH} printable ASCII characters starting with a letter, a digit "
            "or punctuation, with no line breaks, as SNS requires",
        )
    return value


def check_content_deduplication(kind: str, name: str, enabled: object) -> None:
    """``None`` means "the default for this kind"; True only on a FIFO queue or topic."""
    if enabled is None:
        return
    if flag("content_based_deduplication", enabled) and not name.endswith(".fifo"):
        raise InvalidParameter(
            "content_based_deduplication",
            enabled,
            f"False for a standard {kind} ('{name}'): only FIFO {kind}s deduplicate",
            f"Name the {kind} '{name}.fifo' to make it FIFO, or leave the option out.",
        )


# The characters SQS carries in a body and in a String attribute value (SendMessage and
# MessageAttributeValue in the SQS API reference): #x9 | #xA | #xD | #x20-#xD7FF |
# #xE000-#xFFFD | #x10000-#x10FFFF. SNS carries any UTF-8 text: only a lone surrogate half
# (which no UTF-8 text can hold, so botocore could not even send it) is refused there.
SQS_REFUSED_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
NOT_UTF8 = re.compile("[\ud800-\udfff]")
SQS_CHARACTERS = (
    "SQS carries only tab, line feed, carriage return and the characters U+0020 to U+D7FF, "
    "U+E000 to U+FFFD and U+10000 to U+10FFFF"
)
SNS_CHARACTERS = "SNS carries UTF-8 text only"
_TEXT_RULES = {
    "sqs": (SQS_REFUSED_CHARACTER, SQS_CHARACTERS, "InvalidMessageContents"),
    "sns": (NOT_UTF8, SNS_CHARACTERS, "InvalidParameter"),
}


def check_text(what: str, text: object, service: str) -> None:
    """Refuses ``text`` if it holds a character ``service`` ("sqs" or "sns") cannot carry."""
    if not isinstance(text, str):
        return
    refused, allowed, code = _TEXT_RULES[service]
    found = refused.search(text)
    if found is not None:
        raise InvalidMessageContents(what, text, found.start(), allowed, code)


def check_message_text(request: dict[str, Any], service: str, destination: str) -> None:
    """Refuses a SendMessage or Publish request whose body, attribute names or values,
    subject or FIFO ids hold text ``service`` cannot carry, naming which one."""
    body = request.get("MessageBody", request.get("Message"))
    check_text(f"message body for {quoted(destination)}", body, service)
    for name, value in dict(request.get("MessageAttributes") or {}).items():
        check_text("message attribute name", name, service)
        if isinstance(value, dict):
            check_text(f"message attribute {quoted(name)}", value.get("StringValue"), service)
    for parameter in ("Subject", "MessageGroupId", "MessageDeduplicationId"):
        check_text(parameter, request.get(parameter), service)


ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")


def message_attributes(values: object) -> wire.AttributeMap:
    """``message_attributes`` as SNS takes them, refusing what SNS and SQS would refuse."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InvalidParameter(
            "message_attributes", values, "a dict of name -> value", "e.g. {'priority': 'high'}."
        )
    for name, value in values.items():
        if (
            not isinstance(name, str)
            or not ATTRIBUTE_NAME.fullmatch(name)
            or name.lower().startswith(("aws.", "amazon."))
            or name.startswith(".")
            or name.endswith(".")
            or ".." in name
        ):
            raise InvalidParameter(
                "message_attributes",
                name,
                "attribute names of 1 to 256 letters, digits, '_', '-' or '.', not starting "
                "with 'AWS.' or 'Amazon.', with no '..' and no '.' at either end",
            )
        attribute_value(f"message_attributes[{name!r}]", value)
    return wire.as_attribute_map(values)


# SNS and SQS (message attribute data types): a Number has at most 38 significant digits and
# lies between 10^-128 and 10^+126 in size; a String.Array holds strings, numbers, true,
# false and null, not arrays or objects.
NUMBER_DIGITS = 38
NUMBER_EXPONENTS = (-128, 126)
_NUMBER_RULE = (
    "a finite number of at most 38 significant digits, between 10^-128 and 10^126 in size "
    "(or 0), as SNS and SQS take them"
)
_ATTRIBUTE_VALUE = (
    "a non-empty string, a number, True or False, a non-empty list of strings, numbers, "
    "True, False or None, or boto3's form {'DataType': 'String', 'StringValue': '...'}"
)
_BOTO3_KEYS = ("DataType", "StringValue", "BinaryValue")


def attribute_value(parameter: str, value: object) -> None:
    """Refuses an attribute value SNS or SQS could not carry, or that only ``str()`` could
    turn into text (a set, bytes, an object): it would arrive as its Python spelling."""
    if isinstance(value, dict):
        _boto3_attribute(parameter, value)
    elif isinstance(value, (list, tuple)):
        if not value or not all(_array_item(parameter, item) for item in value):
            raise InvalidParameter(parameter, value, _ATTRIBUTE_VALUE)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        attribute_number(parameter, value)
    elif not isinstance(value, (str, bool)) or value == "":
        raise InvalidParameter(parameter, value, _ATTRIBUTE_VALUE)


def attribute_number(parameter: str, value: int | float) -> None:
    """Refuses a number SNS and SQS would not take as a Number attribute."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidParameter(parameter, value, _NUMBER_RULE)
    if isinstance(value, int) and value.bit_length() > 430:  # over 10^129: far out of range
        raise InvalidParameter(parameter, value, _NUMBER_RULE)
    if not number_text_fits(str(value)):  # as it is sent
        raise InvalidParameter(parameter, value, _NUMBER_RULE)


def number_text_fits(text: str) -> bool:
    """Whether ``text`` is a Number attribute's value SNS and SQS take: a finite decimal
    number of at most 38 significant digits, 0 or between 10^-128 and 10^126 in size."""
    if not _NUMBER_TEXT.fullmatch(text):
        return False
    exact = decimal.Decimal(text)  # exact: normalize() would round to 28 digits
    digits = "".join(map(str, exact.as_tuple().digits)).strip("0")
    lowest, highest = NUMBER_EXPONENTS
    return not digits or (len(digits) <= NUMBER_DIGITS and lowest <= exact.adjusted() <= highest)


_NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,6})?")


def _array_item(parameter: str, item: object) -> bool:
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        attribute_number(parameter, item)
        return True
    return item is None or isinstance(item, (str, bool))


def _boto3_attribute(parameter: str, value: dict[Any, Any]) -> None:
    kind = value.get("DataType")
    text, binary = value.get("StringValue"), value.get("BinaryValue")
    if (
        not set(value) <= set(_BOTO3_KEYS)
        or not isinstance(kind, str)
        or not kind.startswith(("String", "Number", "Binary"))
        or (text is not None and not isinstance(text, str))
        or (binary is not None and not isinstance(binary, (bytes, bytearray)))
    ):
        raise InvalidParameter(
            parameter,
            value,
            "boto3's form: a 'DataType' starting with 'String', 'Number' or 'Binary', and a "
            "'StringValue' string or a 'BinaryValue' of bytes",
            "e.g. {'DataType': 'String', 'StringValue': 'high'}, or just 'high'.",
        )


def check_topic_publish(topic: TopicWrapper, request: dict[str, Any]) -> None:
    """Refuses what SNS Publish would refuse, before anything is sent."""
    check_message_text(request, "sns", topic.name)
    if len(request.get("MessageAttributes", {})) > MESSAGE_ATTRIBUTES:
        raise InvalidParameter(
            "message_attributes",
            sorted(request["MessageAttributes"]),
            f"at most {MESSAGE_ATTRIBUTES} attributes per message, including the lab's "
            "manifest and serializer_id",
        )
    if "Subject" in request:
        subject("subject", request["Subject"])
    if "MessageStructure" in request:
        choice("message_structure", request["MessageStructure"], ("json",))
        try:
            parsed = json.loads(str(request["Message"]))
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            parsed = None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("default"), str):
            raise InvalidParameter(
                "message_structure",
                "json",
                "only with a message that is a JSON object with a string 'default' key",
                'e.g. publish a dict {"default": "...", "sqs": "..."} with a JSON serializer.',
            )
    for option, parameter in (
        ("message_group_id", "MessageGroupId"),
        ("message_deduplication_id", "MessageDeduplicationId"),
    ):
        if parameter not in request:
            continue
        if not topic.is_fifo and option == "message_deduplication_id":
            raise MelangeLabError(
                f"Topic '{topic.name}' is a standard topic: {option} only applies to FIFO "
                "topics (names ending in '.fifo'). A message_group_id it passes on to "
                "standard queues (fair queues)."
            )
        fifo_id(option, request[parameter])
