"""``gateway domain add|list|show|test|preview|pause|resume``: sync domains.

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
from gateway.admin.connection import check_connection
from gateway.admin.domains import DOMAIN_REF_HELP
from gateway.admin.preview import PreviewRow, preview_routing
from gateway.admin.schemas import DomainCreate, DomainOut
from gateway.cli._common import database, out, print_json, report, run_action
from gateway.models import (
    DOMAIN_DEFAULTS,
    DeletedIssuePolicy,
    DeletionPolicy,
    DomainConfig,
    EditedFieldPolicy,
    ReopenPolicy,
)

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
    reconcile_interval_minutes: Annotated[
        int, typer.Option(help="Minutes between reconcile passes (drift made in Jira).")
    ] = DOMAIN_DEFAULTS.reconcile_interval_minutes,
    reopen_window_days: Annotated[
        int, typer.Option(help="Days a completed task's issue is still read for reopens.")
    ] = DOMAIN_DEFAULTS.reopen_window_days,
    deleted_issue_policy: Annotated[
        DeletedIssuePolicy, typer.Option(help="On an issue deleted in Jira.")
    ] = DOMAIN_DEFAULTS.deleted_issue_policy,
    edited_field_policy: Annotated[
        EditedFieldPolicy, typer.Option(help="On a synced field edited in Jira.")
    ] = DOMAIN_DEFAULTS.edited_field_policy,
    paused: Annotated[bool, typer.Option(help="Create it paused.")] = not DOMAIN_DEFAULTS.is_active,
) -> None:
    """Add a sync domain."""
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
                "reconcile_interval_minutes": reconcile_interval_minutes,
                "reopen_window_days": reopen_window_days,
                "deleted_issue_policy": deleted_issue_policy,
                "edited_field_policy": edited_field_policy,
            }
        )
        shown = DomainOut.of(domains.create_domain(session, data))
    out.print(f"created domain {shown.id} ({shown.name})", highlight=False)


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
    domain_id = load_domain(domain).id or 0
    rows: list[PreviewRow] = run_action(
        lambda engine, settings: preview_routing(engine, settings, domain_id)
    )
    if as_json:
        print_json([asdict(row) for row in rows])
        return
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
