"""Keys whose "signature" is a SHA-256 digest of the key id and the data (not RSA)."""

import hashlib
import os


class RSAPublicKey:
    def __init__(self, key_id: bytes) -> None:
        self.key_id = key_id


class RSAPrivateKey:
    def __init__(self, key_id: bytes) -> None:
        self.key_id = key_id

    def public_key(self) -> RSAPublicKey:
        return RSAPublicKey(self.key_id)

    def sign(self, data: bytes, padding: object, algorithm: object) -> bytes:
        return hashlib.sha256(self.key_id + data).digest() * 8


def generate_private_key(
    public_exponent: int, key_size: int, backend: object = None
) -> RSAPrivateKey:
    return RSAPrivateKey(os.urandom(16))
