"""Typed upstream failures, so callers decide on retry/dead-letter by class, not by parsing text.

Error bodies are untrusted: Jira answers some 429s with HTML, PeopleForce's 404/500
bodies are undocumented. Nothing here assumes JSON, and credentials never reach a
message (URLs lose their user-info, known secrets are masked).
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from gateway.security.exposure import bounded_excerpt

Service = Literal["peopleforce", "jira"]

MAX_MESSAGE_CHARS = 500
MAX_RETRY_AFTER_SECONDS = 300.0
TRANSIENT_STATUSES = frozenset({408, 425, 429})
REDACTED = "***"

_TAG_RE = re.compile(r"<[^>]*>")
_DROP_BLOCK_RE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_SPACE_RE = re.compile(r"\s+")
_SENSITIVE_QUERY_KEYS = frozenset({"api_key", "apikey", "key", "token", "access_token", "password"})


class UpstreamError(Exception):
    """A PeopleForce or Jira call that did not succeed; ``status`` is None for transport errors."""

    transient: bool = False

    def __init__(
        self,
        *,
        service: Service,
        status: int | None,
        message: str,
        method: str = "",
        url: str = "",
        retry_after: float | None = None,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        self.service = service
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        self.retry_after = retry_after
        self.field_errors = field_errors or {}
        super().__init__(str(self))

    def __str__(self) -> str:
        """What logs, the audit, dead letters and the API show: the status and at most
        ``MAX_EXCERPT_CHARS`` of the answer, escaped (``gateway.security.exposure``)."""
        status = "transport error" if self.status is None else f"HTTP {self.status}"
        where = f" {self.method} {self.url}" if self.method or self.url else ""
        return f"{self.service}{where}: {status}: {bounded_excerpt(self.message)}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(service={self.service!r}, status={self.status!r}, "
            f"method={self.method!r}, url={self.url!r}, message={self.message!r})"
        )


class TransientUpstreamError(UpstreamError):
    """Worth retrying later: timeouts, connection errors, 408/425/429 and 5xx."""

    transient = True


class PermanentUpstreamError(UpstreamError):
    """Retrying the same request will fail again: fix the data, rule or credentials."""


class NotFoundError(PermanentUpstreamError):
    """404: the resource is gone (or invisible to these credentials)."""


class UpstreamProtocolError(PermanentUpstreamError):
    """A 2xx whose body does not have the documented shape."""


class TransitionPathError(PermanentUpstreamError):
    """No sequence of available transitions reaches a ``done`` status."""


class PropertyTooLargeError(ValueError):
    """An entity property value over Jira's 32 768-byte limit, refused before sending."""


class TruncatedListingError(RuntimeError):
    """A listing stopped at its page cap, so absence from it proves nothing."""

    def __init__(self, what: str, pages_read: int) -> None:
        self.what = what
        self.pages_read = pages_read
        super().__init__(f"{what}: stopped at the cap of {pages_read} pages; listing incomplete")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask every known secret (and its Basic-auth form) that an upstream echoed back."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def safe_url(url: httpx.URL | str) -> str:
    """The URL without user-info and with credential-like query values masked."""
    try:
        parsed = httpx.URL(str(url))
    except httpx.InvalidURL:
        return "<invalid url>"
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    if any(key.lower() in _SENSITIVE_QUERY_KEYS for key in parsed.params):
        params = [
            (key, REDACTED if key.lower() in _SENSITIVE_QUERY_KEYS else value)
            for key, value in parsed.params.multi_items()
        ]
        parsed = parsed.copy_with(params=params)
    return str(parsed)


def parse_retry_after(
    value: str | None, *, now: float | None = None, maximum: float = MAX_RETRY_AFTER_SECONDS
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), clamped."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), maximum)


def _clip(text: str) -> str:
    """The upstream's text on one line, control characters escaped, cut to the bound."""
    return bounded_excerpt(text, MAX_MESSAGE_CHARS)


