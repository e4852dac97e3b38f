"""Stored credentials go only where they were entered for, and upstream answers are not
read back: a real listener on loopback stands in for an attacker's server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from gateway.api.admin.forms import DOMAIN_TEXT_FIELDS
from gateway.security.exposure import MAX_EXCERPT_CHARS
from tests.gateway.admin.conftest import Admin

PF_KEY = "pf-key-stored-5e1c7a9b"
JIRA_TOKEN = "jira-token-stored-3d8f2b6e"
INTERNAL = "INTERNAL-ONLY-" + "x" * 2000 + "-END-OF-INTERNAL"


class Listener:
    """An HTTP server that records every request's headers and answers 500 with a long,
    hostile body."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.status = 500
        recorded = self.headers
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorded.append({k.lower(): v for k, v in self.headers.items()})
                body = ("\x1b[31m<script>alert(1)</script>\r\nForged: line " + INTERNAL).encode()
                self.send_response(listener.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def credentials_seen(self) -> list[str]:
        return [
            value
            for headers in self.headers
            for name, value in headers.items()
            if name in ("x-api-key", "authorization")
        ]


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def domain(admin: Admin) -> str:
    body = {
        "name": "acme",
        "pf_base_url": _closed_port_url(),
        "jira_base_url": _closed_port_url(),
        "jira_email": "bot@acme.test",
        "pf_api_key": PF_KEY,
        "jira_api_token": JIRA_TOKEN,
    }
    created = admin.client.post("/api/v1/admin/domains", json=body, headers=admin.headers())
    assert created.status_code == 201, created.text
    return "/api/v1/admin/domains/1"


def _test_connection(admin: Admin, path: str) -> dict:
    response = admin.client.post(f"{path}/test-connection", headers=admin.headers())
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_base_url_without_the_credential_is_refused(
    admin: Admin, domain: str, listener: Listener
):
    before = admin.client.get(domain).json()
    for change, needed in (
        ({"pf_base_url": listener.url}, "pf_api_key"),
        ({"jira_base_url": listener.url}, "jira_api_token"),
        ({"jira_email": "attacker@evil.test"}, "jira_api_token"),
        ({"pf_base_url": listener.url, "jira_base_url": listener.url}, "api"),
    ):
        refused = admin.client.patch(domain, json=change, headers=admin.headers())
        assert refused.status_code == 422, (change, refused.text)
        assert needed in refused.json()["detail"], refused.text
    assert admin.client.get(domain).json() == before
    _test_connection(admin, domain)
    assert listener.headers == []


def test_the_form_refuses_it_too_and_unchanged_fields_pass(
    admin: Admin, domain: str, listener: Listener
):
    page = admin.client.get("/admin/domains/1")
    assert page.status_code == 200
    current = admin.client.get(domain).json()
    form = {name: str(current[name] or "") for name in DOMAIN_TEXT_FIELDS}
    form.update(csrf_token=admin.csrf, is_active="1", pf_base_url=listener.url)
    form.update(pf_api_key="", jira_api_token="")
    refused = admin.client.post("/admin/domains/1", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert "requires entering the PeopleForce API key again" in refused.text
    assert admin.client.get(domain).json()["pf_base_url"] == current["pf_base_url"]
    same = admin.client.patch(
        domain,
        json={"pf_base_url": current["pf_base_url"], "jira_email": current["jira_email"]},
        headers=admin.headers(),
    )
    assert same.status_code == 200, same.text


def test_reentered_credentials_go_to_the_new_url_and_the_answer_stays_bounded(
    admin: Admin, domain: str, listener: Listener
):
    moved = admin.client.patch(
        domain,
        json={"pf_base_url": listener.url, "pf_api_key": "typed-again-for-the-new-url"},
        headers=admin.headers(),
    )
    assert moved.status_code == 200, moved.text
    result = _test_connection(admin, domain)
    assert listener.credentials_seen() == ["typed-again-for-the-new-url"]
    message = result["details"]["peopleforce"]["message"]
    assert "HTTP 500" in message
    assert "END-OF-INTERNAL" not in result["message"] and "\x1b" not in result["message"]
    assert "\r" not in message and "\n" not in message
    assert len(message) <= MAX_EXCERPT_CHARS + 80, message
    for secret in (PF_KEY, JIRA_TOKEN):
        assert secret not in str(result)


def test_a_stored_tick_error_is_shown_bounded(
    client: TestClient, admin: Admin, domain: str, engine
):
    from gateway.db import session_scope
    from gateway.models import DomainConfig

    with session_scope(engine) as session:
        stored = session.get(DomainConfig, 1)
        assert stored is not None
        stored.last_tick_error = "jira: HTTP 500: \x1b[2J" + INTERNAL
        session.add(stored)
    shown = admin.client.get(domain).json()["last_tick_error"]
    assert "END-OF-INTERNAL" not in shown and "\x1b" not in shown and len(shown) <= 300
    page = admin.client.get("/admin")
    assert "END-OF-INTERNAL" not in page.text and "\x1b" not in page.text


def test_a_success_page_at_the_base_url_is_described_not_quoted(
    admin: Admin, domain: str, listener: Listener
):
    """An internal page answering 200 is not an error message: only its kind and size."""
    listener.status = 200
    moved = admin.client.patch(
        domain,
        json={"pf_base_url": listener.url, "pf_api_key": "typed-again-for-the-new-url"},
        headers=admin.headers(),
    )
    assert moved.status_code == 200, moved.text
    message = _test_connection(admin, domain)["details"]["peopleforce"]["message"]
    assert "expected a JSON body, got text/plain" in message, message
    assert "INTERNAL-ONLY" not in message and "Forged" not in message


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("http://user:pw@127.0.0.1:9", "user:password@"),
        ("https://bot@acme.atlassian.net", "user:password@"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://[fe80::1]:8080", "link-local"),
        ("http://0.0.0.0:8080", "link-local or reserved"),
    ],
)
def test_base_urls_with_credentials_or_link_local_hosts_are_refused(
    admin: Admin, domain: str, url: str, refusal: str
):
    before = admin.client.get(domain).json()
    refused = admin.client.patch(
        domain, json={"jira_base_url": url, "jira_api_token": "x" * 24}, headers=admin.headers()
    )
    assert refused.status_code == 422 and refusal in refused.text, refused.text
    assert admin.client.get(domain).json() == before
