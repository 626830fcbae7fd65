"""RSA keys and RSASSA-PKCS1-v1_5 signatures (RFC 8017), on Python's integers.

A key is two random primes of half the modulus' size, found by Miller-Rabin after a sieve by
the small primes; signing uses the Chinese remainder theorem (about four times faster than one
exponentiation modulo n) and checks its result with the public exponent before returning it.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from ....exceptions import InvalidSignature, UnsupportedAlgorithm
from ... import _der
from ...backends import PurePythonBackend
from .. import hashes, serialization
from .padding import AsymmetricPadding, PKCS1v15

RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_SMALL_PRIMES = [n for n in range(3, 2000, 2) if all(n % d for d in range(3, math.isqrt(n) + 1, 2))]
_SMALL_PRIMES_PRODUCT = math.prod(_SMALL_PRIMES)
#: Miller-Rabin rounds with random bases, after base 2 (FIPS 186-5 B.3.1 asks 4 or 5 for
#: primes of 1024 bits and more, given the error bound for random candidates)
_ROUNDS = 5


@dataclass(frozen=True)
class RSAPublicNumbers:
    e: int
    n: int

    def public_key(self, backend: PurePythonBackend | None = None) -> RSAPublicKey:
        return RSAPublicKey(self)


@dataclass(frozen=True)
class RSAPrivateNumbers:
    p: int
    q: int
    d: int
    dmp1: int
    dmq1: int
    iqmp: int
    public_numbers: RSAPublicNumbers

    def private_key(
        self,
        backend: PurePythonBackend | None = None,
        *,
        unsafe_skip_rsa_key_validation: bool = False,
    ) -> RSAPrivateKey:
        if not unsafe_skip_rsa_key_validation and self.p * self.q != self.public_numbers.n:
            raise ValueError("p * q is not the modulus n")
        return RSAPrivateKey(self)


def _encoded_digest(data: bytes, algorithm: hashes.HashAlgorithm, size: int) -> int:
    """EMSA-PKCS1-v1_5 (RFC 8017, 9.2): 00 01 FF..FF 00, then the DER DigestInfo."""
    if not isinstance(algorithm, hashes.HashAlgorithm) or not algorithm.oid:
        raise UnsupportedAlgorithm(f"{algorithm!r} is not a hash this package signs with")
    digest_info = _der.sequence(
        _der.sequence(_der.object_identifier(algorithm.oid), _der.null()),
        _der.octet_string(algorithm.digest(data)),
    )
    if size < len(digest_info) + 11:
        raise ValueError("the key is too small for this hash")
    padded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return int.from_bytes(padded, "big")


def _check_padding(padding: AsymmetricPadding) -> None:
    if not isinstance(padding, PKCS1v15):
        raise UnsupportedAlgorithm(
            f"{type(padding).__name__} padding: this pure-Python cryptography signs with "
            "PKCS1v15 only"
        )


class RSAPublicKey:
    def __init__(self, numbers: RSAPublicNumbers) -> None:
        self._numbers = numbers

    @property
    def key_size(self) -> int:
        return self._numbers.n.bit_length()

    def public_numbers(self) -> RSAPublicNumbers:
        return self._numbers

    def verify(
        self,
        signature: bytes,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: hashes.HashAlgorithm,
    ) -> None:
        """Returns if ``signature`` is this key's signature of ``data``; raises
        ``InvalidSignature`` otherwise."""
        _check_padding(padding)
        size = (self.key_size + 7) // 8
        value = int.from_bytes(signature, "big")
        if len(signature) != size or value >= self._numbers.n:
            raise InvalidSignature()
        if pow(value, self._numbers.e, self._numbers.n) != _encoded_digest(data, algorithm, size):
            raise InvalidSignature()

    def public_bytes(
        self, encoding: serialization.Encoding, format: serialization.PublicFormat
    ) -> bytes:
        pkcs1 = _der.sequence(_der.integer(self._numbers.n), _der.integer(self._numbers.e))
        if format is serialization.PublicFormat.PKCS1:
            der, label = pkcs1, "RSA PUBLIC KEY"
        else:
            der, label = subject_public_key_info(self), "PUBLIC KEY"
        return serialization.pem(label, der) if encoding is serialization.Encoding.PEM else der

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RSAPublicKey) and other._numbers == self._numbers

    def __hash__(self) -> int:
        return hash(self._numbers)


class RSAPrivateKey:
    def __init__(self, numbers: RSAPrivateNumbers) -> None:
        self._numbers = numbers

    @property
    def key_size(self) -> int:
        return self._numbers.public_numbers.n.bit_length()

    def public_key(self) -> RSAPublicKey:
        return RSAPublicKey(self._numbers.public_numbers)

    def private_numbers(self) -> RSAPrivateNumbers:
        return self._numbers

    def sign(
        self, data: bytes, padding: AsymmetricPadding, algorithm: hashes.HashAlgorithm
    ) -> bytes:
        """The RSASSA-PKCS1-v1_5 signature of ``data`` (RFC 8017, 8.2.1)."""
        _check_padding(padding)
        numbers, public = self._numbers, self._numbers.public_numbers
        size = (self.key_size + 7) // 8
        message = _encoded_digest(data, algorithm, size)
        at_p = pow(message, numbers.dmp1, numbers.p)
        at_q = pow(message, numbers.dmq1, numbers.q)
        signature = at_q + numbers.q * ((numbers.iqmp * (at_p - at_q)) % numbers.p)
        if pow(signature, public.e, public.n) != message:  # a fault would leak the key
            raise ArithmeticError("RSA signature failed its own check")
        return signature.to_bytes(size, "big")


def subject_public_key_info(key: RSAPublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of an RSA key (RFC 3279, 2.3.1)."""
    numbers = key.public_numbers()
    return _der.sequence(
        _der.sequence(_der.object_identifier(RSA_ENCRYPTION), _der.null()),
        _der.bit_string(_der.sequence(_der.integer(numbers.n), _der.integer(numbers.e))),
    )


