"""Issuing and rotating a domain's webhook secret from the API, the UI and the CLI.

Each surface shows the secret once; afterwards only ``webhook_secret_set`` says
it exists, and a delivery signed with it is accepted on the domain's own URL.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway.api.signature import sign
from gateway.cli import app as cli
from gateway.settings import Settings
from tests.gateway.admin.conftest import Admin
from tests.gateway.api.webhook_helpers import encode, issue_event

API = "/api/v1/admin"
DOMAIN = {
    "name": "acme",
    "pf_base_url": "https://pf.test/",
    "jira_base_url": "https://acme.atlassian.net",
}


def _deliver(client: TestClient, path: str, secret: str, identifier: str) -> int:
    body = encode(issue_event(identifier))
    headers = {
        "X-Hub-Signature": sign(body=body, secret=secret),
        "X-Atlassian-Webhook-Identifier": identifier,
    }
    return client.post(path, content=body, headers=headers).status_code


def test_api_issues_once_rotates_and_never_returns_it_again(
    client: TestClient, bearer: dict[str, str]
) -> None:
    created = client.post(f"{API}/domains", json=DOMAIN, headers=bearer).json()
    assert created["webhook_secret_set"] is False
    assert created["webhook_path"] == f"/api/v1/webhooks/jira/{created['public_id']}"
    url = f"{API}/domains/acme/webhook-secret"

    issued = client.post(url, headers=bearer)  # no body: issue, do not rotate
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    first = issued.json()
    assert first["webhook_path"] == created["webhook_path"]
    assert first["previous_secret_accepted"] is False
    assert _deliver(client, first["webhook_path"], first["secret"], "1") == 202

    again = client.post(url, json={}, headers=bearer)
    assert again.status_code == 409 and "rotate" in again.json()["detail"]
    rotated = client.post(url, json={"rotate": True}, headers=bearer).json()
    assert rotated["previous_secret_accepted"] is True
    assert rotated["secret"] != first["secret"]

    shown = client.get(f"{API}/domains/acme", headers=bearer)
    assert shown.json()["webhook_secret_set"] is True
    assert shown.json()["webhook_secret_previous_set"] is True
    listing = client.get(f"{API}/domains", headers=bearer).text
    for secret in (first["secret"], rotated["secret"]):
        assert secret not in shown.text and secret not in listing
    assert client.post(url, json={"rotate": True}).status_code == 401


def test_ui_button_shows_the_secret_once(admin: Admin, bearer: dict[str, str]) -> None:
    client = admin.client
    domain = client.post(f"{API}/domains", json=DOMAIN, headers=bearer).json()
    page = client.get(f"/admin/domains/{domain['id']}")
    assert "Generate webhook secret" in page.text and domain["webhook_path"] in page.text

    shown = client.post(
        f"/admin/domains/{domain['id']}/webhook-secret", data={"csrf_token": admin.csrf}
    )
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    secret = shown.text.split('id="webhook-secret">')[1].split("<")[0]
    assert len(secret) >= 40
    assert f"http://testserver{domain['webhook_path']}" in shown.text
    assert _deliver(client, domain["webhook_path"], secret, "7") == 202

    after = client.get(f"/admin/domains/{domain['id']}")
    assert secret not in after.text and "Rotate webhook secret" in after.text
    refused = client.post(f"/admin/domains/{domain['id']}/webhook-secret")
    assert refused.status_code == 403  # no CSRF token


@pytest.fixture
def run(settings: Settings, engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_cli_prints_the_secret_once_and_rotates_on_request(run) -> None:
    added = run(
        "domain", "add", "acme", "--pf-base-url", "https://pf.test",
        "--jira-base-url", "https://acme.atlassian.net",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    first = run("domain", "webhook-secret", "acme", "--json")
    assert first.exit_code == 0, first.output
    issued = json.loads(first.stdout)
    assert issued["webhook_path"].startswith("/api/v1/webhooks/jira/")

    again = run("domain", "webhook-secret", "acme")
    assert again.exit_code == 1 and "rotate" in again.output
    rotated = run("domain", "webhook-secret", "acme", "--rotate")
    assert rotated.exit_code == 0
    assert "previous secret stays accepted" in rotated.stdout
    assert issued["secret"] not in rotated.stdout
    shown = run("domain", "show", "acme", "--json")
    assert issued["secret"] not in shown.stdout
    assert json.loads(shown.stdout)["webhook_secret_set"] is True
