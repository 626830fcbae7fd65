"""X.509 v3 certificates without extensions (RFC 5280): built and signed with an RSA key,
written as DER or PEM, and read back."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..hazmat import _der
from ..hazmat.backends import PurePythonBackend
from ..hazmat.primitives import hashes, serialization
from ..hazmat.primitives.asymmetric import rsa
from ..hazmat.primitives.asymmetric.padding import PKCS1v15
from .oid import SHORT_NAMES, NameOID, ObjectIdentifier, SignatureAlgorithmOID

#: the signature algorithms this package signs and reads certificates with: RSA over a hash
_HASHES: dict[ObjectIdentifier, type[hashes.HashAlgorithm]] = {
    SignatureAlgorithmOID.RSA_WITH_SHA1: hashes.SHA1,
    SignatureAlgorithmOID.RSA_WITH_SHA224: hashes.SHA224,
    SignatureAlgorithmOID.RSA_WITH_SHA256: hashes.SHA256,
    SignatureAlgorithmOID.RSA_WITH_SHA384: hashes.SHA384,
    SignatureAlgorithmOID.RSA_WITH_SHA512: hashes.SHA512,
}
_SIGNATURE_ALGORITHMS = {algorithm.name: oid for oid, algorithm in _HASHES.items()}
#: the string type each attribute is written as (UTF8String for the others), as cryptography
_PRINTABLE = frozenset({NameOID.COUNTRY_NAME})
_IA5 = frozenset({NameOID.EMAIL_ADDRESS})


class NameAttribute:
    def __init__(self, oid: ObjectIdentifier, value: str) -> None:
        if not isinstance(oid, ObjectIdentifier):
            raise TypeError("oid must be an ObjectIdentifier")
        if not isinstance(value, str):
            raise TypeError("value must be a str")
        if oid == NameOID.COUNTRY_NAME and len(value.encode()) != 2:
            raise ValueError("Country name must be a 2 character country code")
        self.oid, self.value = oid, value

    def _der(self) -> bytes:
        if self.oid in _PRINTABLE:
            tag = _der.PRINTABLE_STRING
        elif self.oid in _IA5:
            tag = _der.IA5_STRING
        else:
            tag = _der.UTF8_STRING
        encoded = _der.tlv(tag, self.value.encode("utf-8"))
        return _der.sequence(_der.object_identifier(self.oid.dotted_string), encoded)

    def rfc4514_string(self) -> str:
        key = SHORT_NAMES.get(self.oid, self.oid.dotted_string)
        value = "".join(f"\\{char}" if char in ',+"\\<>;' else char for char in self.value)
        if value[:1] in ("#", " "):
            value = "\\" + value
        if value.endswith(" "):
            value = value[:-1] + "\\ "
        return f"{key}={value}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NameAttribute) and (other.oid, other.value) == (
            self.oid,
            self.value,
        )

    def __hash__(self) -> int:
        return hash((self.oid, self.value))

    def __repr__(self) -> str:
        return f"<NameAttribute(oid={self.oid!r}, value={self.value!r})>"


class Name:
    """A distinguished name: one attribute per relative distinguished name, in order."""

    def __init__(self, attributes: list[NameAttribute]) -> None:
        self._attributes = list(attributes)
        if not all(isinstance(attribute, NameAttribute) for attribute in self._attributes):
            raise TypeError("attributes must be a list of NameAttribute")

    def get_attributes_for_oid(self, oid: ObjectIdentifier) -> list[NameAttribute]:
        return [attribute for attribute in self._attributes if attribute.oid == oid]

    def rfc4514_string(self) -> str:
        return ",".join(attribute.rfc4514_string() for attribute in reversed(self._attributes))

    def public_bytes(self, backend: PurePythonBackend | None = None) -> bytes:
        return _der.sequence(*(_der.set_of(attribute._der()) for attribute in self._attributes))

    def __iter__(self) -> Iterator[NameAttribute]:
        return iter(self._attributes)

    def __len__(self) -> int:
        return len(self._attributes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Name) and other._attributes == self._attributes

    def __hash__(self) -> int:
        return hash(tuple(self._attributes))

    def __repr__(self) -> str:
        return f"<Name({self.rfc4514_string()})>"


@dataclass(frozen=True)
class _Fields:
    serial_number: int
    issuer: Name
    subject: Name
    not_valid_before_utc: datetime.datetime
    not_valid_after_utc: datetime.datetime
    public_key: rsa.RSAPublicKey
    signature_algorithm_oid: ObjectIdentifier


class Certificate:
    """A signed certificate: its fields, the DER it was read from or written as, and its
    signature."""

    def __init__(self, fields: _Fields, tbs: bytes, signature: bytes) -> None:
        self._fields, self._tbs, self._signature = fields, tbs, signature
        self._der = _der.sequence(
            tbs, _algorithm_identifier(fields.signature_algorithm_oid), _der.bit_string(signature)
        )

    serial_number = property(lambda self: self._fields.serial_number)
    issuer = property(lambda self: self._fields.issuer)
    subject = property(lambda self: self._fields.subject)
    not_valid_before_utc = property(lambda self: self._fields.not_valid_before_utc)
    not_valid_after_utc = property(lambda self: self._fields.not_valid_after_utc)
    signature_algorithm_oid = property(lambda self: self._fields.signature_algorithm_oid)

    @property
    def signature_hash_algorithm(self) -> hashes.HashAlgorithm:
        return _HASHES[self._fields.signature_algorithm_oid]()

    @property
    def signature(self) -> bytes:
        return self._signature

    @property
    def tbs_certificate_bytes(self) -> bytes:
        return self._tbs

    def public_key(self) -> rsa.RSAPublicKey:
        return self._fields.public_key

    def public_bytes(self, encoding: serialization.Encoding) -> bytes:
        if encoding is serialization.Encoding.PEM:
            return serialization.pem("CERTIFICATE", self._der)
        return self._der

    def fingerprint(self, algorithm: hashes.HashAlgorithm) -> bytes:
        return algorithm.digest(self._der)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other._der == self._der

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        return f"<Certificate(subject={self.subject}, serial={self.serial_number})>"


def _algorithm_identifier(oid: ObjectIdentifier) -> bytes:
    return _der.sequence(_der.object_identifier(oid.dotted_string), _der.null())


def _tbs(fields: _Fields) -> bytes:
    """The TBSCertificate (RFC 5280, 4.1): version 3, and no extensions."""
    return _der.sequence(
        _der.tlv(_der.explicit(0), _der.integer(2)),
        _der.integer(fields.serial_number),
        _algorithm_identifier(fields.signature_algorithm_oid),
        fields.issuer.public_bytes(),
        _der.sequence(
            _der.time(fields.not_valid_before_utc), _der.time(fields.not_valid_after_utc)
        ),
        fields.subject.public_bytes(),
        rsa.subject_public_key_info(fields.public_key),
    )


@dataclass(frozen=True)
class CertificateBuilder:
    """Sets each field once, then ``sign`` makes the certificate."""

    _subject_name: Name | None = None
    _issuer_name: Name | None = None
    _public_key: rsa.RSAPublicKey | None = None
    _serial_number: int | None = None
    _not_valid_before: datetime.datetime | None = None
    _not_valid_after: datetime.datetime | None = None

    def _with(self, field: str, value: Any) -> CertificateBuilder:
        if getattr(self, field) is not None:
            raise ValueError(f"The {field.strip('_').replace('_', ' ')} may only be set once.")
        return replace(self, **{field: value})

    def subject_name(self, name: Name) -> CertificateBuilder:
        return self._with("_subject_name", name)

    def issuer_name(self, name: Name) -> CertificateBuilder:
        return self._with("_issuer_name", name)

    def public_key(self, key: rsa.RSAPublicKey) -> CertificateBuilder:
        if not isinstance(key, rsa.RSAPublicKey):
            raise TypeError("this pure-Python cryptography certifies RSA public keys only")
        return self._with("_public_key", key)

    def serial_number(self, number: int) -> CertificateBuilder:
        if not 0 < number < 1 << 159:
            raise ValueError("The serial number should be positive and fit in 159 bits.")
        return self._with("_serial_number", number)

    def not_valid_before(self, moment: datetime.datetime) -> CertificateBuilder:
        return self._with("_not_valid_before", _utc(moment))

    def not_valid_after(self, moment: datetime.datetime) -> CertificateBuilder:
        return self._with("_not_valid_after", _utc(moment))

    def sign(
        self,
        private_key: rsa.RSAPrivateKey,
        algorithm: hashes.HashAlgorithm,
        backend: PurePythonBackend | None = None,
    ) -> Certificate:
        missing = [
            name.strip("_").replace("_", " ") for name, value in vars(self).items() if value is None
        ]
        if missing:
            raise ValueError(f"A certificate needs its {', '.join(missing)} before signing.")
        if algorithm.name not in _SIGNATURE_ALGORITHMS:
            raise ValueError(f"{algorithm!r} is not a hash this package signs certificates with")
        assert self._serial_number is not None and self._public_key is not None
        assert self._issuer_name is not None and self._subject_name is not None
        assert self._not_valid_before is not None and self._not_valid_after is not None
        fields = _Fields(
            serial_number=self._serial_number,
            issuer=self._issuer_name,
            subject=self._subject_name,
            not_valid_before_utc=self._not_valid_before,
            not_valid_after_utc=self._not_valid_after,
            public_key=self._public_key,
            signature_algorithm_oid=_SIGNATURE_ALGORITHMS[algorithm.name],
        )
        tbs = _tbs(fields)
        return Certificate(fields, tbs, private_key.sign(tbs, PKCS1v15(), algorithm))


def _utc(moment: datetime.datetime) -> datetime.datetime:
    """A certificate's time, to the second, in UTC (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0)


