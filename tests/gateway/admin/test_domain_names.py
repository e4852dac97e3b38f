"""Domain names are one URL path segment: the API, the UI and the CLI accept only
letters, digits, '.', '_' and '-' for a new or renamed domain, with one message."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.cli import app as cli
from gateway.db import session_scope
from gateway.models import DomainConfig
from gateway.settings import Settings
from tests.gateway.admin.conftest import Admin

API = "/api/v1/admin/domains"
RULE = "may contain only letters, digits, '.', '_' and '-'"
BAD_NAMES = ["a/b", "../alpha", "x?y=1", "a b", "-lead", "café", "#frag"]
GOOD = {"pf_base_url": "https://pf.test", "jira_base_url": "https://j.atlassian.test"}


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_api_refuses_a_name_that_is_no_path_segment(
    client: TestClient, bearer: dict[str, str], name: str
) -> None:
    refused = client.post(API, json={"name": name, **GOOD}, headers=bearer)
    assert refused.status_code == 422, refused.text
    assert RULE in refused.text
    assert client.get(API, headers=bearer).json() == []


def test_renames_follow_the_rule_and_good_names_are_addressable(
    client: TestClient, bearer: dict[str, str]
) -> None:
    for name in ("acme", "fleet-01", "Acme.EU_2"):
        made = client.post(API, json={"name": name, **GOOD}, headers=bearer)
        assert made.status_code == 201, made.text
        assert client.get(f"{API}/{name}", headers=bearer).json()["name"] == name
    refused = client.patch(f"{API}/acme", json={"name": "acme/eu"}, headers=bearer)
    assert refused.status_code == 422 and RULE in refused.text
    assert client.get(f"{API}/acme", headers=bearer).status_code == 200


def test_an_existing_odd_name_is_left_alone(
    client: TestClient, bearer: dict[str, str], engine: Engine
) -> None:
    with session_scope(engine) as session:
        session.add(DomainConfig(name="old name", **GOOD))
    kept = client.patch(f"{API}/1", json={"poll_interval_seconds": 30}, headers=bearer)
    assert kept.status_code == 200, kept.text
    assert kept.json()["name"] == "old name"


def test_the_form_and_the_cli_give_the_same_one_line_refusal(
    admin: Admin, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = {"csrf_token": admin.csrf, "name": "a/b", **GOOD}
    page = admin.client.post("/admin/domains", data=form, follow_redirects=False)
    assert page.status_code == 422 and RULE in html.unescape(page.text)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    added = CliRunner().invoke(
        cli,
        [
            "domain",
            "add",
            "x?y=1",
            "--pf-base-url",
            GOOD["pf_base_url"],
            "--jira-base-url",
            GOOD["jira_base_url"],
        ],
    )
    assert added.exit_code == 1 and RULE in added.output
    assert len(added.output.strip().splitlines()) == 1, added.output
