"""``gateway tick|sweep|reconcile|backfill``: run the sync flows by hand.

They run in this process (no worker needed) against the configured database and
Redis, under the same locks as the workers, and print what happened.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer

from gateway.admin import domains
from gateway.admin.domains import DOMAIN_REF_HELP
from gateway.cli._common import database, err, fail, out, print_json, run_like_a_worker

AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def tick(
    domain: Annotated[str, typer.Argument(help=DOMAIN_REF_HELP)],
    as_json: AsJson = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show done/total, created and rate while it runs (on stderr); "
            "default: a bar on a terminal, nothing otherwise. --progress off a terminal "
            "prints one line per change.",
        ),
    ] = None,
) -> None:
    """Run one forward tick of DOMAIN now (even if paused), and print what it did."""
    from gateway.cli.tick_progress import with_progress
    from gateway.sync.tick import run_tick

    with database() as session:
        target = domains.find_domain(session, domain)
    target_id, name = target.id or 0, target.name
    if not target.is_active:
        err.print(f"domain {name!r} is paused; ticking it once anyway")
    show = err.is_terminal if progress is None else progress

    async def ticked(deps: Any) -> Any:
        ticking = run_tick(deps, target_id, force=True)
        if not show:
            return await ticking
        return await with_progress(ticking, deps.redis, target_id, err, live=err.is_terminal)

    report = run_like_a_worker(ticked)
    if report is None:
        raise fail(f"a tick of {name!r} is already running; try again shortly")
    if as_json:
        print_json(asdict(report))
    else:
        out.print(f"{name}: {report.outcome}; {report.summary()}")
        for line in report.errors[:20]:
            out.print(f"  {line}", highlight=False, markup=False)
    if report.outcome != "ok":
        raise typer.Exit(1)


def _sweep_line(row: dict[str, Any]) -> str:
    if "repaired" not in row:
        return f"{row['domain']}: {row['outcome']}"
    errors = f", errors: {'; '.join(row['errors'])}" if row["errors"] else ""
    return (
        f"{row['domain']}: scanned {row['scanned']} done issues "
        f"(window {row['window_minutes']} min), repaired {row['repaired']}{errors}"
    )


def sweep(
    domain: Annotated[
        str | None, typer.Argument(help=f"{DOMAIN_REF_HELP} All domains if omitted.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Run the zombie sweep now and print how many lost webhooks it repaired."""
    from gateway.sync.sweeper import run_sweep

    with database() as session:
        if domain is not None:
            found = [domains.find_domain(session, domain)]
        else:
            found = domains.list_domains(session)
        targets = [(d.id or 0, d.name) for d in found]
    if not targets:
        raise fail("no domains configured")

    async def work(deps: Any) -> list[Any]:
        return [await run_sweep(deps, target_id) for target_id, _ in targets]

    rows: list[dict[str, Any]] = []
    failed = False
    for (_, name), result in zip(targets, run_like_a_worker(work), strict=True):
        if result is None:
            failed = True
            rows.append({"domain": name, "outcome": "a sweep is already running"})
            continue
        failed = failed or not result.ok
        rows.append({"domain": name, **asdict(result)})
    if as_json:
        print_json(rows)
    else:
        for row in rows:
            out.print(_sweep_line(row))
    if failed:
        raise typer.Exit(1)


def reconcile(
    domain: Annotated[str, typer.Argument(help=DOMAIN_REF_HELP)], as_json: AsJson = False
) -> None:
    """Run one reconcile pass of DOMAIN now: read its tracked issues by id, repair drift."""
    from gateway.sync.reconciler import run_reconcile

    with database() as session:
        target = domains.find_domain(session, domain)
    target_id, name = target.id or 0, target.name
    report = run_like_a_worker(lambda deps: run_reconcile(deps, target_id))
    if report is None:
        raise fail(f"a reconcile pass of {name!r} is already running; try again shortly")
    if as_json:
        print_json(asdict(report))
    else:
        out.print(f"{name}: {report.summary()}")
        for line in report.errors[:20]:
            out.print(f"  {line}", highlight=False, markup=False)
    if not report.ok:
        raise typer.Exit(1)


def backfill(
    domain: Annotated[str, typer.Argument(help=DOMAIN_REF_HELP)],
    since: Annotated[
        datetime | None,
        typer.Option(help="Back-fill tasks created on or after this date (default: all)."),
    ] = None,
) -> None:
    """Let historical tasks (created before the domain's sync_since) be created in Jira."""
    with database() as session:
        target = domains.find_domain(session, domain)
        released = domains.release_historical_tasks(session, target, since)
        cutoff = target.sync_since
    out.print(
        f"{released} historical tasks released; sync_since is now "
        f"{cutoff.isoformat() if cutoff else 'unset'}; the next tick creates their issues"
    )


def register(app: typer.Typer) -> None:
    """Add ``tick``, ``sweep``, ``reconcile`` and ``backfill`` to the main ``gateway`` app."""
    app.command()(tick)
    app.command()(sweep)
    app.command()(reconcile)
    app.command()(backfill)
