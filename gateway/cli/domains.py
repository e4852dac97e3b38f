"""``gateway domain add|update|delete|list|show|test|preview|pause|resume|webhook-secret``:
sync domains.

A DOMAIN argument is an id when it is all digits and a name otherwise (the one
rule of ``gateway.admin.domains.find_domain``, used by the API and the UI too).
Secrets are read from stdin or environment variables, never only from the
command line, where they would land in shell history and ``ps`` output.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from gateway.admin import domains
from gateway.admin.base_urls import PF_BASE_URL_EXAMPLE
from gateway.admin.connection import check_connection
from gateway.admin.domains import DOMAIN_REF_HELP
from gateway.admin.preview import PreviewRow, preview_routing, sync_since_note
from gateway.admin.schemas import DomainCreate, DomainOut, DomainUpdate
from gateway.admin.webhook_secrets import issue_webhook_secret
from gateway.cli._common import database, fail, out, print_json, report, run_action
from gateway.models import DOMAIN_DEFAULTS, DeletionPolicy, DomainConfig, ReopenPolicy

app = typer.Typer(
    help="Sync domains (one PeopleForce account + one Jira site).", no_args_is_help=True
)

PF_KEY_ENV = "GATEWAY_NEW_PF_API_KEY"
JIRA_TOKEN_ENV = "GATEWAY_NEW_JIRA_API_TOKEN"

DomainRef = Annotated[str, typer.Argument(help=DOMAIN_REF_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _read_secrets(pf_stdin: bool, jira_stdin: bool) -> tuple[str | None, str | None]:
    """Stdin lines (PeopleForce key first) win over the GATEWAY_NEW_* environment variables."""
    pf_key = os.environ.get(PF_KEY_ENV) or None
    jira_token = os.environ.get(JIRA_TOKEN_ENV) or None
    if pf_stdin:
        pf_key = sys.stdin.readline().rstrip("\r\n") or None
    if jira_stdin:
        jira_token = sys.stdin.readline().rstrip("\r\n") or None
    return pf_key, jira_token


def load_domain(ref: str) -> DomainConfig:
    """The domain ``ref`` names, read in its own transaction (or one line and exit 1)."""
    with database() as session:
        return domains.find_domain(session, ref)


@app.command("add")
def domain_add(
    name: Annotated[str, typer.Argument(help="Unique domain name (not all digits).")],
    pf_base_url: Annotated[
        str, typer.Option(help=f"PeopleForce base URL, e.g. {PF_BASE_URL_EXAMPLE}.")
    ],
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
    poll_interval: Annotated[
        int, typer.Option(help="Seconds between ticks.")
    ] = DOMAIN_DEFAULTS.poll_interval_seconds,
    max_concurrency: Annotated[
        int, typer.Option(help="Tasks processed in parallel.")
    ] = DOMAIN_DEFAULTS.max_concurrency,
    tracking_label: Annotated[
        str, typer.Option(help="Jira label on synced issues.")
    ] = DOMAIN_DEFAULTS.tracking_label,
    property_key: Annotated[
        str, typer.Option(help="Jira entity property key.")
    ] = DOMAIN_DEFAULTS.property_key,
    fallback_project: Annotated[
        str | None, typer.Option(help="Project when no rule matches.")
    ] = None,
    fallback_issue_type: Annotated[
        str, typer.Option(help="Issue type when no rule sets one.")
    ] = DOMAIN_DEFAULTS.fallback_issue_type,
    sync_since: Annotated[
        datetime | None, typer.Option(help="Ignore tasks created before this time (UTC).")
    ] = None,
    reopen_policy: Annotated[
        ReopenPolicy, typer.Option(help="On a reopened Jira issue.")
    ] = DOMAIN_DEFAULTS.reopen_policy,
    deletion_policy: Annotated[
        DeletionPolicy, typer.Option(help="On a deleted PeopleForce task.")
    ] = DOMAIN_DEFAULTS.deletion_policy,
    sweep_time: Annotated[
        str, typer.Option(help="Daily sweep time, HH:MM UTC.")
    ] = DOMAIN_DEFAULTS.sweep_time,
    sweep_window_hours: Annotated[
        int, typer.Option(help="Sweep look-back, hours (>= 24).")
    ] = DOMAIN_DEFAULTS.sweep_window_hours,
    paused: Annotated[bool, typer.Option(help="Create it paused.")] = not DOMAIN_DEFAULTS.is_active,
) -> None:
    """Add a sync domain.

    Secrets never go on the command line: with both --pf-api-key-stdin and
    --jira-api-token-stdin, stdin holds two lines, the PeopleForce API key first and
    the Jira API token second (or set GATEWAY_NEW_PF_API_KEY / GATEWAY_NEW_JIRA_API_TOKEN).
    Without --sync-since every open task syncs, however old.
    """
    pf_key, jira_token = _read_secrets(pf_api_key_stdin, jira_api_token_stdin)
    with database() as session:
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
        shown = DomainOut.of(domains.create_domain(session, data))
    out.print(f"created domain {shown.id} ({shown.name})", highlight=False)
    _print_warnings(shown)


def _print_warnings(shown: DomainOut) -> None:
    for warning in shown.warnings:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


@app.command("update")
def domain_update(
    domain: DomainRef,
    name: Annotated[str | None, typer.Option(help="Rename the domain.")] = None,
    pf_base_url: Annotated[
        str | None, typer.Option(help=f"PeopleForce base URL, e.g. {PF_BASE_URL_EXAMPLE}.")
    ] = None,
    jira_base_url: Annotated[str | None, typer.Option(help="Jira Cloud site URL.")] = None,
    jira_email: Annotated[
        str | None, typer.Option(help="Jira account email of the API token.")
    ] = None,
    pf_api_key_stdin: Annotated[
        bool,
        typer.Option(
            help=f"Read a new PeopleForce API key from stdin (else ${PF_KEY_ENV}, if set)."
        ),
    ] = False,
    jira_api_token_stdin: Annotated[
        bool,
        typer.Option(
            help=f"Read a new Jira API token from stdin, after the PeopleForce key "
            f"(else ${JIRA_TOKEN_ENV}, if set)."
        ),
    ] = False,
    active: Annotated[
        bool | None, typer.Option("--active/--paused", help="Resume or pause syncing.")
    ] = None,
    poll_interval: Annotated[int | None, typer.Option(help="Seconds between ticks.")] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(help="Tasks processed in parallel.")
    ] = None,
    tracking_label: Annotated[str | None, typer.Option(help="Jira label on synced issues.")] = None,
    property_key: Annotated[str | None, typer.Option(help="Jira entity property key.")] = None,
    fallback_project: Annotated[
        str | None, typer.Option(help='Project when no rule matches ("" removes it).')
    ] = None,
    fallback_issue_type: Annotated[
        str | None, typer.Option(help="Issue type when no rule sets one.")
    ] = None,
    sync_since: Annotated[
        datetime | None, typer.Option(help="Ignore tasks created before this time (UTC).")
    ] = None,
    clear_sync_since: Annotated[
        bool, typer.Option(help="Remove sync_since: every open task syncs.")
    ] = False,
    reopen_policy: Annotated[
        ReopenPolicy | None, typer.Option(help="On a reopened Jira issue.")
    ] = None,
    deletion_policy: Annotated[
        DeletionPolicy | None, typer.Option(help="On a deleted PeopleForce task.")
    ] = None,
    sweep_time: Annotated[str | None, typer.Option(help="Daily sweep time, HH:MM UTC.")] = None,
    sweep_window_hours: Annotated[
        int | None, typer.Option(help="Sweep look-back, hours (>= 24).")
    ] = None,
) -> None:
    """Change a domain's settings; options not given keep their value.

    Secrets never go on the command line: --pf-api-key-stdin and
    --jira-api-token-stdin read one line each from stdin (PeopleForce key first),
    or set GATEWAY_NEW_PF_API_KEY / GATEWAY_NEW_JIRA_API_TOKEN.
    """
    pf_key, jira_token = _read_secrets(pf_api_key_stdin, jira_api_token_stdin)
    given = {
        "name": name,
        "is_active": active,
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
    changes: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if clear_sync_since:
        changes["sync_since"] = None
    if not changes:
        raise fail("nothing to change: give at least one option (see --help)")
    with database() as session:
        found = domains.find_domain(session, domain)
        data = DomainUpdate.model_validate(changes)
        shown = DomainOut.of(domains.update_domain(session, found, data))
    changed = ", ".join(sorted(changes))
    out.print(f"updated domain {shown.id} ({shown.name}): {changed}", highlight=False)
    _print_warnings(shown)


@app.command("delete")
def domain_delete(
    domain: DomainRef,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a domain: its rules, mappings and dead letters go; Jira issues stay.

    Says exactly what happens and asks first (unless --yes). The issues in Jira
    and the tasks in PeopleForce are left alone; the audit log is kept.
    """
    with database() as session:
        summary = domains.describe_deletion(session, domains.find_domain(session, domain))
    out.print(f"Deleting domain {summary.domain_id} ({summary.name}):", highlight=False)
    for line in summary.consequences():
        out.print(f"  - {line}", highlight=False, soft_wrap=True)
    if not yes and not typer.confirm(f"Delete domain {summary.name}?", default=False):
        out.print("nothing deleted", highlight=False)
        raise typer.Exit(1)
    with database() as session:
        domains.delete_domain(session, domains.get_domain(session, summary.domain_id))
    out.print(f"deleted domain {summary.domain_id} ({summary.name})", highlight=False)


