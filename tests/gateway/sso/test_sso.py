"""Sign-in with OpenID Connect through the fake provider: who gets in, and every refusal.

The gateway app runs in-process; the provider is a real HTTP server on
loopback, so discovery, the token exchange and the key fetch are real requests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from fakes.oidc import FakeOidc
from fakes.oidc.state import OidcError, s256
from fakes.server import FakeServer
from gateway.admin.accounts import authenticate, create_user
from gateway.api.app import create_app
from gateway.db import session_scope
from gateway.models import AdminUser, Role
from gateway.settings import Settings
from tests.gateway.sso.oidc_helpers import (
    ALLOWED,
    CLIENT_ID,
    CLIENT_SECRET,
    callback,
    consent,
    fake_issuer,
    sign_in,
    sso_settings,
    start,
)


@pytest.fixture
def issuer() -> Iterator[tuple[FakeServer, FakeOidc]]:
    with fake_issuer() as served:
        yield served


@pytest.fixture
def fake(issuer: tuple[FakeServer, FakeOidc]) -> FakeOidc:
    return issuer[1]


@pytest.fixture
def configured(settings: Settings, issuer: tuple[FakeServer, FakeOidc]) -> Settings:
    return sso_settings(settings, issuer[0].url)


@pytest.fixture
def client(configured: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(configured), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def refusals(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="gateway.admin")
    return caplog


def reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [getattr(r, "reason", "") for r in caplog.records if "SSO" in r.getMessage()]


def assert_signed_out(client: TestClient) -> None:
    response = client.get("/admin", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# -- who gets in ---------------------------------------------------------------------------


@pytest.mark.parametrize("email", [ALLOWED, "Bob@ACME.test", "contractor@example.org"])
def test_an_allowed_address_gets_an_admin_session(
    client: TestClient, engine: Engine, email: str
) -> None:
    response = sign_in(client, email)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin"
    dashboard = client.get("/admin")
    assert dashboard.status_code == 200
    assert email.lower() in dashboard.text
    with Session(engine) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == email.lower())).one()
    assert user.last_login_at is not None
    # The account has no password: the password form can never sign in as it.
    assert authenticate(engine, email, "") is None


@pytest.mark.parametrize(
    "email", ["mallory@evil.test", "eve@sub.acme.test", "acme.test@evil.test", "other@example.org"]
)
def test_an_address_not_allowed_is_refused(
    client: TestClient, refusals: pytest.LogCaptureFixture, email: str
) -> None:
    response = sign_in(client, email)
    assert response.status_code == 403
    assert "may not sign in" in response.text
    assert reasons(refusals) == ["not_allowed"]
    assert_signed_out(client)


def test_next_path_is_kept_and_kept_on_site(client: TestClient) -> None:
    assert (
        callback(client, consent(start(client, "/admin/audit"), ALLOWED)).headers["location"]
        == "/admin/audit"
    )
    client.cookies.clear()
    assert (
        callback(client, consent(start(client, "//evil.test/x"), ALLOWED)).headers["location"]
        == "/admin"
    )


def test_the_second_sign_in_reuses_the_account(client: TestClient, engine: Engine) -> None:
    assert sign_in(client, ALLOWED).status_code == 303
    client.cookies.clear()
    assert sign_in(client, ALLOWED).status_code == 303
    with Session(engine) as session:
        assert len(session.exec(select(AdminUser)).all()) == 1


def test_a_local_account_of_the_same_name_is_not_taken_over(
    client: TestClient, engine: Engine, refusals: pytest.LogCaptureFixture
) -> None:
    with session_scope(engine) as session:
        create_user(session, ALLOWED, "a long local password")
    response = sign_in(client, ALLOWED)
    assert response.status_code == 403
    assert reasons(refusals) == ["local_account"]
    assert_signed_out(client)


def test_an_unverified_email_is_refused(
    client: TestClient, fake: FakeOidc, refusals: pytest.LogCaptureFixture
) -> None:
    fake.email_verified = False
    assert sign_in(client, ALLOWED).status_code == 403
    assert reasons(refusals) == ["email_unverified"]


def test_a_denial_at_the_provider_is_refused(
    client: TestClient, refusals: pytest.LogCaptureFixture
) -> None:
    response = callback(client, consent(start(client), ALLOWED, decision="deny"))
    assert response.status_code == 403
    assert reasons(refusals) == ["denied_by_issuer"]


# -- state, nonce and PKCE bind the callback to the browser that started it ----------------


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"


def test_a_state_mismatch_is_refused(
    client: TestClient, fake: FakeOidc, refusals: pytest.LogCaptureFixture
) -> None:
    returned = consent(start(client), ALLOWED)
    response = callback(client, _with_query(returned, state="forged-state"))
    assert response.status_code == 403
    assert reasons(refusals) == ["state_mismatch"]
    assert fake.token_requests == 0  # refused before the code was even redeemed
    assert_signed_out(client)


def test_a_callback_without_the_pending_cookie_is_refused(
    client: TestClient, refusals: pytest.LogCaptureFixture
) -> None:
    returned = consent(start(client), ALLOWED)
    client.cookies.clear()
    assert callback(client, returned).status_code == 403
    assert reasons(refusals) == ["no_pending_login"]


def test_a_nonce_mismatch_is_refused(
    client: TestClient, fake: FakeOidc, refusals: pytest.LogCaptureFixture
) -> None:
    fake.tamper = {"nonce": "a-nonce-of-another-sign-in"}
    assert sign_in(client, ALLOWED).status_code == 403
    assert reasons(refusals) == ["bad_claim_nonce"]
    assert_signed_out(client)


def test_a_code_redeemed_without_its_pkce_verifier_is_refused(
    configured: Settings, engine: Engine, client: TestClient, refusals: pytest.LogCaptureFixture
) -> None:
    """A code stolen from one browser's sign-in, replayed in the attacker's own sign-in
    (with the attacker's valid state), fails: the attacker's verifier is not the one the
    code was issued for."""
    victims = consent(start(client), ALLOWED)
    with TestClient(create_app(configured), base_url="http://testserver") as attacker:
        attackers = consent(start(attacker), "mallory@acme.test")
        stolen_code = parse_qs(urlsplit(victims).query)["code"][0]
        response = callback(attacker, _with_query(attackers, code=stolen_code))
        assert response.status_code == 403
        assert_signed_out(attacker)
    assert reasons(refusals) == ["token_refused"]


def test_the_fake_refuses_a_wrong_verifier() -> None:
    fake = FakeOidc(issuer="http://issuer.test")
    fake.register(CLIENT_ID, CLIENT_SECRET, "http://rp.test/cb")
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": "http://rp.test/cb",
        "scope": "openid email",
        "code_challenge": s256("the-right-verifier"),
        "code_challenge_method": "S256",
    }
    code = fake.issue_code(params, ALLOWED)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://rp.test/cb"}
    with pytest.raises(OidcError, match="PKCE"):
        fake.redeem({**form, "code_verifier": "a-wrong-verifier"}, CLIENT_ID, CLIENT_SECRET)
    with pytest.raises(OidcError, match="used"):  # a code is single use, even after a failure
        fake.redeem({**form, "code_verifier": "the-right-verifier"}, CLIENT_ID, CLIENT_SECRET)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"aud": "another-client"}, "bad_claim_aud"),
        ({"iss": "https://impostor.test"}, "bad_claim_iss"),
        ({"exp": 1_000_000_000}, "bad_claim_exp"),
        ({"foreign_key": True}, "bad_signature"),
    ],
    ids=["audience", "issuer", "expired", "unknown-key"],
)
def test_a_tampered_id_token_is_refused(
    client: TestClient,
    fake: FakeOidc,
    refusals: pytest.LogCaptureFixture,
    tamper: dict[str, object],
    reason: str,
) -> None:
    fake.tamper = tamper
    assert sign_in(client, ALLOWED).status_code == 403
    assert reasons(refusals) == [reason]
    assert_signed_out(client)


def test_a_wrong_client_secret_is_refused(
    settings: Settings, engine: Engine, issuer: tuple[FakeServer, FakeOidc], refusals
) -> None:
    wrong = sso_settings(settings, issuer[0].url, oidc_client_secret="not-the-secret")
    with TestClient(create_app(wrong), base_url="http://testserver") as client:
        assert sign_in(client, ALLOWED).status_code == 403
    assert reasons(refusals) == ["token_refused"]


# -- the login page and configuration ------------------------------------------------------


def test_the_login_page_offers_sso_only_when_configured(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    assert "Sign in with SSO" in client.get("/login").text
    with TestClient(create_app(settings), base_url="http://testserver") as plain:
        assert "Sign in with SSO" not in plain.get("/login").text
        assert plain.get("/login/sso", follow_redirects=False).status_code == 404


def test_an_unreachable_issuer_is_a_clear_503(
    settings: Settings, engine: Engine, refusals: pytest.LogCaptureFixture
) -> None:
    gone = sso_settings(settings, "http://127.0.0.1:9")
    with TestClient(create_app(gone), base_url="http://testserver") as client:
        response = client.get("/login/sso", follow_redirects=False)
    assert response.status_code == 503
    assert reasons(refusals) == ["discovery_unavailable"]


def test_no_sso_route_answers_2xx_to_an_anonymous_caller(client: TestClient) -> None:
    assert client.get("/login/sso", follow_redirects=False).status_code == 303
    assert client.get("/login/sso/callback", follow_redirects=False).status_code == 403
    forged = client.get("/login/sso/callback?code=x&state=y", follow_redirects=False)
    assert forged.status_code == 403


def test_sso_accounts_get_the_configured_role_at_every_sign_in(
    settings: Settings, issuer: tuple[FakeServer, FakeOidc], engine: Engine
) -> None:
    """A viewer by default (it cannot change anything); an admin address is an admin, and
    taking the address off the admin list demotes it at its next sign-in."""

    def role_after_sign_in(admins: str) -> Role:
        configured = sso_settings(settings, issuer[0].url, oidc_admin_emails=admins)
        with TestClient(create_app(configured), base_url="http://testserver") as client:
            assert sign_in(client, ALLOWED).status_code == 303
        with Session(engine) as session:
            user = session.exec(select(AdminUser).where(AdminUser.username == ALLOWED)).one()
        return Role(user.role)

    assert role_after_sign_in("") == Role.VIEWER
    assert role_after_sign_in(ALLOWED) == Role.ADMIN
    assert role_after_sign_in("") == Role.VIEWER
