"""SSO sessions follow the current settings, and SSO's account changes are audited.

A live SSO session is checked against the settings on every request: an address
taken off the allowed domains or emails loses access, one taken off the admin
emails loses the admin role, without waiting for its next sign-in. Accounts SSO
creates, and the roles it sets, are in the admin audit as done by ``sso:<issuer>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from fakes.oidc import FakeOidc
from fakes.server import FakeServer
from gateway.api.app import create_app
from gateway.models import AdminUser, EventType, SyncEvent
from gateway.settings import Settings
from tests.gateway.sso.oidc_helpers import ALLOWED, fake_issuer, sign_in, sso_settings


@pytest.fixture
def issuer() -> Iterator[tuple[FakeServer, FakeOidc]]:
    with fake_issuer() as served:
        yield served


def _me(client: TestClient) -> Any:
    response = client.get("/api/v1/admin/me")
    return response.json() if response.status_code == 200 else response.status_code


def _signed_in_cookies(configured: Settings, email: str) -> dict[str, str]:
    with TestClient(create_app(configured), base_url="http://testserver") as client:
        assert sign_in(client, email).status_code == 303
        assert _me(client)["name"] == email
        return dict(client.cookies)


def _me_after_restart(settings: Settings, cookies: dict[str, str]) -> Any:
    """``/me`` with the same session cookie, asked of an API started with ``settings``."""
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        client.cookies.update(cookies)
        return _me(client)


@pytest.mark.parametrize(
    "delisted",
    [
        {"oidc_allowed_domains": "other.test"},
        {"oidc_allowed_domains": "", "oidc_allowed_emails": "contractor@example.org"},
    ],
)
def test_a_delisted_address_loses_its_live_session(
    settings: Settings,
    issuer: tuple[FakeServer, FakeOidc],
    engine: Engine,
    delisted: dict[str, str],
) -> None:
    listed = sso_settings(settings, issuer[0].url)
    cookies = _signed_in_cookies(listed, ALLOWED)
    assert _me_after_restart(listed, cookies)["name"] == ALLOWED
    assert _me_after_restart(sso_settings(settings, issuer[0].url, **delisted), cookies) == 401
    # SSO switched off altogether: no SSO account stays signed in either.
    assert _me_after_restart(settings, cookies) == 401


def test_an_address_taken_off_the_admin_list_loses_the_admin_role_at_once(
    settings: Settings, issuer: tuple[FakeServer, FakeOidc], engine: Engine
) -> None:
    admin = sso_settings(settings, issuer[0].url, oidc_admin_emails=ALLOWED)
    cookies = _signed_in_cookies(admin, ALLOWED)
    assert _me_after_restart(admin, cookies)["role"] == "admin"
    demoted = sso_settings(settings, issuer[0].url, oidc_admin_emails="")
    assert _me_after_restart(demoted, cookies)["role"] == "viewer"


def _account_events(engine: Engine, user_id: int) -> list[SyncEvent]:
    with Session(engine) as session:
        events = session.exec(
            select(SyncEvent)
            .where(SyncEvent.event_type == EventType.ADMIN_CHANGE.value)
            .order_by(col(SyncEvent.id))
        ).all()
    return [
        e
        for e in events
        if (e.details or {}).get("object") == "user" and (e.details or {}).get("id") == user_id
    ]


def test_accounts_sso_creates_and_the_roles_it_sets_are_audited(
    settings: Settings, issuer: tuple[FakeServer, FakeOidc], engine: Engine
) -> None:
    actor = f"sso:{issuer[0].url}"
    admin = sso_settings(settings, issuer[0].url, oidc_admin_emails=ALLOWED)
    _signed_in_cookies(admin, ALLOWED)
    with Session(engine) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == ALLOWED)).one()
    assert user.id is not None
    [created] = _account_events(engine, user.id)
    assert created.actor == actor and created.details is not None
    assert created.details["action"] == "created" and created.details["after"]["role"] == "admin"
    assert "session_epoch" not in created.details["after"]

    _signed_in_cookies(admin, ALLOWED)  # the same role again: nothing to record
    assert len(_account_events(engine, user.id)) == 1
    _signed_in_cookies(sso_settings(settings, issuer[0].url), ALLOWED)
    [_, demoted] = _account_events(engine, user.id)
    assert demoted.actor == actor and demoted.details is not None
    assert demoted.details["action"] == "updated"
    assert demoted.details["before"] == {"role": "admin"}
    assert demoted.details["after"] == {"role": "viewer"}