@app.command("list")
def domain_list(as_json: AsJson = False) -> None:
    """List domains (credentials shown only as set/not set)."""
    with database() as session:
        found = [DomainOut.of(d) for d in domains.list_domains(session)]
    if as_json:
        print_json([d.model_dump(mode="json") for d in found])
        return
    table = Table(show_header=True)
    for column in ("id", "name", "state", "peopleforce", "jira", "poll"):
        table.add_column(column)
    for d in found:
        table.add_row(
            str(d.id),
            d.name,
            "active" if d.is_active else "paused",
            d.pf_base_url,
            d.jira_base_url,
            f"{d.poll_interval_seconds}s",
        )
    out.print(table)


@app.command("show")
def domain_show(domain: DomainRef, as_json: AsJson = False) -> None:
    """Show one domain's configuration and state."""
    shown = DomainOut.of(load_domain(domain))
    if as_json:
        print_json(shown.model_dump(mode="json"))
        return
    for key, value in shown.model_dump(mode="json").items():
        out.print(f"{key}: {value}", highlight=False)


def _set_active(ref: str, active: bool) -> None:
    with database() as session:
        found = domains.set_domain_active(session, domains.find_domain(session, ref), active)
        name = found.name
    out.print(f"domain {name} {'resumed' if active else 'paused'}", highlight=False)


