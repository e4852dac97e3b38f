"""A session belongs to the account it was issued for, and ends with it.

Deleting an account, giving it a new password or another role ends every session
it has; no later account, even one given the same id, inherits a session; ids are
never reused; and signing in as an SSO account by password costs what any miss does.
"""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from gateway.admin.accounts import (
    SSO_PASSWORD_MARKER,
    add_account,
    authenticate,
    create_user,
    set_role,
)
from gateway.cli import app as cli
from gateway.db import session_scope
from gateway.models import AdminUser, Role
from gateway.settings import Settings
from tests.gateway.admin.conftest import ADMIN_PASSWORD, sign_in

PASSWORD = "a long enough password"


@pytest.fixture
def run(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        result = runner.invoke(cli, list(args), input=stdin)
        assert result.exit_code == 0, result.output
        return result

    return invoke


def _user(engine: Engine, name: str) -> AdminUser:
    with Session(engine) as session:
        return session.exec(select(AdminUser).where(AdminUser.username == name)).one()


def _me(client: TestClient) -> Any:
    response = client.get("/api/v1/admin/me")
    return response.json() if response.status_code == 200 else response.status_code


def test_a_deleted_users_cookie_never_signs_in_the_account_made_next(
    client: TestClient, admin_user: str, run
) -> None:
    run("admin", "create-user", "exviewer2", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    assert sign_in(client, "exviewer2", PASSWORD).status_code == 303
    assert _me(client)["name"] == "exviewer2"

    run("admin", "delete-user", "exviewer2")
    assert _me(client) == 401
    run("admin", "create-user", "opsadmin2", "--password-stdin", stdin=PASSWORD)
    assert _me(client) == 401
    page = client.get("/admin", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    # The login page offers a fresh form rather than bouncing the stale cookie to /admin.
    assert client.get("/login", follow_redirects=False).status_code == 200


def test_a_session_does_not_pass_to_another_account_given_the_same_id(
    client: TestClient, engine: Engine
) -> None:
    """Even where an id does come back (a restored backup, a reset sequence), the epoch
    the cookie carries is the old account's, so the new one is not signed in."""
    with session_scope(engine) as session:
        create_user(session, "first", PASSWORD, Role.VIEWER)
    assert sign_in(client, "first", PASSWORD).status_code == 303
    gone = _user(engine, "first")
    with session_scope(engine) as session:
        session.delete(session.get(AdminUser, gone.id))
    with session_scope(engine) as session:
        session.add(AdminUser(id=gone.id, username="second", password_hash="x", role=Role.ADMIN))
    assert _me(client) == 401


def test_account_ids_are_never_reused(engine: Engine) -> None:
    with session_scope(engine) as session:
        create_user(session, "keeper", PASSWORD)
        newest = create_user(session, "leaver", PASSWORD)
    with session_scope(engine) as session:
        session.delete(session.get(AdminUser, newest.id))
    with session_scope(engine) as session:
        after = create_user(session, "joiner", PASSWORD)
    assert after.id is not None and newest.id is not None and after.id > newest.id


def test_a_new_password_ends_every_session_of_that_account_only(
    client: TestClient, admin_user: str, run
) -> None:
    run("admin", "create-user", "victor", "--password-stdin", stdin=PASSWORD)

    def signed_in(username: str, password: str) -> dict[str, str]:
        client.cookies.clear()
        assert sign_in(client, username, password).status_code == 303
        return dict(client.cookies)

    def me_with(cookies: dict[str, str]) -> Any:
        client.cookies.clear()
        client.cookies.update(cookies)
        return _me(client)

    laptop, phone = signed_in("victor", PASSWORD), signed_in("victor", PASSWORD)
    other = signed_in(admin_user, ADMIN_PASSWORD)
    assert me_with(laptop)["name"] == "victor" and me_with(phone)["name"] == "victor"
    run("admin", "set-password", "victor", "--password-stdin", stdin="another long one!")
    assert me_with(laptop) == 401 and me_with(phone) == 401
    assert me_with(other)["name"] == admin_user
    assert me_with(signed_in("victor", "another long one!"))["name"] == "victor"


def test_a_role_change_ends_the_accounts_sessions(client: TestClient, engine: Engine) -> None:
    with session_scope(engine) as session:
        create_user(session, "rolf", PASSWORD, Role.ADMIN)
    assert sign_in(client, "rolf", PASSWORD).status_code == 303
    assert _me(client)["role"] == "admin"
    with session_scope(engine) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == "rolf")).one()
        set_role(session, user, Role.ADMIN)  # no change: sessions go on
    assert _me(client)["role"] == "admin"
    with session_scope(engine) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == "rolf")).one()
        set_role(session, user, Role.VIEWER)
    assert _me(client) == 401


def test_a_wrong_password_for_an_sso_account_costs_one_argon2_verification(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(engine) as session:
        add_account(session, "sam@acme.test", SSO_PASSWORD_MARKER, Role.ADMIN)
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, stored: Any, password: Any) -> bool:
        verified.append(stored)
        return real_verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    assert authenticate(engine, "sam@acme.test", "a guessed password") is None
    assert authenticate(engine, "nobody@acme.test", "a guessed password") is None
    assert len(verified) == 2 and all(stored.startswith("$argon2") for stored in verified)
