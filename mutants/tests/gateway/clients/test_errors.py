"""Error classification copes with whatever body an upstream sends."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from gateway.clients.errors import (
    NotFoundError,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamError,
    classify,
    classify_transport,
    extract_message,
    parse_retry_after,
    safe_url,
)

URL = "https://acme.atlassian.test/rest/api/3/issue/10001"
HTML_429 = """<!DOCTYPE html><html><head><title>Too Many Requests</title>
<style>body { color: red }</style></head>
<body><h1>Rate limited</h1><p>Please slow&nbsp;down &amp; retry.</p></body></html>"""


def response(status: int, body: bytes | str = b"", **headers: str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.Response(
        status, content=content, headers=headers, request=httpx.Request("GET", URL)
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, PermanentUpstreamError),
        (401, PermanentUpstreamError),
        (403, PermanentUpstreamError),
        (404, NotFoundError),
        (409, PermanentUpstreamError),
        (410, PermanentUpstreamError),
        (418, PermanentUpstreamError),
        (422, PermanentUpstreamError),
        (408, TransientUpstreamError),
        (425, TransientUpstreamError),
        (429, TransientUpstreamError),
        (500, TransientUpstreamError),
        (502, TransientUpstreamError),
        (503, TransientUpstreamError),
        (504, TransientUpstreamError),
    ],
)
def test_status_classes(status: int, expected: type[UpstreamError]) -> None:
    error = classify(response(status), service="jira")
    assert type(error) is expected
    assert error.status == status
    assert error.transient is issubclass(expected, TransientUpstreamError)


def test_html_429_gives_readable_message_and_retry_after() -> None:
    error = classify(response(429, HTML_429, **{"Retry-After": "12"}), service="jira")
    assert isinstance(error, TransientUpstreamError)
    assert error.retry_after == 12.0
    assert error.message.startswith("Too Many Requests")
    assert error.message == "Too Many Requests: Rate limited Please slow down & retry."
    assert "<" not in error.message and "color" not in error.message


def test_html_502_from_a_proxy() -> None:
    body = "<html><body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>"
    error = classify(response(502, body), service="peopleforce")
    assert isinstance(error, TransientUpstreamError)
    assert error.message == "502 Bad Gateway nginx"


@pytest.mark.parametrize("status", [404, 500, 503])
def test_empty_body_falls_back_to_reason_phrase(status: int) -> None:
    error = classify(response(status, b""), service="peopleforce")
    assert error.message == httpx.codes.get_reason_phrase(status)


def test_jira_400_collects_error_messages_and_field_errors() -> None:
    body = '{"errorMessages": ["Bad request"], "errors": {"issuetype": "invalid issue type"}}'
    error = classify(response(400, body), service="jira")
    assert error.message == "Bad request; issuetype: invalid issue type"
    assert error.field_errors == {"issuetype": "invalid issue type"}


def test_peopleforce_422_error_list_and_401_message() -> None:
    body = '{"success": false, "errors": [{"message": "Name can\'t be blank"}]}'
    assert classify(response(422, body), service="peopleforce").message == "Name can't be blank"
    unauthorized = classify(response(401, '{"message": "Bad Credentials"}'), service="peopleforce")
    assert unauthorized.message == "Bad Credentials"


@pytest.mark.parametrize(
    "body",
    [b"null", b"42", b'"plain string"', b"[]", b"{}", b"\xff\xfe\x00garbage", b"   ", b"{broken"],
)
def test_odd_bodies_never_crash(body: bytes) -> None:
    message, _fields = extract_message(response(500, body))
    assert message
    assert len(message) <= 500


def test_bogus_charset_does_not_crash() -> None:
    bad = httpx.Response(
        502,
        content="Überlastet".encode(),
        headers={"Content-Type": "text/plain; charset=no-such-codec"},
        request=httpx.Request("GET", URL),
    )
    assert classify(bad, service="jira").message == "Überlastet"


def test_long_text_body_is_trimmed() -> None:
    error = classify(response(500, "x" * 5000), service="jira")
    assert len(error.message) == 500


def test_echoed_secret_is_masked() -> None:
    body = '{"message": "key pf-key-123456 is not valid"}'
    error = classify(response(401, body), service="peopleforce", secrets=["pf-key-123456"])
    assert "pf-key-123456" not in str(error)
    assert "***" in error.message


def test_str_names_service_method_url_and_status() -> None:
    error = classify(response(503, "down"), service="jira")
    assert str(error) == f"jira GET {URL}: HTTP 503: down"


def test_retry_after_seconds_and_http_date() -> None:
    now = time.time()
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(formatdate(now + 120, usegmt=True), now=now) == pytest.approx(
        120, abs=1
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("-5", 0.0),
        ("86400", 300.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after_odd_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_transport_errors() -> None:
    timeout = classify_transport(
        httpx.ConnectTimeout("timed out"), service="jira", method="GET", url=URL
    )
    assert isinstance(timeout, TransientUpstreamError)
    assert timeout.status is None
    assert "ConnectTimeout" in timeout.message
    bad_scheme = classify_transport(
        httpx.UnsupportedProtocol("no ftp"), service="jira", method="GET", url=URL
    )
    assert isinstance(bad_scheme, PermanentUpstreamError)


def test_safe_url_drops_userinfo_and_masks_tokens() -> None:
    cleaned = safe_url("https://bot:hunter2@acme.test/x?token=abc&page=2")
    assert "hunter2" not in cleaned and "abc" not in cleaned
    assert "page=2" in cleaned