def _probably_prime(candidate: int) -> bool:
    """Miller-Rabin: base 2, then ``_ROUNDS`` random bases."""
    odd, twos = candidate - 1, 0
    while not odd & 1:
        odd, twos = odd >> 1, twos + 1
    bases = [2, *(2 + secrets.randbelow(candidate - 3) for _ in range(_ROUNDS))]
    for base in bases:
        value = pow(base, odd, candidate)
        if value in (1, candidate - 1):
            continue
        for _ in range(twos - 1):
            value = value * value % candidate
            if value == candidate - 1:
                break
        else:
            return False
    return True


def _random_prime(bits: int, public_exponent: int) -> int:
    """A random prime of exactly ``bits`` bits, its top two bits set (so two of them make a
    modulus of exactly twice the size), with ``p - 1`` coprime to the public exponent."""
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if (
            math.gcd(candidate, _SMALL_PRIMES_PRODUCT) == 1
            and math.gcd(candidate - 1, public_exponent) == 1
            and _probably_prime(candidate)
        ):
            return candidate


def generate_private_key(
    public_exponent: int, key_size: int, backend: PurePythonBackend | None = None
) -> RSAPrivateKey:
    """A new RSA key of ``key_size`` bits (at least 1024, a multiple of 2)."""
    if public_exponent not in (3, 65537):
        raise ValueError("public_exponent must be 65537 (or 3)")
    if key_size < 1024 or key_size % 2:
        raise ValueError("key_size must be an even number of bits, at least 1024")
    while True:
        p = _random_prime(key_size // 2, public_exponent)
        q = _random_prime(key_size // 2, public_exponent)
        if p == q:
            continue
        p, q = max(p, q), min(p, q)
        d = pow(public_exponent, -1, math.lcm(p - 1, q - 1))
        return RSAPrivateNumbers(
            p=p,
            q=q,
            d=d,
            dmp1=d % (p - 1),
            dmq1=d % (q - 1),
            iqmp=pow(q, -1, p),
            public_numbers=RSAPublicNumbers(public_exponent, p * q),
        ).private_key()