def random_serial_number() -> int:
    """A random positive serial number of at most 159 bits (RFC 5280 allows 20 octets)."""
    return secrets.randbits(159) or 1


# -- reading ---------------------------------------------------------------------------------


def load_der_x509_certificate(data: bytes, backend: PurePythonBackend | None = None) -> Certificate:
    """The certificate in ``data`` (DER): an RSA-signed one with an RSA key; raises
    ``ValueError`` for anything else."""
    try:
        return _read_certificate(bytes(data))
    except (ValueError, KeyError, IndexError) as error:
        raise ValueError(f"error parsing asn1 value: {error}") from None


def load_pem_x509_certificate(data: bytes, backend: PurePythonBackend | None = None) -> Certificate:
    return load_der_x509_certificate(serialization.from_pem("CERTIFICATE", bytes(data)))


def _read_name(element: _der.Element) -> Name:
    attributes = []
    for relative in element.expect(_der.SEQUENCE).children():
        for pair in relative.expect(_der.SET).children():
            oid, value = pair.expect(_der.SEQUENCE).children()
            attributes.append(
                NameAttribute(ObjectIdentifier(oid.as_object_identifier()), value.as_string())
            )
    return Name(attributes)


def _read_public_key(element: _der.Element) -> rsa.RSAPublicKey:
    algorithm, key = element.expect(_der.SEQUENCE).children()
    if algorithm.children()[0].as_object_identifier() != rsa.RSA_ENCRYPTION:
        raise ValueError("the certificate's key is not an RSA key")
    n, e = _der.read_one(key.as_bit_string()).expect(_der.SEQUENCE).children()
    return rsa.RSAPublicNumbers(e.as_integer(), n.as_integer()).public_key()


def _read_certificate(data: bytes) -> Certificate:
    tbs, algorithm, signature = _der.read_one(data).expect(_der.SEQUENCE).children()
    fields = tbs.expect(_der.SEQUENCE).children()
    if fields[0].tag == _der.explicit(0):
        fields = fields[1:]
    serial, inner_algorithm, issuer, validity, subject, key = fields[:6]
    oid = ObjectIdentifier(algorithm.children()[0].as_object_identifier())
    if oid not in _HASHES:
        raise ValueError(f"unsupported signature algorithm {oid.dotted_string}")
    if inner_algorithm.encoded != algorithm.encoded:
        raise ValueError("the certificate names two signature algorithms")
    not_before, not_after = validity.expect(_der.SEQUENCE).children()
    parsed = _Fields(
        serial_number=serial.as_integer(),
        issuer=_read_name(issuer),
        subject=_read_name(subject),
        not_valid_before_utc=not_before.as_time(),
        not_valid_after_utc=not_after.as_time(),
        public_key=_read_public_key(key),
        signature_algorithm_oid=oid,
    )
    certificate = Certificate(parsed, tbs.encoded, signature.as_bit_string())
    certificate._der = data  # keep the bytes as read, whatever their encoding choices
    return certificate
