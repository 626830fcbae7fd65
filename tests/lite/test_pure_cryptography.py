"""The pure-Python ``cryptography`` subset the Lite site serves to Pyodide, checked against the
real ``cryptography``: the same key gives byte for byte the same certificate and signatures,
each verifies the other's, and moto's SNS, run on the subset, signs envelopes that the real
library verifies."""

from __future__ import annotations

import base64
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.lite.harness import REPOSITORY

SUBSET = REPOSITORY / "lite" / "pure_cryptography"
ALIAS = "pure_cryptography_under_test"
NOW = datetime.datetime(2026, 12, 6, 12, 0, 0)
HASHES = ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"]


@pytest.fixture(scope="module")
def pure() -> Iterator[ModuleType]:
    """The subset imported under another name, beside the real ``cryptography``."""
    spec = importlib.util.spec_from_file_location(
        ALIAS,
        SUBSET / "cryptography" / "__init__.py",
        submodule_search_locations=[str(SUBSET / "cryptography")],
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[ALIAS] = module
    spec.loader.exec_module(module)
    for name in (
        "exceptions",
        "x509",
        "x509.oid",
        "hazmat.primitives.hashes",
        "hazmat.primitives.serialization",
        "hazmat.primitives.asymmetric.rsa",
        "hazmat.primitives.asymmetric.padding",
        "hazmat.backends",
    ):
        importlib.import_module(f"{ALIAS}.{name}")
    yield module
    for name in [name for name in sys.modules if name.split(".")[0] == ALIAS]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def pure_key(pure: ModuleType) -> Any:
    key = pure.hazmat.primitives.asymmetric.rsa.generate_private_key(65537, 2048)
    return key


def real_key_of(pure_key: Any) -> rsa.RSAPrivateKey:
    numbers = pure_key.private_numbers()
    public = numbers.public_numbers
    return rsa.RSAPrivateNumbers(
        numbers.p,
        numbers.q,
        numbers.d,
        numbers.dmp1,
        numbers.dmq1,
        numbers.iqmp,
        rsa.RSAPublicNumbers(public.e, public.n),
    ).private_key()


def sns_certificate(library: Any, oid: Any, key: Any, algorithm: Any) -> Any:
    """The certificate melange-lab's SNS signing makes, built with ``library``'s x509."""
    return (
        library.CertificateBuilder()
        .subject_name(library.Name([library.NameAttribute(oid.COMMON_NAME, "sns.amazonaws.com")]))
        .issuer_name(
            library.Name(
                [
                    library.NameAttribute(oid.COUNTRY_NAME, "US"),
                    library.NameAttribute(oid.ORGANIZATION_NAME, "Amazon"),
                    library.NameAttribute(oid.COMMON_NAME, "Amazon RSA 2048 M01"),
                ]
            )
        )
        .public_key(key.public_key())
        .serial_number(0x7F3A_91C2_44D0_18E5_B6A9_0C3D_2E71_F4A8_5B9C_6D01)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=365))
        .sign(key, algorithm)
    )


def test_a_generated_key_is_a_valid_2048_bit_rsa_key(pure_key: Any) -> None:
    real = real_key_of(pure_key)  # cryptography checks p, q, d and the CRT values
    assert real.key_size == pure_key.key_size == 2048
    assert pure_key.private_numbers().public_numbers.e == 65537


@pytest.mark.parametrize("algorithm", HASHES)
def test_signatures_equal_cryptographys_byte_for_byte_and_verify_both_ways(
    pure: ModuleType, pure_key: Any, algorithm: str
) -> None:
    data = b"Message\nhello\nMessageId\n42\nType\nNotification\n"
    pure_hash = getattr(pure.hazmat.primitives.hashes, algorithm)()
    ours = pure_key.sign(data, pure.hazmat.primitives.asymmetric.padding.PKCS1v15(), pure_hash)
    real = real_key_of(pure_key)
    theirs = real.sign(data, padding.PKCS1v15(), getattr(hashes, algorithm)())
    assert ours == theirs
    real.public_key().verify(ours, data, padding.PKCS1v15(), getattr(hashes, algorithm)())
    pure_key.public_key().verify(
        theirs, data, pure.hazmat.primitives.asymmetric.padding.PKCS1v15(), pure_hash
    )


def test_a_tampered_message_or_signature_does_not_verify(pure: ModuleType, pure_key: Any) -> None:
    pkcs1 = pure.hazmat.primitives.asymmetric.padding.PKCS1v15()
    sha1 = pure.hazmat.primitives.hashes.SHA1()
    signature = pure_key.sign(b"the message", pkcs1, sha1)
    invalid = pure.exceptions.InvalidSignature
    with pytest.raises(invalid):
        pure_key.public_key().verify(signature, b"the massage", pkcs1, sha1)
    with pytest.raises(invalid):
        pure_key.public_key().verify(
            bytes([signature[0] ^ 1]) + signature[1:], b"the message", pkcs1, sha1
        )
    with pytest.raises(invalid):
        pure_key.public_key().verify(signature[:-1], b"the message", pkcs1, sha1)
    with pytest.raises(InvalidSignature):
        real_key_of(pure_key).public_key().verify(
            signature, b"the massage", padding.PKCS1v15(), hashes.SHA1()
        )


