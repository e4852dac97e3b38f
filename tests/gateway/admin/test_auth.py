"""Sign-in, sessions, CSRF, throttling and bearer tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.gateway.admin.conftest import ADMIN_PASSWORD, Admin, csrf_from, sign_in

DOMAIN = {"name": "acme", "pf_base_url": "https://pf.test", "jira_base_url": "https://j.test"}


def test_login_sets_hardened_cookie_and_logout_revokes_it(client: TestClient, admin_user: str):
    response = sign_in(client)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    stolen = client.cookies.get("gw_session")
    page = client.get("/admin")
    assert page.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    client.cookies.set("gw_session", stolen or "")
    again = client.get("/admin", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_wrong_password_is_refused_without_saying_which_part(client: TestClient, admin_user: str):
    response = sign_in(client, password="not the password")
    assert response.status_code == 401
    assert "Invalid username or password." in response.text
    assert sign_in(client, username="nobody").status_code == 401


def test_login_without_csrf_token_is_forbidden(client: TestClient, admin_user: str):
    client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 403


def test_fifth_failure_throttles_even_the_right_password(client: TestClient, admin_user: str):
    for _ in range(5):
        assert sign_in(client, password="wrong password!").status_code == 401
    response = sign_in(client)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.text
    assert int(response.headers["retry-after"]) > 0


def test_mutation_without_csrf_is_forbidden_with_it_allowed(admin: Admin):
    assert admin.client.post("/api/v1/admin/domains", json=DOMAIN).status_code == 403
    created = admin.client.post("/api/v1/admin/domains", json=DOMAIN, headers=admin.headers())
    assert created.status_code == 201, created.text
    form = admin.client.post("/admin/domains/1/pause", data={"csrf_token": "forged"})
    assert form.status_code == 403


def test_bearer_token_needs_no_csrf_and_bad_tokens_are_refused(
    client: TestClient, bearer: dict[str, str]
):
    assert client.get("/api/v1/admin/me", headers=bearer).json() == {
        "kind": "token",
        "name": "tests",
        "role": "admin",
    }
    assert client.post("/api/v1/admin/domains", json=DOMAIN, headers=bearer).status_code == 201
    bad = client.get("/api/v1/admin/me", headers={"Authorization": "Bearer gw_nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"


def test_revoked_token_stops_working(client: TestClient, bearer: dict[str, str], engine):
    from gateway.admin.accounts import revoke_api_token
    from gateway.db import session_scope

    with session_scope(engine) as session:
        revoke_api_token(session, 1)
    assert client.get("/api/v1/admin/me", headers=bearer).status_code == 401


def test_bootstrap_admin_is_created_at_startup(settings, engine):
    from gateway.api.app import create_app

    boot = settings.model_copy(
        update={
            "admin_username": "Boot",
            "admin_password": __import__("pydantic").SecretStr("x" * 16),
        }
    )
    with TestClient(create_app(boot)) as client:
        assert sign_in(client, "boot", "x" * 16).status_code == 303

    from sqlmodel import Session, select

    from gateway.models import SyncEvent

    with Session(engine) as session:
        changes = session.exec(select(SyncEvent).where(SyncEvent.event_type == "admin_change"))
        made = [(e.actor, e.reason) for e in changes]
    assert made == [
        (
            "settings:GATEWAY_ADMIN_USERNAME",
            "settings:GATEWAY_ADMIN_USERNAME created user 1 (boot)",
        )
    ]


def test_secret_key_is_generated_once_with_private_mode(settings):
    from gateway.api.admin.sessions import load_or_create_secret_key

    first = load_or_create_secret_key(settings)
    assert first == load_or_create_secret_key(settings)
    assert (settings.data_dir / "secret_key").stat().st_mode & 0o777 == 0o600
