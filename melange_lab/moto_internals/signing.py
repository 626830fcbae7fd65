"""SNS envelopes signed with one cached key and certificate."""

from __future__ import annotations

import base64
import contextvars
import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import moto.core.utils as moto_utils
import moto.sns.models as sns_models
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal import mock_random
from moto.sns.models import Subscription, Topic

from melange_lab.moto_internals.patching import _lock, _set_feature

# --- SNS deliveries without a new certificate each ---------------------------------------
#
# Stock moto 5.2's Subscription.get_post_data, which builds the JSON envelope of every
# non-raw delivery to an SQS (or HTTP) subscriber, generates a 2048-bit RSA key per
# subscription (an lru_cache on the method, which also keeps every subscription alive), and
# for every delivery builds and signs a new X.509 certificate, signs the message, and stores
# the certificate's PEM under a new name in the default account's
# SNSBackend._message_public_keys, never removed. Two RSA signatures (~2 ms each here) made
# SNS publish the slowest call in the lab, growing with the subscriber count, and the stored
# PEMs grow memory without limit over a long notebook session.
#
# The replacement returns the same envelope (same fields, same Timestamp from moto's clock
# global, same string to sign) but signs with one key and one certificate per installation,
# stored under one SigningCertURL (put back if a reset emptied the store), as real SNS signs
# with one certificate at a time. It also signs as SNS does where stock does not: stock always
# says SignatureVersion "2" (SHA256); SNS signs with SignatureVersion "1" (RSA PKCS#1 v1.5 over
# SHA1) unless the topic's SignatureVersion attribute is "2"
# (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html).
# PKCS#1 v1.5 signatures are deterministic, so deliveries of one publish that share a
# Timestamp reuse the last signature instead of computing the same bytes again. The
# signature verifies against the certificate at SigningCertURL. It draws one uuid4 per
# delivery from moto's random source, as stock does for its key name, so seeded message ids
# stay what stock gives. Routing, filtering, raw delivery and the SQS send are moto's own.


@dataclass(frozen=True)
class _Signer:
    key: rsa.RSAPrivateKey
    certificate_pem: bytes
    certificate_name: str


_signer: _Signer | None = None
_last_signature: tuple[str, str] = ("", "")  # (version + string signed, base64 signature)


def _new_signer() -> _Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Amazon RSA 2048 M01"),
    ]
    now = moto_utils.utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")]))
        .issuer_name(x509.Name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    name = f"SimpleNotificationService-{hashlib.sha256(certificate.signature).hexdigest()[:32]}.pem"
    return _Signer(key, certificate.public_bytes(serialization.Encoding.PEM), name)


def _sign(text: str, version: str) -> tuple[_Signer, str]:
    global _signer, _last_signature
    with _lock:
        if _signer is None:
            _signer = _new_signer()
        signer, (signed, signature) = _signer, _last_signature
    if signed != version + text:
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
        raw = signer.key.sign(text.encode("UTF-8"), padding.PKCS1v15(), algorithm)
        signature = base64.b64encode(raw).decode("utf-8")
        with _lock:
            if _signer is signer:
                _last_signature = (version + text, signature)
    return signer, signature


def signature_version(topic: Topic) -> str:
    """The topic's SignatureVersion attribute: "2" only when set so, else SNS's default "1"."""
    for name in ("SignatureVersion", "signature_version"):
        value = getattr(topic, name, None)
        if value is not None:
            return "2" if str(value) == "2" else "1"
    return "1"


# When the message being delivered was published (SNS's envelope Timestamp is the publish time,
# also for a copy delivered later): set by ``fan_out`` around each delivery, so every copy of
# one publish carries the same Timestamp, and so the same signature, computed once.
published_at: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "melange_lab_published_at", default=None
)


def _post_data_signed_once(
    self: Subscription,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    mock_random.uuid4()  # stock's draw for its per-delivery key name
    now_iso: Callable[[], str] = vars(sns_models)["iso_8601_datetime_with_milliseconds"]
    timestamp = published_at.get() or now_iso()
    topic_arn = self.topic.arn
    version = signature_version(self.topic)
    signer, signature = _sign(
        f"Message\n{message}\nMessageId\n{message_id}\n"
        + (f"Subject\n{subject}\n" if subject else "")
        + f"Timestamp\n{timestamp}\nTopicArn\n{topic_arn}\nType\nNotification\n",
        version,
    )
    region = self.topic.sns_backend.region_name
    public_keys = sns_models.sns_backends[DEFAULT_ACCOUNT_ID][region]._message_public_keys
    public_keys.setdefault(signer.certificate_name, signer.certificate_pem)
    post_data: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": version,
        "Signature": signature,
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/{signer.certificate_name}",
        "UnsubscribeURL": (
            "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
            f"arn:aws:sns:us-east-1:{self.account_id}:{self.topic.name}:"
            "2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
        ),
    }
    if subject:
        post_data["Subject"] = subject
    if message_attributes:
        post_data["MessageAttributes"] = message_attributes
    return post_data


def install_fast_signing() -> None:
    """Sign SNS envelopes with one cached key and certificate, not new ones each. Idempotent."""
    _set_feature(
        "fast_signing", [(Subscription, "get_post_data", lambda _: _post_data_signed_once)]
    )


def uninstall_fast_signing() -> None:
    """Put moto's own per-delivery certificates back and forget the cached key."""
    global _signer, _last_signature
    with _lock:
        _set_feature("fast_signing", None)
        _signer, _last_signature = None, ("", "")
