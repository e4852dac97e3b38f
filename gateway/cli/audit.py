"""``gateway audit``: the audit log, filtered as in the UI and the API; ``audit prune``.

Sync decisions and admin changes (``--type admin_change``, ``--actor user:alice``)
live in one log, read through the same filter as every other surface. ``gateway
audit`` alone lists; ``gateway audit prune`` runs the retention prune the workers
run hourly (``gateway.maintenance.retention``), now.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from gateway.admin import audit as audit_log
from gateway.admin import domains
from gateway.admin.paging import MAX_PAGE_SIZE
from gateway.admin.schemas import EventOut
from gateway.cli._common import (
    TIMESTAMP_WIDTH,
    command_group,
    configured_engine,
    database,
    out,
    print_json,
)
from gateway.security.exposure import terminal_reason

app = command_group(
    help="Show the audit log (sync events and admin changes), newest first; `audit prune`.",
    invoke_without_command=True,
)


@app.callback()
def audit(
    ctx: typer.Context,
    domain: Annotated[
        str | None, typer.Option(help=f"Only this domain. {domains.DOMAIN_REF_HELP}")
    ] = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only this event type, e.g. admin_change.")
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(help="Only changes by this actor: user:NAME, token:NAME or cli:LOGIN."),
    ] = None,
    page: Annotated[int, typer.Option(help=f"Page of {MAX_PAGE_SIZE}, newest first.", min=1)] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the audit log (sync events and admin changes), newest first."""
    if ctx.invoked_subcommand is not None:
        return
    with database() as session:
        domain_id = domains.find_domain(session, domain).id if domain is not None else None
        filters = audit_log.EventFilter(domain_id=domain_id, event_type=event_type, actor=actor)
        found, total = audit_log.list_events(session, filters, page, MAX_PAGE_SIZE)
        events = [EventOut.of(event) for event in found]
    if as_json:
        print_json({"items": [e.model_dump(mode="json") for e in events], "total": total})
        return
    table = Table(title=f"Audit log ({total} events)")
    for column in ("when", "domain", "event", "by", "reason"):
        # The reason wraps; a timestamp cut short ("2026-12-01T05:56…") says nothing.
        table.add_column(
            column,
            no_wrap=column != "reason",
            min_width=TIMESTAMP_WIDTH if column == "when" else None,
        )
    for event in events:
        table.add_row(
            event.created_at.isoformat(timespec="seconds"),
            str(event.domain_id or ""),
            event.event_type,
            Text(event.actor or ""),
            Text(terminal_reason(event.reason)),
        )
    out.print(table)


@app.command("prune")
def prune(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            help="Delete events older than DAYS (default: GATEWAY_AUDIT_RETENTION_DAYS).",
            min=1,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete old audit events in short batches; dead letters' and unsettled tasks'
    events and admin changes stay."""
    from gateway.maintenance.retention import prune_audit

    def progress(deleted: int, total: int) -> None:
        out.print(f"deleted {deleted} of {total}", highlight=False)

    with configured_engine() as (engine, settings):
        days = older_than if older_than is not None else settings.audit_retention_days
        report = asyncio.run(prune_audit(engine, days, dry_run=dry_run, progress=progress))
    out.print(report.summary(), highlight=False, soft_wrap=True)


def register(main: typer.Typer) -> None:
    """Add ``audit`` (list, ``prune``) to the main ``gateway`` app."""
    main.add_typer(app, name="audit")
