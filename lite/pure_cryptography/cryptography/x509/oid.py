"""Object identifiers: the attribute types of names, and the signature algorithms."""

from __future__ import annotations


class ObjectIdentifier:
    def __init__(self, dotted_string: str) -> None:
        self.dotted_string = dotted_string

    @property
    def _name(self) -> str:
        return _NAMES.get(self.dotted_string, "Unknown OID")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectIdentifier) and other.dotted_string == self.dotted_string

    def __hash__(self) -> int:
        return hash(self.dotted_string)

    def __repr__(self) -> str:
        return f"<ObjectIdentifier(oid={self.dotted_string}, name={self._name})>"


class NameOID:
    COMMON_NAME = ObjectIdentifier("2.5.4.3")
    COUNTRY_NAME = ObjectIdentifier("2.5.4.6")
    LOCALITY_NAME = ObjectIdentifier("2.5.4.7")
    STATE_OR_PROVINCE_NAME = ObjectIdentifier("2.5.4.8")
    ORGANIZATION_NAME = ObjectIdentifier("2.5.4.10")
    ORGANIZATIONAL_UNIT_NAME = ObjectIdentifier("2.5.4.11")
    SERIAL_NUMBER = ObjectIdentifier("2.5.4.5")
    EMAIL_ADDRESS = ObjectIdentifier("1.2.840.113549.1.9.1")


class SignatureAlgorithmOID:
    RSA_WITH_SHA1 = ObjectIdentifier("1.2.840.113549.1.1.5")
    RSA_WITH_SHA224 = ObjectIdentifier("1.2.840.113549.1.1.14")
    RSA_WITH_SHA256 = ObjectIdentifier("1.2.840.113549.1.1.11")
    RSA_WITH_SHA384 = ObjectIdentifier("1.2.840.113549.1.1.12")
    RSA_WITH_SHA512 = ObjectIdentifier("1.2.840.113549.1.1.13")


#: RFC 4514's short names, for ``Name.rfc4514_string()``
SHORT_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
}
_NAMES = {
    **{oid.dotted_string: name for oid, name in SHORT_NAMES.items()},
    NameOID.SERIAL_NUMBER.dotted_string: "serialNumber",
    NameOID.EMAIL_ADDRESS.dotted_string: "emailAddress",
}
