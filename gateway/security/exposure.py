"""How much of an upstream's answer an admin may read back through the gateway.

An admin picks the base URLs the gateway calls, so an error body quoted in full
would let the gateway fetch an internal URL for them and show the answer. Errors
shown to admins (test connection, tick errors) therefore carry the status, a short
reason and at most ``MAX_EXCERPT_CHARS`` of the body, with control characters
escaped so nothing in it can pose as markup or forge lines of its own.
"""

from __future__ import annotations

import re
from http import HTTPStatus

MAX_EXCERPT_CHARS = 120
MAX_ERROR_CHARS = 300
MAX_REASON_CHARS = 500  # what the audit log stores of a reason
_SPACE = re.compile(r"\s+")


def _escape(text: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def bounded_excerpt(text: str, limit: int = MAX_EXCERPT_CHARS) -> str:
    """``text`` on one line, control characters escaped, cut to ``limit`` characters."""
    cleaned = _escape(_SPACE.sub(" ", text).strip())
    if len(cleaned) > limit:
        return cleaned[: limit - 1] + "\u2026"
    return cleaned


def status_reason(status: int | None) -> str:
    """``HTTP 404 Not Found``, or ``no HTTP answer`` for a transport failure."""
    if status is None:
        return "no HTTP answer"
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def upstream_error_text(text: str | None) -> str:
    """A stored error (a tick's last error) as an admin sees it: one escaped line of at
    most ``MAX_ERROR_CHARS``, whatever the upstream put in it."""
    return bounded_excerpt(text or "", MAX_ERROR_CHARS)


def terminal_reason(text: str | None) -> str:
    """A stored audit reason as a terminal prints it: one escaped line of at most
    ``MAX_REASON_CHARS``, so no row, whenever and however stored, can move the cursor,
    clear the screen or ring the bell."""
    return bounded_excerpt(text or "", MAX_REASON_CHARS)
