"""Signature paddings: PKCS #1 v1.5 only (what SNS signs with)."""

from __future__ import annotations


class AsymmetricPadding:
    name: str = ""


class PKCS1v15(AsymmetricPadding):
    """RSASSA-PKCS1-v1_5 (RFC 8017, 8.2): deterministic, one signature per key and message."""

    name = "EMSA-PKCS1-v1_5"
