"""``gateway admin|domain|rule ...``: the admin surface for terminals and scripts.

Secrets are read from stdin or environment variables, never only from the
command line, where they would land in shell history and ``ps`` output.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine, Generator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import Session

from gateway import accounts, admin_actions, admin_service
from gateway.admin_schemas import ActionResult, DomainCreate, DomainOut, RuleIn, RuleOut
from gateway.models import DeletionPolicy, ReopenPolicy, RuleAction
from gateway.settings import Settings

admin_app = typer.Typer(help="Admin accounts and API tokens.", no_args_is_help=True)
domain_app = typer.Typer(
    help="Sync domains (one PeopleForce account + one Jira site).", no_args_is_help=True
)
rule_app = typer.Typer(help="Routing rules of a domain.", no_args_is_help=True)

PF_KEY_ENV = "GATEWAY_NEW_PF_API_KEY"
JIRA_TOKEN_ENV = "GATEWAY_NEW_JIRA_API_TOKEN"


@contextmanager
def _db() -> Generator[Session]:
    """A transaction on the configured, up-to-date database; errors become one line."""
    from gateway.cli import fail, prepare_database, settings_or_exit
    from gateway.db import make_engine, session_scope

    settings = settings_or_exit()
    prepare_database(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(engine) as session:
            yield session
    except (admin_service.NotFound, admin_service.Conflict, accounts.AccountError) as error:
        raise fail(str(error)) from None
    except admin_service.RuleInvalid as error:
        raise fail("invalid rule: " + "; ".join(error.problems)) from None
    except ValidationError as error:
        raise fail(_validation_line(error)) from None
    finally:
        engine.dispose()


def _run_action(action: Callable[[Engine, Settings], Coroutine[Any, Any, Any]]) -> Any:
    """Run one admin action (connection test, rule check, preview) against the database."""
    from gateway.cli import fail, prepare_database, settings_or_exit
    from gateway.clients import UpstreamError
    from gateway.db import make_engine

    settings = settings_or_exit()
    prepare_database(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        return asyncio.run(action(engine, settings))
    except admin_service.NotFound as error:
        raise fail(str(error)) from None
    except UpstreamError as error:
        raise fail(str(error)) from None
    finally:
        engine.dispose()


def _report(result: ActionResult, as_json: bool) -> None:
    """Print an action's outcome; a failed one exits 1 so scripts can branch on it."""
    if as_json:
        _print_json(result.model_dump(mode="json"))
    else:
        _out().print(result.message, highlight=False)
    if not result.ok:
        raise typer.Exit(1)


def _validation_line(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "input"
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _out() -> Console:
    """The shared console of gateway.cli (imported late: gateway.cli imports this module)."""
    from gateway.cli import out

    return out


# --- admin -------------------------------------------------------------------------------


@admin_app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name (case-insensitive).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first stdin line.")
    ] = False,
) -> None:
    """Create an admin who can sign in to the web UI."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _db() as session:
        user = accounts.create_user(session, username, password)
        name = user.username
    _out().print(f"created admin user {name}", highlight=False)


@admin_app.command("create-token")
def create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'terraform'.")],
) -> None:
    """Create an API token for the JSON admin API; it is printed once, store it now."""
    with _db() as session:
        token, plaintext = accounts.create_api_token(session, name)
        token_id = token.id
    typer.echo(plaintext)
    typer.echo(f"token {token_id} ({name}) created; it cannot be shown again", err=True)


@admin_app.command("revoke-token")
def revoke_token(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token; requests using it are refused from now on."""
    with _db() as session:
        accounts.revoke_api_token(session, token_id)
    _out().print(f"token {token_id} revoked")


# --- domains -----------------------------------------------------------------------------


def _read_secrets(pf_stdin: bool, jira_stdin: bool) -> tuple[str | None, str | None]:
    """Stdin lines (PeopleForce key first) win over the GATEWAY_NEW_* environment variables."""
    pf_key = os.environ.get(PF_KEY_ENV) or None
    jira_token = os.environ.get(JIRA_TOKEN_ENV) or None
    if pf_stdin:
        pf_key = sys.stdin.readline().rstrip("\r\n") or None
    if jira_stdin:
        jira_token = sys.stdin.readline().rstrip("\r\n") or None
    return pf_key, jira_token


