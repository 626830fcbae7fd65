"""DER, the binary form of ASN.1 that keys, signatures' digest info and certificates use
(ITU-T X.690): writing the few types they need, and reading them back."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
IA5_STRING = 0x16
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31
#: the tags of the text types a name's value may have, and how each is decoded
STRING_TAGS = {UTF8_STRING: "utf-8", PRINTABLE_STRING: "ascii", IA5_STRING: "ascii"}


def explicit(number: int) -> int:
    """The tag of a context-specific, constructed field ``[number] EXPLICIT``."""
    return 0xA0 | number


# -- writing ---------------------------------------------------------------------------------


def tlv(tag: int, content: bytes) -> bytes:
    """One element: its tag, its length (short or long form) and its content."""
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def integer(value: int) -> bytes:
    """A two's complement INTEGER in the fewest bytes (a leading 0 keeps a positive one so)."""
    size = value.bit_length() // 8 + 1
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def sequence(*elements: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(elements))


def set_of(*elements: bytes) -> bytes:
    """A SET OF, its elements in DER's order (sorted by their encodings)."""
    return tlv(SET, b"".join(sorted(elements)))


def null() -> bytes:
    return tlv(NULL, b"")


def octet_string(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def bit_string(value: bytes) -> bytes:
    """A BIT STRING of whole bytes (no unused bits)."""
    return tlv(BIT_STRING, b"\x00" + value)


def object_identifier(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2:
        raise ValueError(f"{dotted!r} is not an object identifier")
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(body))


def time(moment: datetime.datetime) -> bytes:
    """A certificate time: UTCTime for 1950 to 2049, GeneralizedTime otherwise (RFC 5280
    4.1.2.5). A naive datetime is taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if 1950 <= moment.year < 2050:
        return tlv(UTC_TIME, moment.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(GENERALIZED_TIME, moment.strftime("%Y%m%d%H%M%SZ").encode())


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    """One element read from DER: its tag, its content, and its whole encoding."""

    tag: int
    content: bytes
    encoded: bytes

    def children(self) -> list[Element]:
        """The elements inside a constructed one (SEQUENCE, SET, an explicit tag)."""
        if not self.tag & 0x20:
            raise ValueError(f"element with tag {self.tag:#04x} holds no elements")
        found, offset = [], 0
        while offset < len(self.content):
            element, offset = read(self.content, offset)
            found.append(element)
        return found

    def expect(self, tag: int) -> Element:
        if self.tag != tag:
            raise ValueError(f"expected tag {tag:#04x}, found {self.tag:#04x}")
        return self

    def as_integer(self) -> int:
        self.expect(INTEGER)
        if not self.content:
            raise ValueError("empty INTEGER")
        return int.from_bytes(self.content, "big", signed=True)

    def as_bit_string(self) -> bytes:
        self.expect(BIT_STRING)
        if not self.content or self.content[0] != 0:
            raise ValueError("BIT STRING with unused bits")
        return self.content[1:]

    def as_object_identifier(self) -> str:
        self.expect(OBJECT_IDENTIFIER)
        arcs, value = [], 0
        for byte in self.content:
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(value)
                value = 0
        if not arcs:
            raise ValueError("empty OBJECT IDENTIFIER")
        first = min(arcs[0] // 40, 2)
        return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])

    def as_string(self) -> str:
        if self.tag not in STRING_TAGS:
            raise ValueError(f"expected a string, found tag {self.tag:#04x}")
        return self.content.decode(STRING_TAGS[self.tag])

    def as_time(self) -> datetime.datetime:
        text = self.content.decode("ascii")
        if self.tag == UTC_TIME:
            moment = datetime.datetime.strptime(text, "%y%m%d%H%M%SZ")
        elif self.tag == GENERALIZED_TIME:
            moment = datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ")
        else:
            raise ValueError(f"expected a time, found tag {self.tag:#04x}")
        return moment.replace(tzinfo=datetime.timezone.utc)


def read(data: bytes, offset: int = 0) -> tuple[Element, int]:
    """The element that starts at ``offset``, and the offset after it."""
    if offset + 2 > len(data):
        raise ValueError("DER ends inside an element's header")
    tag, first = data[offset], data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        size = first & 0x7F
        if not 0 < size <= 4 or start + size > len(data):
            raise ValueError("DER element with an unreadable length")
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    end = start + length
    if end > len(data):
        raise ValueError("DER element longer than its data")
    return Element(tag, data[start:end], data[offset:end]), end


def read_one(data: bytes) -> Element:
    """The single element ``data`` holds (nothing may follow it)."""
    element, end = read(data)
    if end != len(data):
        raise ValueError("data after the DER element")
    return element
