"""Verification of Jira's webhook signature (``X-Hub-Signature: sha256=<hex>``).

A pure function on the raw body bytes, so it runs before anything parses the
body and can be tested against Atlassian's published vector without an app.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from gateway.monitoring.tracing import traced

SIGNATURE_HEADER = "X-Hub-Signature"
SUPPORTED_METHOD = "sha256"

_METHOD = re.compile(r"[a-z0-9-]{1,32}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class SignatureFailure(StrEnum):
    """Why a delivery's signature was not accepted (the metric label and log field)."""

    NO_SECRET_CONFIGURED = "no_secret_configured"
    MISSING = "missing"
    MALFORMED = "malformed"
    UNSUPPORTED_METHOD = "unsupported_method"
    MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The outcome: ``failure`` is None when valid; ``secret_index`` says which secret matched."""

    failure: SignatureFailure | None = None
    secret_index: int | None = None

    @property
    def valid(self) -> bool:
        return self.failure is None


def sign(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"


def _received_digest(header: str | None) -> SignatureFailure | str:
    """The hex digest ``header`` carries, or why its form is unacceptable."""
    if header is None or not header.strip():
        return SignatureFailure.MISSING
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureFailure.MALFORMED
    if method != SUPPORTED_METHOD:
        return SignatureFailure.UNSUPPORTED_METHOD
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureFailure.MALFORMED
    return received


def header_failure(header: str | None) -> SignatureFailure | None:
    """Why ``header`` cannot be a valid signature whatever the secret, or None.

    Lets the per-domain ingress refuse a missing or malformed header before it
    looks up which secrets the domain has.
    """
    received = _received_digest(header)
    return received if isinstance(received, SignatureFailure) else None


@traced("webhook.verify")
def verify_signature(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    received = _received_digest(header)
    if isinstance(received, SignatureFailure):
        return SignatureCheck(received)
    # Digests compared as bytes: the one-shot ``hmac.digest`` skips the HMAC object and
    # the hex encoding of every expected digest (``received`` is 64 hex digits here).
    received_bytes = bytes.fromhex(received)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.digest(secret.encode(), body, "sha256")
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received_bytes) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)