def test_the_certificate_equals_cryptographys_byte_for_byte_and_verifies(
    pure: ModuleType, pure_key: Any
) -> None:
    encoding = pure.hazmat.primitives.serialization.Encoding
    ours = sns_certificate(
        pure.x509, pure.x509.oid.NameOID, pure_key, pure.hazmat.primitives.hashes.SHA256()
    )
    theirs = sns_certificate(x509, NameOID, real_key_of(pure_key), hashes.SHA256())
    assert ours.public_bytes(encoding.DER) == theirs.public_bytes(serialization.Encoding.DER)
    assert ours.public_bytes(encoding.PEM) == theirs.public_bytes(serialization.Encoding.PEM)
    loaded = x509.load_pem_x509_certificate(ours.public_bytes(encoding.PEM))
    loaded.public_key().verify(
        loaded.signature,
        loaded.tbs_certificate_bytes,
        padding.PKCS1v15(),
        loaded.signature_hash_algorithm,
    )
    assert loaded.subject.rfc4514_string() == ours.subject.rfc4514_string()
    assert loaded.issuer.rfc4514_string() == "CN=Amazon RSA 2048 M01,O=Amazon,C=US"


def test_a_certificate_made_by_cryptography_reads_back_with_its_fields(
    pure: ModuleType, pure_key: Any
) -> None:
    theirs = sns_certificate(x509, NameOID, real_key_of(pure_key), hashes.SHA384())
    read = pure.x509.load_pem_x509_certificate(theirs.public_bytes(serialization.Encoding.PEM))
    assert read.serial_number == theirs.serial_number
    assert read.not_valid_before_utc == theirs.not_valid_before_utc
    assert read.not_valid_after_utc == theirs.not_valid_after_utc
    assert read.subject.rfc4514_string() == theirs.subject.rfc4514_string()
    assert read.public_key() == pure_key.public_key()
    assert read.signature == theirs.signature
    assert read.signature_hash_algorithm.name == "sha384"
    read.public_key().verify(
        read.signature,
        read.tbs_certificate_bytes,
        pure.hazmat.primitives.asymmetric.padding.PKCS1v15(),
        read.signature_hash_algorithm,
    )


def test_what_is_not_a_certificate_is_refused_with_value_error(pure: ModuleType) -> None:
    with pytest.raises(ValueError, match="no CERTIFICATE block"):
        pure.x509.load_pem_x509_certificate(b"not a certificate")
    with pytest.raises(ValueError, match="error parsing asn1 value"):
        pure.x509.load_pem_x509_certificate(
            b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"
        )


def test_what_the_subset_does_not_do_says_so(pure: ModuleType, pure_key: Any) -> None:
    class PSS:
        name = "EMSA-PSS"

    with pytest.raises(pure.exceptions.UnsupportedAlgorithm, match="PKCS1v15 only"):
        pure_key.sign(b"x", PSS(), pure.hazmat.primitives.hashes.SHA256())
    builder = pure.x509.CertificateBuilder().serial_number(1)
    with pytest.raises(ValueError, match="may only be set once"):
        builder.serial_number(2)
    with pytest.raises(ValueError, match="needs its subject name, issuer name"):
        builder.sign(pure_key, pure.hazmat.primitives.hashes.SHA256())


SNS_ON_THE_SUBSET = textwrap.dedent(
    """
    import json, sys
    import cryptography
    assert cryptography.__version__.endswith("+melangelab"), cryptography.__file__
    import moto.sns.models as sns_models
    from melange_lab import MessagingBackendFactory, SimulatedBroker, TopicPublisher
    from melange_lab.serializers import JsonSerializer, SerializerRegistry

    broker = SimulatedBroker()
    registry = SerializerRegistry(
        {"serializers": {"json": JsonSerializer}, "serializer_bindings": {dict: "json"}}
    )
    MessagingBackendFactory(broker.backend).init_queue("inbox", ["news"])
    TopicPublisher(registry, broker.backend).publish("news", {"n": 1}, subject="hello")
    envelope = broker.peek("inbox")[0].envelope
    keys = sns_models.sns_backends["123456789012"]["us-east-1"]._message_public_keys
    name = envelope["SigningCertURL"].rsplit("/", 1)[1]
    print(json.dumps({"envelope": envelope, "pem": keys[name].decode()}))
    broker.stop()
    """
)


@pytest.mark.slow
def test_moto_sns_on_the_subset_signs_envelopes_that_cryptography_verifies(
    tmp_path: Path,
) -> None:
    """The lab's SNS publish in a CPython whose ``cryptography`` is the subset, as in Pyodide:
    the envelope's signature verifies, with the real library, against its SigningCertURL."""
    environment = {**os.environ, "PYTHONPATH": str(SUBSET)}
    result = subprocess.run(
        [sys.executable, "-c", SNS_ON_THE_SUBSET],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    envelope = answer["envelope"]
    certificate = x509.load_pem_x509_certificate(answer["pem"].encode())
    signed = "".join(
        f"{name}\n{envelope[name]}\n"
        for name in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if name in envelope
    )
    assert envelope["SignatureVersion"] == "1"
    certificate.public_key().verify(
        base64.b64decode(envelope["Signature"]),
        signed.encode(),
        padding.PKCS1v15(),
        hashes.SHA1(),
    )