@app.command("test")
def domain_test(domain: DomainRef, as_json: AsJson = False) -> None:
    """Check the stored credentials with one read from PeopleForce and from Jira."""
    found = load_domain(domain)
    result = run_action(lambda _engine, settings: check_connection(settings, found))
    report(result, as_json)


@app.command("preview")
def domain_preview(domain: DomainRef, as_json: AsJson = False) -> None:
    """Route the open PeopleForce tasks through the current rules; writes nothing."""
    found = load_domain(domain)
    domain_id = found.id or 0
    rows: list[PreviewRow] = run_action(
        lambda engine, settings: preview_routing(engine, settings, domain_id)
    )
    if as_json:
        print_json([asdict(row) for row in rows])
        return
    out.print(sync_since_note(found.sync_since), highlight=False, soft_wrap=True)
    table = Table(show_header=True)
    for column in ("task", "title", "rule", "target", "fields"):
        table.add_column(column)
    for row in rows:
        target = f"{row.project_key}/{row.issue_type}" if row.action == "SYNC" else row.action
        table.add_row(
            str(row.task_id), row.title, row.rule_name or "-", target, ", ".join(row.fields)
        )
    out.print(table)


@app.command("pause")
def domain_pause(domain: DomainRef) -> None:
    """Stop syncing a domain (takes effect on the next scheduler pass)."""
    _set_active(domain, False)


@app.command("resume")
def domain_resume(domain: DomainRef) -> None:
    """Resume syncing a paused domain."""
    _set_active(domain, True)


@app.command("webhook-secret")
def domain_webhook_secret(
    domain: DomainRef,
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="Replace the current secret; it stays accepted until the next rotation.",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Generate the domain's own Jira webhook secret and print it, this once."""
    with database() as session:
        found = domains.find_domain(session, domain)
        issued = issue_webhook_secret(session, found, rotate=rotate)
    if as_json:
        print_json(issued.model_dump())
        return
    out.print(f"domain {issued.domain_name}: new webhook secret (shown only now)", highlight=False)
    out.print(f"  URL:    https://<gateway host>{issued.webhook_path}", highlight=False)
    out.print(f"  secret: {issued.secret}", highlight=False)
    if issued.previous_secret_accepted:
        out.print("  the previous secret stays accepted until the next rotation", highlight=False)
