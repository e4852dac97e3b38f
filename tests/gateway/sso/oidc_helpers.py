"""A fake OIDC provider on loopback and a gateway configured to sign in through it."""

from __future__ import annotations

import re
from collections.abc import Generator
from contextlib import contextmanager

import httpx
from fastapi.testclient import TestClient

from fakes.oidc import FakeOidc, create_oidc_app
from fakes.server import FakeServer
from gateway.settings import Settings

CLIENT_ID = "gateway-tests"
CLIENT_SECRET = "gateway-tests-client-secret"
GATEWAY = "http://testserver"
CALLBACK = f"{GATEWAY}/login/sso/callback"
ALLOWED = "alice@acme.test"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@contextmanager
def fake_issuer() -> Generator[tuple[FakeServer, FakeOidc]]:
    """The provider served over real TCP, its issuer set to where it answers."""
    app = create_oidc_app("http://placeholder")
    fake: FakeOidc = app.state.oidc
    fake.register(CLIENT_ID, CLIENT_SECRET, CALLBACK)
    with FakeServer(app) as server:
        fake.issuer = server.url
        yield server, fake


def sso_settings(settings: Settings, issuer: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_allowed_domains": "acme.test",
        "oidc_allowed_emails": "contractor@example.org",
    }
    values.update(overrides)
    return Settings.model_validate({**settings.model_dump(), **values})


def consent(authorize_url: str, email: str, decision: str = "allow") -> str:
    """Play the person at the provider's consent page; the callback URL it sends back to."""
    with httpx.Client() as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        form = dict(_HIDDEN.findall(page.text))
        answer = browser.post(
            authorize_url.split("?")[0],
            data={**form, "email": email, "decision": decision},
        )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def start(client: TestClient, next_path: str | None = None) -> str:
    """GET /login/sso: the provider's authorization URL."""
    params = {"next": next_path} if next_path else None
    response = client.get("/login/sso", params=params, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def callback(client: TestClient, url: str) -> httpx.Response:
    assert url.startswith(GATEWAY), url
    return client.get(url.removeprefix(GATEWAY), follow_redirects=False)


def sign_in(client: TestClient, email: str) -> httpx.Response:
    """The whole flow; the gateway's answer to the callback."""
    return callback(client, consent(start(client), email))
