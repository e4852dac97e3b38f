"""Roles: a viewer reads everything an admin reads and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.admin.accounts import create_api_token, create_user
from gateway.cli import app as cli
from gateway.db import session_scope
from gateway.models import DeadLetter, DomainConfig, Role, RoutingRule
from gateway.settings import Settings
from tests.gateway.admin.conftest import csrf_from, sign_in
from tests.gateway.admin.test_exposure import PUBLIC, PUBLIC_PREFIXES, _routes

VIEWER = "viewer"
VIEWER_PASSWORD = "a viewer's long password"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Signing out changes only the caller's own session, so a viewer may do it.
OWN_SESSION = {("/logout", "POST")}


@pytest.fixture
def seeded(engine: Engine) -> None:
    """One domain, rule and dead letter, so every path with an id names something."""
    with session_scope(engine) as session:
        domain = DomainConfig(name="acme", pf_base_url="https://pf.test", jira_base_url="https://j")
        session.add(domain)
        session.flush()
        assert domain.id == 1
        session.add(RoutingRule(domain_id=1, name="r"))
        session.add(DeadLetter(domain_id=1, operation="create", error_message="boom"))
        create_user(session, VIEWER, VIEWER_PASSWORD, Role.VIEWER)


def _mutations(client: TestClient) -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, method in _routes(client)
        if method in MUTATING
        and (path, method) not in PUBLIC | OWN_SESSION
        and not path.startswith(PUBLIC_PREFIXES)
    ]


def test_a_signed_in_viewer_gets_403_on_every_mutating_route(client: TestClient, seeded: None):
    assert sign_in(client, VIEWER, VIEWER_PASSWORD).status_code == 303
    dashboard = client.get("/admin")
    assert dashboard.status_code == 200
    headers = {"X-CSRF-Token": csrf_from(dashboard.text)}
    mutations = _mutations(client)
    assert ("/api/v1/admin/domains/1", "PATCH") in mutations
    assert ("/admin/domains/1", "POST") in mutations and len(mutations) > 25
    for path, method in mutations:
        response = client.request(method, path, headers=headers, follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code)
        assert "viewer role" in response.text, (method, path)
    for path in ("/admin", "/admin/audit", "/admin/dead-letters", "/admin/domains/1"):
        assert client.get(path).status_code == 200, path
    for path in ("/api/v1/admin/domains", "/api/v1/admin/events", "/api/v1/admin/dead-letters"):
        assert client.get(path).status_code == 200, path
    out = client.post("/logout", data={"csrf_token": headers["X-CSRF-Token"]})
    assert out.status_code == 200 and client.get("/admin", follow_redirects=False).is_redirect


def test_a_viewer_token_gets_403_on_every_mutating_api_route(
    client: TestClient, seeded: None, engine: Engine
):
    with session_scope(engine) as session:
        _, plaintext = create_api_token(session, "dashboards", Role.VIEWER)
    bearer = {"Authorization": f"Bearer {plaintext}"}
    api = [(p, m) for p, m in _mutations(client) if p.startswith("/api/v1/admin/")]
    assert len(api) > 10
    for path, method in api:
        response = client.request(method, path, headers=bearer)
        assert response.status_code == 403, (method, path, response.status_code)
    assert client.get("/api/v1/admin/domains/1", headers=bearer).status_code == 200
    with session_scope(engine) as session:
        domain = session.get(DomainConfig, 1)
        assert domain is not None and domain.is_active


def test_the_cli_grants_roles(settings: Settings, engine: Engine, monkeypatch):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["admin", "create-user", "vera", "--role", "viewer", "--password-stdin"],
        input="a long password!\n",
    )
    assert made.exit_code == 0 and "created viewer user vera" in made.output
    token = runner.invoke(cli, ["admin", "create-token", "grafana", "--role", "viewer"])
    assert token.exit_code == 0 and "viewer token" in token.stderr
    bad = runner.invoke(cli, ["admin", "create-token", "x", "--role", "owner"])
    assert bad.exit_code == 1 and "unknown role 'owner'" in bad.output