@domain_app.command("add")
def domain_add(
    name: Annotated[str, typer.Argument(help="Unique domain name.")],
    pf_base_url: Annotated[str, typer.Option(help="PeopleForce base URL.")],
    jira_base_url: Annotated[str, typer.Option(help="Jira Cloud site URL.")],
    jira_email: Annotated[str, typer.Option(help="Jira account email of the API token.")] = "",
    pf_api_key_stdin: Annotated[
        bool, typer.Option(help=f"Read the PeopleForce API key from stdin (else ${PF_KEY_ENV}).")
    ] = False,
    jira_api_token_stdin: Annotated[
        bool,
        typer.Option(
            help=f"Read the Jira API token from stdin, after the PeopleForce key "
            f"(else ${JIRA_TOKEN_ENV})."
        ),
    ] = False,
    poll_interval: Annotated[int, typer.Option(help="Seconds between ticks.")] = 60,
    max_concurrency: Annotated[int, typer.Option(help="Tasks processed in parallel.")] = 4,
    tracking_label: Annotated[
        str, typer.Option(help="Jira label on synced issues.")
    ] = "PeopleForce",
    property_key: Annotated[
        str, typer.Option(help="Jira entity property key.")
    ] = "pf_sync_metadata",
    fallback_project: Annotated[
        str | None, typer.Option(help="Project when no rule matches.")
    ] = None,
    fallback_issue_type: Annotated[
        str, typer.Option(help="Issue type when no rule sets one.")
    ] = "Task",
    sync_since: Annotated[
        datetime | None, typer.Option(help="Ignore tasks created before this time (UTC).")
    ] = None,
    reopen_policy: Annotated[
        ReopenPolicy, typer.Option(help="On a reopened Jira issue.")
    ] = ReopenPolicy.LEAVE,
    deletion_policy: Annotated[
        DeletionPolicy, typer.Option(help="On a deleted PeopleForce task.")
    ] = DeletionPolicy.LEAVE,
    sweep_time: Annotated[str, typer.Option(help="Daily sweep time, HH:MM UTC.")] = "03:00",
    sweep_window_hours: Annotated[int, typer.Option(help="Sweep look-back, hours (>= 24).")] = 24,
    paused: Annotated[bool, typer.Option(help="Create it paused.")] = False,
) -> None:
    """Add a sync domain."""
    pf_key, jira_token = _read_secrets(pf_api_key_stdin, jira_api_token_stdin)
    with _db() as session:
        data = DomainCreate.model_validate(
            {
                "name": name,
                "is_active": not paused,
                "poll_interval_seconds": poll_interval,
                "max_concurrency": max_concurrency,
                "pf_base_url": pf_base_url,
                "pf_api_key": pf_key,
                "jira_base_url": jira_base_url,
                "jira_email": jira_email,
                "jira_api_token": jira_token,
                "tracking_label": tracking_label,
                "property_key": property_key,
                "fallback_project_key": fallback_project,
                "fallback_issue_type": fallback_issue_type,
                "sync_since": sync_since,
                "reopen_policy": reopen_policy,
                "deletion_policy": deletion_policy,
                "sweep_time": sweep_time,
                "sweep_window_hours": sweep_window_hours,
            }
        )
        domain = admin_service.create_domain(session, data)
        shown = DomainOut.of(domain)
    _out().print(f"created domain {shown.id} ({shown.name})", highlight=False)


@domain_app.command("list")
def domain_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List domains (credentials shown only as set/not set)."""
    with _db() as session:
        domains = [DomainOut.of(d) for d in admin_service.list_domains(session)]
    if as_json:
        _print_json([d.model_dump(mode="json") for d in domains])
        return
    from rich.table import Table

    table = Table(show_header=True)
    for column in ("id", "name", "state", "peopleforce", "jira", "poll"):
        table.add_column(column)
    for d in domains:
        table.add_row(
            str(d.id),
            d.name,
            "active" if d.is_active else "paused",
            d.pf_base_url,
            d.jira_base_url,
            f"{d.poll_interval_seconds}s",
        )
    _out().print(table)


@domain_app.command("show")
def domain_show(
    domain: Annotated[str, typer.Argument(help="Domain id or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show one domain's configuration and state."""
    with _db() as session:
        shown = DomainOut.of(admin_service.find_domain(session, domain))
    if as_json:
        _print_json(shown.model_dump(mode="json"))
        return
    for key, value in shown.model_dump(mode="json").items():
        _out().print(f"{key}: {value}", highlight=False)


def _set_active(domain: str, active: bool) -> None:
    with _db() as session:
        found = admin_service.find_domain(session, domain)
        admin_service.set_domain_active(session, found, active)
        name = found.name
    _out().print(f"domain {name} {'resumed' if active else 'paused'}", highlight=False)


def _domain_id(domain: str) -> int:
    with _db() as session:
        return admin_service.find_domain(session, domain).id or 0


