"""Hash algorithms, by the names ``cryptography`` gives them; the digests come from hashlib."""

from __future__ import annotations

import hashlib


class HashAlgorithm:
    """A hash: its hashlib ``name``, its ``digest_size`` in bytes and its object identifier."""

    name: str = ""
    digest_size: int = 0
    oid: str = ""

    def digest(self, data: bytes) -> bytes:
        return hashlib.new(self.name, data).digest()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class SHA1(HashAlgorithm):
    name, digest_size, oid = "sha1", 20, "1.3.14.3.2.26"


class SHA224(HashAlgorithm):
    name, digest_size, oid = "sha224", 28, "2.16.840.1.101.3.4.2.4"


class SHA256(HashAlgorithm):
    name, digest_size, oid = "sha256", 32, "2.16.840.1.101.3.4.2.1"


class SHA384(HashAlgorithm):
    name, digest_size, oid = "sha384", 48, "2.16.840.1.101.3.4.2.2"


class SHA512(HashAlgorithm):
    name, digest_size, oid = "sha512", 64, "2.16.840.1.101.3.4.2.3"


#: the algorithms this package signs with, by object identifier
BY_OID: dict[str, type[HashAlgorithm]] = {
    algorithm.oid: algorithm for algorithm in (SHA1, SHA224, SHA256, SHA384, SHA512)
}
