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

SIGNATURE_HEADER = "X-Hub-Signature"
SUPPORTED_METHOD = "sha256"

_METHOD = re.compile(r"[a-z0-9-]{1,32}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


from mutmut.mutation.trampoline import wrap_in_trampoline as _mutmut_mutated, MutantDict


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
mutants_x_sign__mutmut: MutantDict = {}  # type: ignore


@_mutmut_mutated(mutants_x_sign__mutmut)
def sign(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"


def x_sign__mutmut_orig(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"


def x_sign__mutmut_1(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = None
    return f"{SUPPORTED_METHOD}={digest}"


def x_sign__mutmut_2(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(None, body, hashlib.sha256).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"


def x_sign__mutmut_3(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), None, hashlib.sha256).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"


def x_sign__mutmut_4(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, None).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"


def x_sign__mutmut_5(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(body, hashlib.sha256).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"


def x_sign__mutmut_6(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), hashlib.sha256).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"


def x_sign__mutmut_7(*, body: bytes, secret: str) -> str:
    """The header value Jira sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, ).hexdigest()
    return f"{SUPPORTED_METHOD}={digest}"

mutants_x_sign__mutmut['_mutmut_orig'] = x_sign__mutmut_orig # type: ignore # mutmut generated
mutants_x_sign__mutmut['x_sign__mutmut_1'] = x_sign__mutmut_1 # type: ignore # mutmut generated
mutants_x_sign__mutmut['x_sign__mutmut_2'] = x_sign__mutmut_2 # type: ignore # mutmut generated
mutants_x_sign__mutmut['x_sign__mutmut_3'] = x_sign__mutmut_3 # type: ignore # mutmut generated
mutants_x_sign__mutmut['x_sign__mutmut_4'] = x_sign__mutmut_4 # type: ignore # mutmut generated
mutants_x_sign__mutmut['x_sign__mutmut_5'] = x_sign__mutmut_5 # type: ignore # mutmut generated
mutants_x_sign__mutmut['x_sign__mutmut_6'] = x_sign__mutmut_6 # type: ignore # mutmut generated
mutants_x_sign__mutmut['x_sign__mutmut_7'] = x_sign__mutmut_7 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut: MutantDict = {}  # type: ignore


@_mutmut_mutated(mutants_x_verify_signature__mutmut)
def verify_signature(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_orig(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_1(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = None
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_2(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(None) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_3(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_4(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(None)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_5(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None and not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_6(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is not None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_7(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_8(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(None)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_9(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = None
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_10(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition(None)
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_11(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().rpartition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_12(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("XX=XX")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_13(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = None
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_14(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().upper()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_15(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator and not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_16(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_17(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_18(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(None):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_19(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(None)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_20(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method == SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_21(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(None)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_22(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = None
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_23(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().upper()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_24(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_25(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(None):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_26(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(None)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_27(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = ""
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_28(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = None
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_29(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(None, body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_30(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), None, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_31(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, None).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_32(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_33(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_34(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, ).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_35(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) or matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_36(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(None, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_37(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, None) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_38(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_39(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, ) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_40(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is not None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_41(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = None
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_42(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is not None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_43(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(None)
    return SignatureCheck(secret_index=matched)


def x_verify_signature__mutmut_44(*, body: bytes, header: str | None, secrets: Sequence[str]) -> SignatureCheck:
    """Check ``header`` (WebSub ``method=hex``) against HMAC-SHA256 of ``body``.

    ``secrets`` lists the current secret first, then the previous one while it
    is rotated out; empty entries are ignored, and with none left every
    delivery fails, so an unconfigured gateway cannot accept forged events.
    """
    keys = [(index, secret) for index, secret in enumerate(secrets) if secret]
    if not keys:
        return SignatureCheck(SignatureFailure.NO_SECRET_CONFIGURED)
    if header is None or not header.strip():
        return SignatureCheck(SignatureFailure.MISSING)
    method, separator, value = header.strip().partition("=")
    method = method.strip().lower()
    if not separator or not _METHOD.fullmatch(method):
        return SignatureCheck(SignatureFailure.MALFORMED)
    if method != SUPPORTED_METHOD:
        return SignatureCheck(SignatureFailure.UNSUPPORTED_METHOD)
    received = value.strip().lower()
    if not _SHA256_HEX.fullmatch(received):
        return SignatureCheck(SignatureFailure.MALFORMED)
    matched: int | None = None
    for index, secret in keys:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # Compare against every secret (no early exit) so timing says nothing about which.
        if hmac.compare_digest(expected, received) and matched is None:
            matched = index
    if matched is None:
        return SignatureCheck(SignatureFailure.MISMATCH)
    return SignatureCheck(secret_index=None)

mutants_x_verify_signature__mutmut['_mutmut_orig'] = x_verify_signature__mutmut_orig # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_1'] = x_verify_signature__mutmut_1 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_2'] = x_verify_signature__mutmut_2 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_3'] = x_verify_signature__mutmut_3 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_4'] = x_verify_signature__mutmut_4 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_5'] = x_verify_signature__mutmut_5 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_6'] = x_verify_signature__mutmut_6 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_7'] = x_verify_signature__mutmut_7 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_8'] = x_verify_signature__mutmut_8 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_9'] = x_verify_signature__mutmut_9 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_10'] = x_verify_signature__mutmut_10 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_11'] = x_verify_signature__mutmut_11 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_12'] = x_verify_signature__mutmut_12 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_13'] = x_verify_signature__mutmut_13 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_14'] = x_verify_signature__mutmut_14 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_15'] = x_verify_signature__mutmut_15 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_16'] = x_verify_signature__mutmut_16 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_17'] = x_verify_signature__mutmut_17 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_18'] = x_verify_signature__mutmut_18 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_19'] = x_verify_signature__mutmut_19 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_20'] = x_verify_signature__mutmut_20 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_21'] = x_verify_signature__mutmut_21 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_22'] = x_verify_signature__mutmut_22 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_23'] = x_verify_signature__mutmut_23 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_24'] = x_verify_signature__mutmut_24 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_25'] = x_verify_signature__mutmut_25 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_26'] = x_verify_signature__mutmut_26 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_27'] = x_verify_signature__mutmut_27 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_28'] = x_verify_signature__mutmut_28 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_29'] = x_verify_signature__mutmut_29 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_30'] = x_verify_signature__mutmut_30 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_31'] = x_verify_signature__mutmut_31 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_32'] = x_verify_signature__mutmut_32 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_33'] = x_verify_signature__mutmut_33 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_34'] = x_verify_signature__mutmut_34 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_35'] = x_verify_signature__mutmut_35 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_36'] = x_verify_signature__mutmut_36 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_37'] = x_verify_signature__mutmut_37 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_38'] = x_verify_signature__mutmut_38 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_39'] = x_verify_signature__mutmut_39 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_40'] = x_verify_signature__mutmut_40 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_41'] = x_verify_signature__mutmut_41 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_42'] = x_verify_signature__mutmut_42 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_43'] = x_verify_signature__mutmut_43 # type: ignore # mutmut generated
mutants_x_verify_signature__mutmut['x_verify_signature__mutmut_44'] = x_verify_signature__mutmut_44 # type: ignore # mutmut generated