def _messages_from_json(body: Any) -> tuple[list[str], dict[str, str]]:
    """Collect Jira (``errorMessages``/``errors``) and PeopleForce (``message``) messages."""
    messages: list[str] = []
    fields: dict[str, str] = {}
    if isinstance(body, list):
        for item in body:
            sub_messages, sub_fields = _messages_from_json(item)
            messages.extend(sub_messages)
            fields.update(sub_fields)
        return messages, fields
    if isinstance(body, str):
        return ([body] if body.strip() else []), fields
    if not isinstance(body, dict):
        return messages, fields
    error_messages = body.get("errorMessages")
    if isinstance(error_messages, list):
        messages.extend(str(m) for m in error_messages if isinstance(m, str | int | float) and m)
    errors = body.get("errors")
    if isinstance(errors, dict):
        for field, text in errors.items():
            fields[str(field)] = _clip(str(text))
            messages.append(f"{field}: {text}")
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict) and item.get("message"):
                messages.append(str(item["message"]))
            elif isinstance(item, str) and item:
                messages.append(item)
    for key in ("message", "error", "errorMessage", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            messages.append(value)
    return messages, fields


def _text_snippet(body: str) -> str:
    """Readable text out of an HTML or plain body: the page title plus the visible text."""
    if "<" not in body:
        return body
    title_match = _TITLE_RE.search(body)
    title = html.unescape(_TAG_RE.sub(" ", title_match.group(1))) if title_match else ""
    text = html.unescape(_TAG_RE.sub(" ", _DROP_BLOCK_RE.sub(" ", body)))
    text = _SPACE_RE.sub(" ", text).strip()
    if title:
        title = _SPACE_RE.sub(" ", title).strip()
        text = text.removeprefix(title).strip()
        return f"{title}: {text}" if text else title
    return text


def body_text(response: httpx.Response, raw: bytes | None = None) -> str:
    """The body as text without trusting the declared charset (it may be bogus)."""
    raw = response.content if raw is None else raw
    if not raw:
        return ""
    try:
        return raw.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def extract_message(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The upstream's own explanation of a failure, whatever the body's format."""
    try:
        raw = response.content
    except httpx.ResponseNotRead:
        raw = b""
    text = body_text(response, raw)
    fields: dict[str, str] = {}
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            body = None
            message = _clip(_text_snippet(text))
        else:
            messages, fields = _messages_from_json(body)
            message = _clip("; ".join(messages)) if messages else _clip(text)
        if message:
            return message, fields
    return (response.reason_phrase or f"HTTP {response.status_code}"), fields


def _request_of(response: httpx.Response) -> tuple[str, str]:
    try:
        request = response.request
    except RuntimeError:
        return "", ""
    return request.method, safe_url(request.url)


def classify(
    response: httpx.Response, *, service: Service, secrets: Iterable[str] = ()
) -> UpstreamError:
    """The typed error for a non-2xx response (caller checked ``is_success`` first)."""
    secrets = tuple(secrets)
    method, url = _request_of(response)
    message, fields = extract_message(response)
    message = redact(message, secrets)
    fields = {key: redact(value, secrets) for key, value in fields.items()}
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    error_class: type[UpstreamError]
    if status in TRANSIENT_STATUSES or status >= 500:
        error_class = TransientUpstreamError
    elif status == 404:
        error_class = NotFoundError
    else:
        error_class = PermanentUpstreamError
    return error_class(
        service=service,
        status=status,
        message=message,
        method=method,
        url=url,
        retry_after=retry_after,
        field_errors=fields,
    )


def classify_transport(
    exc: Exception,
    *,
    service: Service,
    method: str,
    url: httpx.URL | str,
    secrets: Iterable[str] = (),
) -> UpstreamError:
    """Timeouts and connection failures are transient; a malformed URL or scheme is not."""
    detail = str(exc).strip()
    message = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    message = redact(_clip(message), secrets)
    error_class: type[UpstreamError] = TransientUpstreamError
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.LocalProtocolError):
        error_class = PermanentUpstreamError
    return error_class(
        service=service, status=None, message=message, method=method, url=safe_url(url)
    )
