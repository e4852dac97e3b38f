"""The JSON admin API: domains, rules, audit log, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.db import session_scope
from gateway.models import DeadLetter, DomainConfig, SyncEvent

API = "/api/v1/admin"
DOMAIN = {
    "name": "acme",
    "pf_base_url": "https://pf.test/",
    "jira_base_url": "https://acme.atlassian.net",
    "jira_email": "ops@acme.test",
    "pf_api_key": "pf-key-value",
    "jira_api_token": "jira-token-value",
}


def _domain(client: TestClient, bearer: dict[str, str]) -> dict:
    response = client.post(f"{API}/domains", json=DOMAIN, headers=bearer)
    assert response.status_code == 201, response.text
    return response.json()


def test_domain_crud_keeps_credentials_write_only(client: TestClient, bearer: dict[str, str]):
    created = _domain(client, bearer)
    assert created["pf_api_key_set"] is True and created["jira_api_token_set"] is True
    assert "pf_api_key" not in created and created["pf_base_url"] == "https://pf.test"
    domain_id = created["id"]
    patched = client.patch(
        f"{API}/domains/{domain_id}",
        json={"pf_api_key": "", "poll_interval_seconds": 30},
        headers=bearer,
    ).json()
    assert patched["pf_api_key_set"] is False and patched["poll_interval_seconds"] == 30
    assert patched["jira_api_token_set"] is True
    assert (
        client.post(f"{API}/domains/{domain_id}/pause", headers=bearer).json()["is_active"] is False
    )
    assert (
        client.post(f"{API}/domains/{domain_id}/resume", headers=bearer).json()["is_active"] is True
    )
    assert client.get(f"{API}/domains", headers=bearer).json()[0]["name"] == "acme"
    assert client.post(f"{API}/domains", json=DOMAIN, headers=bearer).status_code == 409
    assert client.get(f"{API}/domains/999", headers=bearer).status_code == 404


def test_invalid_domain_gives_clear_422_without_echoing_input(
    client: TestClient, bearer: dict[str, str]
):
    body = {**DOMAIN, "pf_base_url": "ftp://x", "sweep_time": "25:00", "pf_api_key": 12345}
    response = client.post(f"{API}/domains", json=body, headers=bearer)
    assert response.status_code == 422
    fields = {tuple(e["loc"])[-1] for e in response.json()["detail"]}
    assert {"pf_base_url", "sweep_time", "pf_api_key"} <= fields
    assert "12345" not in response.text and "input" not in response.text


def test_rules_crud_order_and_validation(client: TestClient, bearer: dict[str, str]):
    domain_id = _domain(client, bearer)["id"]
    rules = f"{API}/domains/{domain_id}/rules"
    first = client.post(
        rules,
        json={
            "name": "HR onboarding",
            "conditions": [{"path": "type", "op": "equals", "value": "onboarding"}],
            "target_project_key": "hr",
            "mappings": [{"jira_field": "summary", "kind": "TEMPLATE", "value": "[HR] {{title}}"}],
        },
        headers=bearer,
    ).json()
    assert first["target_project_key"] == "HR" and first["mappings"][0]["jira_field"] == "summary"
    second = client.post(
        rules, json={"name": "Drop tests", "action": "DROP"}, headers=bearer
    ).json()
    assert [r["name"] for r in client.get(rules, headers=bearer).json()] == [
        "HR onboarding",
        "Drop tests",
    ]
    reordered = client.post(
        f"{rules}/reorder", json={"rule_ids": [second["id"], first["id"]]}, headers=bearer
    ).json()
    assert [r["name"] for r in reordered] == ["Drop tests", "HR onboarding"]
    bad = client.post(
        rules,
        json={"name": "x", "conditions": [{"path": "t", "op": "regex", "value": "("}]},
        headers=bearer,
    )
    assert bad.status_code == 422 and "invalid regex" in bad.text
    unknown_op = client.post(
        rules, json={"name": "x", "conditions": [{"path": "t", "op": "like"}]}, headers=bearer
    )
    assert unknown_op.status_code == 422
    updated = client.put(
        f"{API}/rules/{first['id']}", json={"name": "HR", "action": "DROP"}, headers=bearer
    ).json()
    assert updated["action"] == "DROP" and updated["mappings"] == []
    assert client.delete(f"{API}/rules/{first['id']}", headers=bearer).status_code == 204
    assert client.get(f"{API}/rules/{first['id']}", headers=bearer).status_code == 404


def test_audit_log_filters_and_paginates(
    client: TestClient, bearer: dict[str, str], engine: Engine
):
    # Made in the database, not through the API, so the log holds only the seven below
    # (an API change would add its own admin_change event).
    with session_scope(engine) as session:
        domain = DomainConfig(name="acme", pf_base_url="https://pf.test", jira_base_url="https://j")
        session.add(domain)
        session.flush()
        domain_id = domain.id
    old = datetime.now(UTC) - timedelta(days=3)
    with session_scope(engine) as session:
        for index in range(7):
            session.add(
                SyncEvent(
                    domain_id=domain_id,
                    pf_task_id=index,
                    jira_issue_key=f"HR-{index}",
                    event_type="created" if index % 2 else "failed",
                    reason="r",
                    created_at=old if index == 0 else datetime.now(UTC),
                )
            )
    page = client.get(f"{API}/events", params={"page_size": 3, "page": 2}, headers=bearer).json()
    assert page["total"] == 7 and len(page["items"]) == 3 and page["page"] == 2
    by_issue = client.get(f"{API}/events", params={"jira_issue_key": "hr-3"}, headers=bearer).json()
    assert [e["pf_task_id"] for e in by_issue["items"]] == [3]
    failed = client.get(f"{API}/events", params={"event_type": "failed"}, headers=bearer).json()
    assert failed["total"] == 4
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = client.get(f"{API}/events", params={"since": since}, headers=bearer).json()
    assert recent["total"] == 6


def test_dead_letters_discard_and_replay(
    client: TestClient, bearer: dict[str, str], engine: Engine
):
    domain_id = _domain(client, bearer)["id"]
    with session_scope(engine) as session:
        for _ in range(2):
            session.add(DeadLetter(domain_id=domain_id, operation="create", error_message="400"))
    listed = client.get(f"{API}/dead-letters", headers=bearer).json()
    assert listed["total"] == 2
    replay = client.post(f"{API}/dead-letters/1/replay", headers=bearer)
    assert replay.status_code == 202 and "queued" in replay.json()["message"]
    again = client.post(f"{API}/dead-letters/1/replay", headers=bearer).json()
    assert "already queued" in again["message"]
    assert (
        client.post(f"{API}/dead-letters/2/discard", headers=bearer).json()["state"] == "discarded"
    )
    assert client.get(f"{API}/dead-letters", headers=bearer).json()["total"] == 1
    assert client.post(f"{API}/dead-letters/2/replay", headers=bearer).status_code == 409


def test_tick_and_sweep_enqueue_one_job_per_domain(client: TestClient, bearer: dict[str, str]):
    domain_id = _domain(client, bearer)["id"]
    first = client.post(f"{API}/domains/{domain_id}/tick", headers=bearer).json()
    assert first["message"].startswith("Tick queued")
    assert (
        "already"
        in client.post(f"{API}/domains/{domain_id}/tick", headers=bearer).json()["message"]
    )
    assert client.post(f"{API}/domains/{domain_id}/sweep", headers=bearer).status_code == 202
    assert client.post(f"{API}/domains/99/tick", headers=bearer).status_code == 404


def test_openapi_schema_and_docs_need_authentication(client: TestClient, bearer: dict[str, str]):
    assert client.get(f"{API}/openapi.json").status_code == 401
    schema = client.get(f"{API}/openapi.json", headers=bearer).json()
    assert f"{API}/domains" in schema["paths"]
    # Routes of other admin modules are documented too, not only json_api's.
    assert f"{API}/domains/{{domain}}/webhook-secret" in schema["paths"]
    assert client.get(f"{API}/docs", follow_redirects=False).status_code == 303
