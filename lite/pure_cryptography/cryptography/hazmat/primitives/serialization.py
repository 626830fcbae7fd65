"""How keys and certificates are written out: PEM (base64 between armour lines) or DER."""

from __future__ import annotations

import base64
import enum


class Encoding(enum.Enum):
    PEM = "PEM"
    DER = "DER"


class PublicFormat(enum.Enum):
    SubjectPublicKeyInfo = "X.509 subjectPublicKeyInfo with PKCS#1"
    PKCS1 = "Raw PKCS#1"


def pem(label: str, der: bytes) -> bytes:
    """``der`` in PEM armour (RFC 7468): base64 in lines of 64 characters."""
    text = base64.b64encode(der).decode("ascii")
    lines = [text[start : start + 64] for start in range(0, len(text), 64)]
    body = "\n".join(lines)
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode("ascii")


def from_pem(label: str, data: bytes) -> bytes:
    """The DER inside the first ``label`` block of ``data``."""
    text = data.decode("ascii", errors="replace")
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        raise ValueError(f"Unable to load PEM file: no {label} block found")
    try:
        return base64.b64decode("".join(text[start + len(begin) : stop].split()), validate=True)
    except ValueError:
        raise ValueError(f"Unable to load PEM file: the {label} block is not base64") from None
