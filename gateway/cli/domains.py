"""``gateway domain add|update|delete|list|show|test|preview|pause|resume|webhook-secret``:
sync domains.

A DOMAIN argument is an id when it is all digits and a name otherwise (the one
rule of ``gateway.admin.domains.find_domain``, used by the API and the UI too).
Secrets are read from stdin or environment variables, never only from the
command line, where they would land in shell history and ``ps`` output.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from gateway.admin import domains
from gateway.admin.connection import check_connection
from gateway.admin.preview import PreviewRow, preview_routing, sync_since_note
from gateway.admin.schemas import DomainOut
from gateway.admin.webhook_secrets import issue_webhook_secret
from gateway.cli._common import (
    command_group,
    database,
    err,
    out,
    print_json,
    report,
    run_action,
    settings_or_exit,
)
from gateway.cli.domain_settings import (
    AsJson,
    DomainRef,
    domain_add,
    domain_update,
)
from gateway.models import (
    DomainConfig,
)

app = command_group(
    help="Sync domains (one PeopleForce account + one Jira site).", no_args_is_help=True
)


def load_domain(ref: str) -> DomainConfig:
    """The domain ``ref`` names, read in its own transaction (or one line and exit 1)."""
    with database() as session:
        return domains.find_domain(session, ref)


app.command("add")(domain_add)
app.command("update")(domain_update)


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
    from gateway.api.sites import SITE_CACHE_TTL_SECONDS, announce_directory_change_from

    with database() as session:
        found = domains.find_domain(session, domain)
        issued = issue_webhook_secret(session, found, rotate=rotate)
    unannounced = announce_directory_change_from(settings_or_exit())
    if unannounced is not None:
        err.print(
            f"warning: {unannounced}: running API processes accept the retired secret for "
            f"up to {SITE_CACHE_TTL_SECONDS:.0f} s",
            highlight=False,
        )
    if as_json:
        print_json(issued.model_dump())
        return
    out.print(f"domain {issued.domain_name}: new webhook secret (shown only now)", highlight=False)
    out.print(f"  URL:    https://<gateway host>{issued.webhook_path}", highlight=False)
    out.print(f"  secret: {issued.secret}", highlight=False)
    if issued.previous_secret_accepted:
        out.print("  the previous secret stays accepted until the next rotation", highlight=False)
