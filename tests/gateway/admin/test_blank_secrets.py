"""A blank secret is not a secret: it never re-enters a credential for a new destination
and never wipes the stored one, through the API, the UI form or the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from gateway.api.admin.forms import DOMAIN_TEXT_FIELDS
from gateway.cli import app as cli
from gateway.models import DomainConfig
from gateway.settings import Settings
from tests.gateway.admin.conftest import Admin

DOMAIN = "/api/v1/admin/domains/bravo"
ELSEWHERE = "http://127.0.0.1:19190"
PF_KEY = "pf-key-stored-0b1c"
JIRA_TOKEN = "jira-token-stored-9d2e"
NEEDS_TOKEN = "changing jira_base_url requires entering the Jira API token again"


@pytest.fixture
def bravo(admin: Admin) -> dict:
    body = {
        "name": "bravo",
        "pf_base_url": "https://pf.test",
        "jira_base_url": "https://bravo.atlassian.test",
        "jira_email": "bot@bravo.test",
        "pf_api_key": PF_KEY,
        "jira_api_token": JIRA_TOKEN,
    }
    created = admin.client.post("/api/v1/admin/domains", json=body, headers=admin.headers())
    assert created.status_code == 201, created.text
    return created.json()


def _stored(engine: Engine, domain_id: int) -> DomainConfig:
    with Session(engine) as session:
        found = session.get(DomainConfig, domain_id)
        assert found is not None
        return found


@pytest.mark.parametrize("blank", ["   ", "", "\t\n"])
def test_a_new_jira_site_with_a_blank_token_is_refused(
    admin: Admin, bravo: dict, engine: Engine, blank: str
) -> None:
    refused = admin.client.patch(
        DOMAIN, json={"jira_base_url": ELSEWHERE, "jira_api_token": blank}, headers=admin.headers()
    )
    assert refused.status_code == 422, refused.text
    assert NEEDS_TOKEN in refused.json()["detail"]
    stored = _stored(engine, bravo["id"])
    assert stored.jira_base_url == bravo["jira_base_url"] and stored.jira_api_token == JIRA_TOKEN


def test_a_blank_secret_alone_keeps_the_stored_one(
    admin: Admin, bravo: dict, engine: Engine
) -> None:
    kept = admin.client.patch(
        DOMAIN, json={"jira_api_token": "   ", "pf_api_key": " "}, headers=admin.headers()
    )
    assert kept.status_code == 200, kept.text
    stored = _stored(engine, bravo["id"])
    assert stored.jira_api_token == JIRA_TOKEN and stored.pf_api_key == PF_KEY
    # A real new token with the move still goes through.
    moved = admin.client.patch(
        DOMAIN, json={"jira_base_url": ELSEWHERE, "jira_api_token": "new"}, headers=admin.headers()
    )
    assert moved.status_code == 200, moved.text
    assert _stored(engine, bravo["id"]).jira_api_token == "new"


def test_the_form_treats_a_blank_key_as_not_given(
    admin: Admin, bravo: dict, engine: Engine
) -> None:
    form = {name: str(bravo[name] or "") for name in DOMAIN_TEXT_FIELDS}
    form.update(csrf_token=admin.csrf, is_active="1", pf_api_key="   ")
    kept = admin.client.post(f"/admin/domains/{bravo['id']}", data=form, follow_redirects=False)
    assert kept.status_code == 303, kept.text
    assert _stored(engine, bravo["id"]).pf_api_key == PF_KEY
    form.update(pf_base_url=ELSEWHERE)
    refused = admin.client.post(f"/admin/domains/{bravo['id']}", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert "requires entering the PeopleForce API key again" in refused.text
    stored = _stored(engine, bravo["id"])
    assert stored.pf_base_url == "https://pf.test" and stored.pf_api_key == PF_KEY


def test_the_cli_refuses_a_move_with_a_blank_token(
    settings: Settings, engine: Engine, bravo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(
        cli,
        ["domain", "update", "bravo", "--jira-base-url", ELSEWHERE, "--jira-api-token-stdin"],
        input="   \n",
    )
    assert result.exit_code == 1, result.output
    assert NEEDS_TOKEN in result.output and len(result.output.strip().splitlines()) == 1
    stored = _stored(engine, bravo["id"])
    assert stored.jira_base_url == bravo["jira_base_url"] and stored.jira_api_token == JIRA_TOKEN
