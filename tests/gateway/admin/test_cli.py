"""`gateway admin|domain|rule` commands and their error paths."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.models import RuleAction
from gateway.settings import Settings
from tests.world import World


@pytest.fixture
def run(settings: Settings, engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(app, list(args), input=stdin)

    return invoke


def add_acme(run, jira_base_url: str, *options: str, stdin: str | None = None):
    """``gateway domain add acme``, PeopleForce at https://pf.test, Jira at ``jira_base_url``."""
    return run(
        "domain",
        "add",
        "acme",
        "--pf-base-url",
        "https://pf.test",
        "--jira-base-url",
        jira_base_url,
        *options,
        stdin=stdin,
    )


def test_admin_user_and_token(run):
    created = run("admin", "create-user", "Alice", "--password-stdin", stdin="a long password!\n")
    assert created.exit_code == 0, created.output
    duplicate = run("admin", "create-user", "alice", "--password-stdin", stdin="a long password!\n")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    weak = run("admin", "create-user", "bob", "--password-stdin", stdin="short\n")
    assert weak.exit_code == 1 and "at least 12" in weak.output
    token = run("admin", "create-token", "ci")
    assert token.exit_code == 0 and token.stdout.strip().startswith("gw_")


def test_accounts_are_listed_repassworded_and_removed_but_never_the_last_admin(run, engine):
    from gateway.admin.accounts import authenticate

    for name in ("alice", "bob"):
        made = run("admin", "create-user", name, "--password-stdin", stdin="a long password!\n")
        assert made.exit_code == 0, made.output
    run("admin", "create-token", "ci", "--role", "viewer")
    listed = json.loads(run("admin", "list", "--json").stdout)
    assert [u["username"] for u in listed["users"]] == ["alice", "bob"]
    [token] = listed["tokens"]
    assert token["name"] == "ci" and token["role"] == "viewer" and token["revoked_at"] is None
    assert run("admin", "revoke-token", str(token["id"])).exit_code == 0
    assert "revoked" in run("admin", "list").stdout

    changed = run("admin", "set-password", "Bob", "--password-stdin", stdin="another long one!\n")
    assert changed.exit_code == 0, changed.output
    assert authenticate(engine, "bob", "a long password!") is None
    assert authenticate(engine, "bob", "another long one!") is not None

    assert run("admin", "delete-user", "alice").exit_code == 0
    last = run("admin", "delete-user", "bob")
    assert last.exit_code == 1 and "last admin" in last.output
    missing = run("admin", "delete-user", "carol")
    assert missing.exit_code == 1 and "no user 'carol'" in missing.output
    assert [u["username"] for u in json.loads(run("admin", "list", "--json").stdout)["users"]] == [
        "bob"
    ]


def test_domain_commands_read_secrets_from_stdin_and_never_print_them(run):
    added = add_acme(
        run,
        "https://acme.atlassian.net",
        "--jira-email",
        "ops@acme.test",
        "--pf-api-key-stdin",
        "--jira-api-token-stdin",
        "--fallback-project",
        "HR",
        stdin="pf-secret-value\njira-secret-value\n",
    )
    assert added.exit_code == 0, added.output
    listed = run("domain", "list", "--json")
    data = json.loads(listed.stdout)
    assert data[0]["name"] == "acme" and data[0]["pf_api_key_set"] and data[0]["jira_api_token_set"]
    shown = run("domain", "show", "acme", "--json")
    assert "secret-value" not in shown.output + listed.output
    assert run("domain", "pause", "acme").exit_code == 0
    assert json.loads(run("domain", "show", "1", "--json").stdout)["is_active"] is False
    assert run("domain", "resume", "acme").exit_code == 0
    unknown = run("domain", "show", "nope")
    assert unknown.exit_code == 1
    assert "no domain named 'nope' (see `gateway domain list`)" in unknown.output
    bad = run("domain", "add", "x", "--pf-base-url", "nope", "--jira-base-url", "https://j.test")
    assert bad.exit_code == 1 and "pf_base_url" in bad.output


def test_rule_commands(run):
    add_acme(run, "https://j.test")
    first = run(
        "rule",
        "add",
        "acme",
        "--name",
        "Onboarding",
        "--project",
        "HR",
        "--when",
        "type equals onboarding",
        "--map",
        "summary=TEMPLATE:[HR] {{title}}",
    )
    assert first.exit_code == 0, first.output
    assert run("rule", "add", "acme", "--name", "Drop", "--action", "DROP").exit_code == 0
    rules = json.loads(run("rule", "list", "acme", "--json").stdout)
    assert [r["name"] for r in rules] == ["Onboarding", "Drop"]
    assert rules[0]["conditions"] == [{"path": "type", "op": "equals", "value": "onboarding"}]
    invalid = run("rule", "add", "acme", "--name", "x", "--when", "title regex (")
    assert invalid.exit_code == 1 and "invalid regex" in invalid.output
    assert run("rule", "delete", str(rules[0]["id"])).exit_code == 0
    missing = run("rule", "delete", "99")
    assert missing.exit_code == 1 and "no routing rule with id 99" in missing.output
    for group in ("admin", "domain", "rule"):
        assert run(group, "--help").exit_code == 0


def test_connection_preview_and_rule_check_against_the_fakes(run, world: World):
    domain_id = world.add_domain()
    world.add_rule(
        "drop private",
        [{"path": "title", "op": "contains", "value": "[private]"}],
        action=RuleAction.DROP,
    )
    rule_id = world.add_rule("to IT", [], project="IT", issue_type="Task", priority=200)
    world.pf.create_task("[private] salary review")
    world.pf.create_task("Order laptop")

    tested = run("domain", "test", "acme", "--json")
    assert tested.exit_code == 0, tested.output
    assert json.loads(tested.stdout)["details"]["jira"]["status"] == "ok"

    preview = run("domain", "preview", str(domain_id), "--json")
    assert preview.exit_code == 0, preview.output
    actions = {
        row["title"]: (row["action"], row["project_key"]) for row in json.loads(preview.stdout)
    }
    assert actions == {"[private] salary review": ("DROP", None), "Order laptop": ("SYNC", "IT")}
    assert world.issues() == []

    assert run("rule", "check", str(rule_id)).exit_code == 0
    world.jira.require_field("IT", "Task", "customfield_10050", name="Cost centre")
    failed = run("rule", "check", str(rule_id))
    assert failed.exit_code == 1 and "Cost centre" in failed.output

    world.pf_faults.partition("refuse")
    down = run("domain", "test", "acme")
    assert down.exit_code == 1 and "PeopleForce: unreachable" in down.output
