"""Fixtures for the admin surface: a migrated app, an admin account, signed-in clients,
and a world of fakes on loopback for the actions that call PeopleForce and Jira."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.admin.accounts import create_api_token, hash_password
from gateway.api.app import create_app
from gateway.db import session_scope
from gateway.models import AdminUser, Role
from gateway.settings import Settings

ADMIN_USER = "admin"
ADMIN_PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Admin:
    """A signed-in browser-like client and its CSRF token."""

    client: TestClient
    csrf: str

    def headers(self, htmx: bool = False) -> dict[str, str]:
        headers = {"X-CSRF-Token": self.csrf}
        if htmx:
            headers["HX-Request"] = "true"
        return headers


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD):
    page = client.get("/login")
    token = csrf_from(page.text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/admin"},
        follow_redirects=False,
    )


@functools.cache
def admin_password_hash() -> str:
    """The argon2 hash of ADMIN_PASSWORD, made once per test process: hashing costs about
    150 ms of CPU on purpose, and one salted hash verifies as well as a fresh one."""
    return hash_password(ADMIN_PASSWORD)


@pytest.fixture
def admin_user(engine: Engine) -> str:
    """The admin account, stored as ``create_user`` stores it (test_roles and the CLI tests
    make accounts through it), with the process's one hash of ADMIN_PASSWORD."""
    with session_scope(engine) as session:
        session.add(
            AdminUser(username=ADMIN_USER, password_hash=admin_password_hash(), role=Role.ADMIN)
        )
    return ADMIN_USER


@pytest.fixture
def api_token(engine: Engine) -> str:
    with session_scope(engine) as session:
        _, plaintext = create_api_token(session, "tests")
    return plaintext


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, admin_user: str) -> Admin:
    response = sign_in(client)
    assert response.status_code == 303, response.text
    dashboard = client.get("/admin")
    return Admin(client=client, csrf=csrf_from(dashboard.text))


@pytest.fixture
def bearer(api_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token}"}


def wait_for_check(admin: Admin, rule_id: int, timeout: float = 10.0) -> dict:
    """The rule once its background Jira check has stored an outcome."""
    deadline = time.monotonic() + timeout
    while True:
        rule = admin.client.get(f"/api/v1/admin/rules/{rule_id}").json()
        if rule["validation_status"] != "pending":
            return rule
        assert time.monotonic() < deadline, f"rule {rule_id} still pending"
        time.sleep(0.05)
