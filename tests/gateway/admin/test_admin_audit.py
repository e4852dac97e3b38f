"""Every admin change is in the audit log: who, what, before and after, never a secret."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.cli import app as cli
from gateway.db import session_scope
from gateway.models import DeadLetter
from gateway.settings import Settings
from tests.gateway.admin.conftest import Admin

PF_KEY = "pf-key-never-in-the-log-1234"
NEW_PF_KEY = "pf-key-new-never-logged-5678"
JIRA_TOKEN = "jira-token-never-in-the-log-9"
DOMAIN = {
    "name": "acme",
    "pf_base_url": "https://pf.test",
    "jira_base_url": "https://j.test",
    "jira_email": "bot@acme.test",
    "pf_api_key": PF_KEY,
    "jira_api_token": JIRA_TOKEN,
}


def _admin_events(client: TestClient, **filters: str) -> list[dict]:
    query = {"event_type": "admin_change", "page_size": "100", **filters}
    response = client.get("/api/v1/admin/events", params=query)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_admin_changes_name_who_what_before_and_after(admin: Admin, engine: Engine):
    headers = admin.headers()
    assert admin.client.post("/api/v1/admin/domains", json=DOMAIN, headers=headers).is_success
    moved = {"pf_base_url": "https://pf2.test", "pf_api_key": NEW_PF_KEY}
    assert admin.client.patch("/api/v1/admin/domains/acme", json=moved, headers=headers).is_success
    rule = {"name": "laptops", "target_project_key": "IT"}
    created = admin.client.post("/api/v1/admin/domains/1/rules", json=rule, headers=headers)
    assert created.status_code == 201
    rule_id = created.json()["id"]
    assert admin.client.delete(f"/api/v1/admin/rules/{rule_id}", headers=headers).is_success
    with session_scope(engine) as session:
        session.add(DeadLetter(domain_id=1, operation="create", error_message="boom"))
    assert admin.client.post("/api/v1/admin/dead-letters/1/discard", headers=headers).is_success

    events = _admin_events(admin.client, actor="user:admin")
    reasons = [e["reason"] for e in reversed(events)]
    assert reasons[0] == "user:admin created domain 1 (acme)"
    assert reasons[1] == "user:admin updated domain 1 (acme): pf_api_key, pf_base_url"
    assert f"user:admin created rule {rule_id} (laptops)" in reasons
    assert f"user:admin deleted rule {rule_id} (laptops)" in reasons
    discards = admin.client.get("/api/v1/admin/events", params={"actor": "user:admin"}).json()
    assert [e["event_type"] for e in discards["items"]].count("discarded") == 1
    assert not any("dead letter 1" in r and "created" in r for r in reasons)
    update = next(e for e in events if e["reason"].startswith("user:admin updated domain"))
    assert update["domain_id"] == 1 and update["actor"] == "user:admin"
    assert update["details"]["before"] == {"pf_api_key": "(set)", "pf_base_url": "https://pf.test"}
    assert update["details"]["after"] == {
        "pf_api_key": "(changed)",
        "pf_base_url": "https://pf2.test",
    }
    dumped = json.dumps(events)
    for secret in (PF_KEY, NEW_PF_KEY, JIRA_TOKEN):
        assert secret not in dumped
    assert "password_hash" not in dumped and "token_hash" not in dumped

    page = admin.client.get("/admin/audit", params={"actor": "user:admin"})
    assert page.status_code == 200 and "updated domain 1 (acme)" in page.text
    assert _admin_events(admin.client, actor="user:somebody-else") == []


def test_token_changes_are_attributed_to_the_token(
    client: TestClient, bearer: dict[str, str], engine: Engine
):
    assert client.post("/api/v1/admin/domains", json=DOMAIN, headers=bearer).is_success
    assert client.post("/api/v1/admin/domains/1/pause", headers=bearer).is_success
    response = client.get(
        "/api/v1/admin/events",
        params={"event_type": "admin_change", "actor": "token:tests"},
        headers=bearer,
    )
    events = response.json()["items"]
    assert [e["reason"] for e in events] == [
        "token:tests updated domain 1 (acme): is_active",
        "token:tests created domain 1 (acme)",
    ]
    assert events[0]["details"]["before"] == {"is_active": True}
    assert events[0]["details"]["after"] == {"is_active": False}


def test_cli_changes_are_attributed_and_listed(settings: Settings, engine: Engine, monkeypatch):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("getpass.getuser", lambda: "ops")
    runner = CliRunner()
    made = runner.invoke(
        cli, ["admin", "create-user", "vera", "--password-stdin"], input="a long password!\n"
    )
    assert made.exit_code == 0, made.output
    listed = runner.invoke(cli, ["audit", "--type", "admin_change", "--actor", "cli:ops", "--json"])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)["items"]
    assert [e["reason"] for e in items] == ["cli:ops created user 1 (vera)"]
    assert "password_hash" not in listed.stdout
    assert items[0]["details"]["after"]["role"] == "admin"

    # On an 80-column terminal the table keeps each event's time whole.
    monkeypatch.setenv("COLUMNS", "80")
    table = runner.invoke(cli, ["audit", "--type", "admin_change"])
    assert table.exit_code == 0, table.output
    assert items[0]["created_at"][:19] in table.stdout, table.stdout
