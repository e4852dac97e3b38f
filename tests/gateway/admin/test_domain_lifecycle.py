"""A domain's whole life: update every kind of setting, delete it (CLI, API and UI),
and the warning for a PeopleForce base URL without its API path."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from gateway.admin.base_urls import pf_base_url_warning
from gateway.admin.connection import check_connection
from gateway.api.admin.forms import domain_form_values
from gateway.cli import app
from gateway.models import DeadLetter, EventType, FieldMapping, MappingKind, RoutingRule, SyncState
from gateway.settings import Settings
from gateway.sync.conditions import OP_SEMANTICS, Condition, Op, condition_matches
from tests.gateway.admin.conftest import Admin
from tests.world import World

PF_URL = "https://app.peopleforce.io/api/public/v3"


@pytest.fixture
def run(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("GATEWAY_NEW_PF_API_KEY", raising=False)
    monkeypatch.delenv("GATEWAY_NEW_JIRA_API_TOKEN", raising=False)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(app, list(args), input=stdin)

    return invoke


def shown(run, ref: str = "acme") -> dict:
    result = run("domain", "show", ref, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_base_url_warning_names_the_missing_api_path() -> None:
    assert pf_base_url_warning(PF_URL) is None
    assert pf_base_url_warning("https://acme.peopleforce.io/api/public/v2/") is None
    warning = pf_base_url_warning("https://app.peopleforce.io")
    assert warning is not None and "/api/public/v3" in warning and "404" in warning


def test_cli_update_changes_every_kind_of_setting_and_reads_secrets_from_stdin(run) -> None:
    added = run(
        "domain", "add", "acme", "--pf-base-url", "https://app.peopleforce.io",
        "--jira-base-url", "https://acme.atlassian.net", "--fallback-project", "HR",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "warning:" in added.output and "/api/public/v3" in added.output
    updated = run(
        "domain", "update", "acme", "--pf-base-url", PF_URL, "--pf-api-key-stdin",
        "--jira-api-token-stdin", "--jira-email", "bot@acme.test", "--poll-interval", "30",
        "--paused", "--fallback-project", "", "--sync-since", "2026-01-02T03:04:05",
        "--reopen-policy", "incomplete", "--sweep-time", "04:30", "--tracking-label", "HRSync",
        stdin="new-pf-secret\nnew-jira-secret\n",
    )  # fmt: skip
    assert updated.exit_code == 0, updated.output
    assert "warning" not in updated.output and "secret" not in updated.output
    after = shown(run)
    assert after["pf_base_url"] == PF_URL and after["warnings"] == []
    assert after["pf_api_key_set"] and after["jira_api_token_set"]
    assert (after["jira_email"], after["poll_interval_seconds"]) == ("bot@acme.test", 30)
    assert after["is_active"] is False and after["fallback_project_key"] is None
    assert after["sync_since"].startswith("2026-01-02T03:04:05")
    assert (after["reopen_policy"], after["sweep_time"]) == ("incomplete", "04:30")
    assert after["tracking_label"] == "HRSync"
    assert run("domain", "update", "acme", "--clear-sync-since", "--active").exit_code == 0
    cleared = shown(run)
    assert cleared["sync_since"] is None and cleared["is_active"] is True
    renamed = run("domain", "update", "acme", "--name", "acme-hr")
    assert renamed.exit_code == 0 and shown(run, "acme-hr")["id"] == after["id"]


def test_cli_update_refuses_bad_input_with_one_line(run) -> None:
    assert run("domain", "add", "acme", "--pf-base-url", PF_URL, "--jira-base-url",
               "https://j.test").exit_code == 0  # fmt: skip
    nothing = run("domain", "update", "acme")
    assert nothing.exit_code == 1 and "nothing to change" in nothing.output
    bad = run("domain", "update", "acme", "--poll-interval", "1")
    assert bad.exit_code == 1 and "poll_interval_seconds" in bad.output
    unknown = run("domain", "update", "nope", "--poll-interval", "60")
    assert unknown.exit_code == 1 and "no domain named 'nope'" in unknown.output
    assert shown(run)["poll_interval_seconds"] != 1


def test_cli_update_of_where_credentials_go_needs_them_entered_again(run) -> None:
    """The CLI holds the same line as the API and the form: stored secrets never follow
    a changed base URL or account email to a new server."""
    added = run(
        "domain", "add", "acme", "--pf-base-url", PF_URL, "--jira-base-url",
        "https://acme.atlassian.net", "--jira-email", "bot@acme.test",
        "--pf-api-key-stdin", "--jira-api-token-stdin", stdin="pf-secret\njira-secret\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    before = shown(run)
    for change, needed in (
        (("--pf-base-url", "https://evil.test/api/public/v3"), "pf_api_key"),
        (("--jira-base-url", "https://evil.test"), "jira_api_token"),
        (("--jira-email", "attacker@evil.test"), "jira_api_token"),
    ):
        refused = run("domain", "update", "acme", *change)
        assert refused.exit_code == 1, (change, refused.output)
        assert needed in refused.output, refused.output
        assert len(refused.output.strip().splitlines()) == 1, refused.output
    assert shown(run) == before
    moved = run(
        "domain", "update", "acme", "--pf-base-url", "https://acme.peopleforce.io/api/public/v3",
        "--pf-api-key-stdin", stdin="pf-secret-2\n",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.output
    assert shown(run)["pf_base_url"] == "https://acme.peopleforce.io/api/public/v3"


def test_update_and_rule_add_help_say_how_secrets_and_operators_work(run) -> None:
    update_help = " ".join(run("domain", "update", "--help").output.split())
    assert "--pf-api-key-stdin" in update_help and "GATEWAY_NEW_PF_API_KEY" in update_help
    rule_help = " ".join(run("rule", "add", "--help").output.split())
    for op in ("equals", "not_equals", "contains", "regex", "in", "is_empty", "is_not_empty"):
        assert op in rule_help
    assert "case-insensitive" in rule_help and "case-sensitive" in rule_help


async def test_cli_delete_asks_first_removes_the_domain_and_leaves_jira_alone(
    world: World, run
) -> None:
    world.add_domain()
    rule_id = world.add_rule(
        "Laptops to IT", [{"path": "title", "op": "contains", "value": "laptop"}],
        project="IT", mappings=(("summary", MappingKind.TEMPLATE, "[IT] {{title}}"),),
    )  # fmt: skip
    world.pf.create_task("Order laptop")
    world.pf.create_task("Welcome lunch")
    await world.tick()
    issues_before = world.issues()
    assert len(issues_before) == 2 and len(world.states()) == 2
    with Session(world.engine) as session:
        session.add(DeadLetter(domain_id=world.domain_id, operation="create", error_message="x"))
        session.commit()
    world.reset_request_logs()

    declined = run("domain", "delete", "acme", stdin="n\n")
    assert declined.exit_code == 1 and "nothing deleted" in declined.output
    text = " ".join(declined.output.split())
    assert "1 routing rules and 2 task-to-issue mappings" in text and "1 dead letters" in text
    assert "the issues in Jira are left alone" in text and "audit log keeps" in text
    assert world.states() and shown(run)["name"] == "acme"

    deleted = run("domain", "delete", "acme", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert f"deleted domain {world.domain_id} (acme)" in deleted.output
    assert run("domain", "show", "acme").exit_code == 1
    with Session(world.engine) as session:
        assert session.exec(select(RoutingRule)).all() == []
        assert session.exec(select(FieldMapping).where(FieldMapping.rule_id == rule_id)).all() == []
        assert session.exec(select(SyncState)).all() == []
        assert session.exec(select(DeadLetter)).all() == []
    kinds = [e.event_type for e in world.events()]
    assert kinds.count(EventType.CREATED) == 2
    # the deletion with its counts, and the admin audit of who deleted what
    assert set(kinds[-2:]) == {EventType.DOMAIN_DELETED, EventType.ADMIN_CHANGE}
    assert world.jira_requests() == 0 and world.pf_faults.requests == []
    assert world.issues() == issues_before


def test_api_delete_answers_what_it_removed(client: TestClient, bearer: dict[str, str]) -> None:
    body = {
        "name": "acme",
        "pf_base_url": "https://app.peopleforce.io",
        "jira_base_url": "https://j.test",
    }
    created = client.post("/api/v1/admin/domains", json=body, headers=bearer)
    assert created.status_code == 201
    assert "/api/public/v3" in created.json()["warnings"][0]
    rule = {"name": "All to HR", "target_project_key": "HR", "target_issue_type": "Task"}
    assert (
        client.post("/api/v1/admin/domains/acme/rules", json=rule, headers=bearer).status_code
        == 201
    )
    deleted = client.delete("/api/v1/admin/domains/acme", headers=bearer)
    assert deleted.status_code == 200, deleted.text
    answer = deleted.json()
    assert (answer["deleted"], answer["name"], answer["rules"], answer["mappings"]) == (
        True,
        "acme",
        1,
        0,
    )
    assert any("left alone" in line for line in answer["consequences"])
    assert client.get("/api/v1/admin/domains/acme", headers=bearer).status_code == 404
    assert client.delete("/api/v1/admin/domains/acme", headers=bearer).status_code == 404


def test_ui_delete_shows_the_consequences_then_deletes(admin: Admin) -> None:
    form = domain_form_values() | {
        "name": "acme",
        "pf_base_url": "https://app.peopleforce.io",
        "jira_base_url": "https://j.test",
        "csrf_token": admin.csrf,
    }
    created = admin.client.post("/admin/domains", data=form, follow_redirects=True)
    assert created.status_code == 200
    assert "Warning: the PeopleForce base URL" in created.text
    assert "/admin/domains/1/delete" in created.text
    page = admin.client.get("/admin/domains/1/delete")
    assert page.status_code == 200 and "the issues in Jira are left alone" in page.text
    refused = admin.client.post("/admin/domains/1/delete", data={})
    assert refused.status_code == 403
    done = admin.client.post("/admin/domains/1/delete", data={"csrf_token": admin.csrf})
    assert done.status_code == 200 and "Domain deleted" in done.text
    assert admin.client.get("/admin/domains/1").status_code == 404


def test_operator_help_covers_every_operator_and_states_what_the_code_does() -> None:
    assert set(OP_SEMANTICS) == set(Op)
    task = {"title": "Order LAPTOP", "labels": ["IT", "hr"]}
    assert "case-insensitive" in OP_SEMANTICS[Op.CONTAINS]
    assert condition_matches(task, Condition("title", "contains", "laptop"))
    assert condition_matches(task, Condition("labels", "contains", "HR"))
    assert "case-sensitive unless" in OP_SEMANTICS[Op.REGEX]
    assert not condition_matches(task, Condition("title", "regex", "laptop"))
    assert condition_matches(task, Condition("title", "regex", "(?i)laptop"))


async def test_connection_test_and_gateway_check_warn_about_the_missing_api_path(
    world: World, run, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_domain(pf_base_url=world.pf_server.url)  # the fake's root alias answers
    result = await check_connection(world.settings, world.domain())
    assert result.ok, result.message
    assert "Warning: the PeopleForce base URL" in result.message
    assert result.details is not None and "/api/public/v3" in result.details["warnings"][0]
    world.update_domain(pf_base_url=world.pf_server.url + "/api/public/v3")
    with_path = await check_connection(world.settings, world.domain())
    assert with_path.details is not None and "warnings" not in with_path.details
    world.update_domain(pf_base_url=world.pf_server.url)
    monkeypatch.setenv("GATEWAY_REDIS_URL", settings.redis_url or "")
    checked = run("check")
    assert checked.exit_code == 0, checked.output
    assert "domain acme: warning: the PeopleForce base URL" in " ".join(checked.output.split())