@domain_app.command("test")
def domain_test(
    domain: Annotated[str, typer.Argument(help="Domain id or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check the stored credentials with one read from PeopleForce and from Jira."""
    domain_id = _domain_id(domain)
    result = _run_action(
        lambda engine, settings: admin_actions.check_connection(engine, settings, domain_id)
    )
    _report(result, as_json)


@domain_app.command("preview")
def domain_preview(
    domain: Annotated[str, typer.Argument(help="Domain id or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Route the open PeopleForce tasks through the current rules; writes nothing."""
    domain_id = _domain_id(domain)
    rows: list[admin_actions.PreviewRow] = _run_action(
        lambda engine, settings: admin_actions.preview_routing(engine, settings, domain_id)
    )
    if as_json:
        _print_json([asdict(row) for row in rows])
        return
    from rich.table import Table

    table = Table(show_header=True)
    for column in ("task", "title", "rule", "target", "fields"):
        table.add_column(column)
    for row in rows:
        target = f"{row.project_key}/{row.issue_type}" if row.action == "SYNC" else row.action
        table.add_row(
            str(row.task_id),
            row.title,
            row.rule_name or "-",
            target,
            ", ".join(row.fields),
        )
    _out().print(table)


@domain_app.command("pause")
def domain_pause(domain: Annotated[str, typer.Argument(help="Domain id or name.")]) -> None:
    """Stop syncing a domain (takes effect on the next scheduler pass)."""
    _set_active(domain, False)


@domain_app.command("resume")
def domain_resume(domain: Annotated[str, typer.Argument(help="Domain id or name.")]) -> None:
    """Resume syncing a paused domain."""
    _set_active(domain, True)


# --- rules -------------------------------------------------------------------------------


def _parse_condition(text: str) -> dict[str, Any]:
    """'PATH OP [VALUE]'; VALUE is JSON when it parses (so lists work for 'in'), else text."""
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise typer.BadParameter(f"{text!r}: expected 'PATH OP [VALUE]'", param_hint="--when")
    value: Any = None
    if len(parts) == 3:
        try:
            value = json.loads(parts[2])
        except json.JSONDecodeError:
            value = parts[2]
    return {"path": parts[0], "op": parts[1], "value": value}


def _parse_mapping(text: str) -> dict[str, str]:
    """'FIELD=KIND:VALUE', e.g. 'summary=TEMPLATE:[HR] {{title}}'."""
    field, sep, rest = text.partition("=")
    kind, sep2, value = rest.partition(":")
    if not sep or not sep2 or not field.strip():
        raise typer.BadParameter(f"{text!r}: expected 'FIELD=KIND:VALUE'", param_hint="--map")
    return {"jira_field": field.strip(), "kind": kind.strip().upper(), "value": value}


@rule_app.command("add")
def rule_add(
    domain: Annotated[str, typer.Argument(help="Domain id or name.")],
    name: Annotated[str, typer.Option(help="Rule name.")],
    action: Annotated[RuleAction, typer.Option(help="SYNC or DROP.")] = RuleAction.SYNC,
    project: Annotated[str | None, typer.Option(help="Target Jira project key.")] = None,
    issue_type: Annotated[str | None, typer.Option(help="Target issue type.")] = None,
    when: Annotated[
        list[str] | None,
        typer.Option(help="Condition 'PATH OP [VALUE]', repeatable, all must match."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Field mapping 'FIELD=KIND:VALUE' (STATIC|PATH|TEMPLATE)."),
    ] = None,
    priority: Annotated[int | None, typer.Option(help="Lower runs first; default: last.")] = None,
    disabled: Annotated[bool, typer.Option(help="Create it disabled.")] = False,
) -> None:
    """Add a routing rule to a domain."""
    conditions = [_parse_condition(c) for c in when or []]
    mappings = [_parse_mapping(m) for m in map_ or []]
    with _db() as session:
        found = admin_service.find_domain(session, domain)
        data = RuleIn.model_validate(
            {
                "name": name,
                "enabled": not disabled,
                "priority": priority,
                "conditions": conditions,
                "action": action,
                "target_project_key": project,
                "target_issue_type": issue_type,
                "mappings": mappings,
            }
        )
        rule = admin_service.create_rule(session, found, data)
        rule_id, rule_priority = rule.id, rule.priority
    _out().print(f"created rule {rule_id} (priority {rule_priority})", highlight=False)


@rule_app.command("list")
def rule_list(
    domain: Annotated[str, typer.Argument(help="Domain id or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List a domain's rules in evaluation order."""
    with _db() as session:
        found = admin_service.find_domain(session, domain)
        rules = [
            RuleOut.of(r, m) for r, m in admin_service.rules_with_mappings(session, found.id or 0)
        ]
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rules])
        return
    from rich.table import Table

    table = Table(show_header=True)
    for column in ("id", "priority", "name", "enabled", "action", "target", "conditions"):
        table.add_column(column)
    for r in rules:
        target = f"{r.target_project_key or '-'}/{r.target_issue_type or '-'}"
        conditions = "; ".join(
            f"{c.get('path')} {c.get('op')} {c.get('value')}" for c in r.conditions
        )
        table.add_row(
            str(r.id),
            str(r.priority),
            r.name,
            "yes" if r.enabled else "no",
            r.action.value,
            target if r.action == RuleAction.SYNC else "",
            conditions or "always",
        )
    _out().print(table)


@rule_app.command("check")
def rule_check(
    rule_id: Annotated[int, typer.Argument(help="The rule's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check a rule's project, issue type and fields against Jira; the UI shows the result."""
    result = _run_action(
        lambda engine, settings: admin_actions.validate_rule_against_jira(engine, settings, rule_id)
    )
    _report(result, as_json)


@rule_app.command("delete")
def rule_delete(rule_id: Annotated[int, typer.Argument(help="The rule's id.")]) -> None:
    """Delete a routing rule."""
    with _db() as session:
        admin_service.delete_rule(session, admin_service.get_rule(session, rule_id))
    _out().print(f"rule {rule_id} deleted")
