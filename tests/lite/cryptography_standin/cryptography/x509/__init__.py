"""Certificates that hold their fields and a stand-in signature, PEM-shaped."""

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding


class NameAttribute:
    def __init__(self, oid: str, value: str) -> None:
        self.oid, self.value = oid, value


class Name:
    def __init__(self, attributes: list[NameAttribute]) -> None:
        self.attributes = list(attributes)

    def rfc4514_string(self) -> str:
        return ",".join(f"{a.oid}={a.value}" for a in self.attributes)


class Certificate:
    def __init__(self, fields: dict[str, Any], signature: bytes) -> None:
        self.fields, self.signature = fields, signature

    def public_bytes(self, encoding: Encoding) -> bytes:
        body = base64.encodebytes(json.dumps(self.fields, default=str).encode()).decode()
        return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n".encode()


class CertificateBuilder:
    def __init__(self, fields: dict[str, Any] | None = None) -> None:
        self._fields = dict(fields or {})

    def _with(self, key: str, value: Any) -> "CertificateBuilder":
        return CertificateBuilder({**self._fields, key: value})

    def subject_name(self, name: Name) -> "CertificateBuilder":
        return self._with("subject", name.rfc4514_string())

    def issuer_name(self, name: Name) -> "CertificateBuilder":
        return self._with("issuer", name.rfc4514_string())

    def public_key(self, key: Any) -> "CertificateBuilder":
        return self._with("key", key.key_id.hex())

    def serial_number(self, number: int) -> "CertificateBuilder":
        return self._with("serial", number)

    def not_valid_before(self, when: Any) -> "CertificateBuilder":
        return self._with("not_before", when)

    def not_valid_after(self, when: Any) -> "CertificateBuilder":
        return self._with("not_after", when)

    def sign(self, private_key: Any, algorithm: Any, backend: Any = None) -> Certificate:
        text = json.dumps(self._fields, default=str, sort_keys=True).encode()
        return Certificate(self._fields, private_key.sign(text, None, algorithm))


def random_serial_number() -> int:
    return int.from_bytes(os.urandom(20), "big") >> 1


def load_pem_x509_certificate(data: bytes, backend: Any = None) -> Certificate:
    text = data.decode()
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError("Unable to load PEM file (the stand-in reads only its own PEM).")
    body = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return Certificate(json.loads(base64.decodebytes(body.encode())), b"")
