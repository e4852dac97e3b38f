"""``gateway tick|sweep|backfill|deadletter``: run the sync flows by hand.

They run in this process (no worker needed) against the configured database and
Redis, under the same locks as the workers, and print what happened.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.models import DeadLetter, DomainConfig, EventType, SyncState, SyncStatus

out = Console()
err = Console(stderr=True)
deadletter_app = typer.Typer(help="Work that failed permanently: list, replay, discard.")

T = TypeVar("T")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def find_domain(engine: Engine, name_or_id: str) -> DomainConfig:
    """A domain by name or numeric id; a clear one-line error otherwise."""
    with Session(engine) as session:
        domain = session.exec(select(DomainConfig).where(DomainConfig.name == name_or_id)).first()
        if domain is None and name_or_id.isdigit():
            domain = session.get(DomainConfig, int(name_or_id))
    if domain is None:
        raise _fail(f"no domain named {name_or_id!r} (see `gateway domain list`)")
    return domain


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Open database, Redis and HTTP like a worker does, run ``work(deps)``, close them."""
    from gateway.cli import prepare_database, settings_or_exit
    from gateway.db import make_engine
    from gateway.jobs import open_pool
    from gateway.redis import RedisUnavailable, resolve_redis_url
    from gateway.sync.deps import SyncDeps

    settings = settings_or_exit()
    prepare_database(settings)

    async def main() -> T:
        try:
            redis = await open_pool(resolve_redis_url(settings))
        except (RedisUnavailable, OSError) as error:
            raise _fail(f"Redis unavailable: {error}") from None
        engine = make_engine(settings.effective_database_url)
        http = httpx.AsyncClient(timeout=httpx.Timeout(settings.http_timeout_seconds))
        try:
            return await work(SyncDeps(engine=engine, redis=redis, http=http, settings=settings))
        finally:
            await http.aclose()
            await redis.aclose()
            engine.dispose()

    return asyncio.run(main())


def _engine() -> Engine:
    from gateway.cli import prepare_database, settings_or_exit
    from gateway.db import make_engine

    settings = settings_or_exit()
    prepare_database(settings)
    return make_engine(settings.effective_database_url)


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


def tick(
    domain: Annotated[str, typer.Argument(help="Domain name or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run one forward tick of DOMAIN now (even if paused), and print what it did."""
    from gateway.sync.forward import run_tick

    target = find_domain(_engine(), domain)
    assert target.id is not None

    if not target.is_active:
        err.print(f"domain {target.name!r} is paused; ticking it once anyway")
    report = _run(lambda deps: run_tick(deps, target.id or 0, force=True))
    if report is None:
        raise _fail(f"a tick of {target.name!r} is already running; try again shortly")
    if as_json:
        _print_json(asdict(report))
    else:
        out.print(f"{target.name}: {report.outcome}; {report.summary()}")
        for line in report.errors[:20]:
            out.print(f"  {line}", highlight=False)
    if report.outcome != "ok":
        raise typer.Exit(1)


def sweep(
    domain: Annotated[str | None, typer.Argument(help="Domain name or id; all if omitted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Run the zombie sweep now and print how many lost webhooks it repaired."""
    from gateway.sync.sweeper import run_sweep

    engine = _engine()
    if domain is not None:
        targets = [find_domain(engine, domain)]
    else:
        with Session(engine) as session:
            targets = list(session.exec(select(DomainConfig)))
    if not targets:
        raise _fail("no domains configured")

    async def work(deps: Any) -> list[Any]:
        return [await run_sweep(deps, t.id or 0) for t in targets]

    reports = _run(work)
    failed = False
    rows = []
    for target, report in zip(targets, reports, strict=True):
        if report is None:
            failed = True
            rows.append({"domain": target.name, "outcome": "a sweep is already running"})
            continue
        failed = failed or not report.ok
        rows.append({"domain": target.name, **asdict(report)})
    if as_json:
        _print_json(rows)
    else:
        for row in rows:
            if "repaired" not in row:
                out.print(f"{row['domain']}: {row['outcome']}")
                continue
            out.print(
                f"{row['domain']}: scanned {row['scanned']} done issues "
                f"(window {row['window_minutes']} min), repaired {row['repaired']}"
                + (f", errors: {'; '.join(row['errors'])}" if row["errors"] else "")
            )
    if failed:
        raise typer.Exit(1)


def backfill(
    domain: Annotated[str, typer.Argument(help="Domain name or id.")],
    since: Annotated[
        datetime | None,
        typer.Option(help="Back-fill tasks created on or after this date (default: all)."),
    ] = None,
) -> None:
    """Let historical tasks (created before the domain's sync_since) be created in Jira."""
    engine = _engine()
    target = find_domain(engine, domain)
    cutoff = since.replace(tzinfo=since.tzinfo or UTC) if since else None
    with Session(engine) as session:
        query = select(SyncState).where(
            SyncState.domain_id == target.id, SyncState.status == SyncStatus.HISTORICAL
        )
        if cutoff is not None:
            query = query.where(col(SyncState.pf_created_at) >= cutoff)
        rows = list(session.exec(query))
        for row in rows:
            session.delete(row)
        stored = session.get(DomainConfig, target.id)
        assert stored is not None
        stored.sync_since = cutoff
        session.add(stored)
        session.commit()
    out.print(
        f"{len(rows)} historical tasks released; sync_since is now "
        f"{cutoff.isoformat() if cutoff else 'unset'}; the next tick creates their issues"
    )


@deadletter_app.command("list")
def deadletter_list(
    domain: Annotated[str | None, typer.Option(help="Only this domain (name or id).")] = None,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Include replayed and discarded ones.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List dead letters, newest first."""
    engine = _engine()
    with Session(engine) as session:
        query = select(DeadLetter).order_by(col(DeadLetter.id).desc())
        if domain is not None:
            query = query.where(DeadLetter.domain_id == find_domain(engine, domain).id)
        if not include_closed:
            query = query.where(
                col(DeadLetter.replayed_at).is_(None), col(DeadLetter.discarded_at).is_(None)
            )
        letters = list(session.exec(query))
    if as_json:
        _print_json([letter.model_dump(mode="json") for letter in letters])
        return
    if not letters:
        out.print("no dead letters")
        return
    table = Table("id", "domain", "task", "operation", "status", "error", "attempts")
    for letter in letters:
        table.add_row(
            str(letter.id),
            str(letter.domain_id),
            str(letter.pf_task_id or ""),
            letter.operation,
            str(letter.error_status or ""),
            letter.error_message[:80],
            str(letter.attempts),
        )
    out.print(table)


@deadletter_app.command("replay")
def deadletter_replay(
    letter_id: Annotated[int, typer.Argument(help="Dead letter id.")],
) -> None:
    """Run a dead letter's operation again with the current rules (fix the rule first)."""
    from gateway.worker import replay

    outcome = _run(lambda deps: replay(deps, letter_id))
    out.print(f"dead letter {letter_id}: {outcome}")
    if outcome != "replayed":
        raise typer.Exit(1)


@deadletter_app.command("discard")
def deadletter_discard(
    letter_id: Annotated[int, typer.Argument(help="Dead letter id.")],
) -> None:
    """Close a dead letter without replaying it (it stays in the audit log)."""
    from gateway.clock import utcnow
    from gateway.sync.ledger import Ledger

    engine = _engine()
    with Session(engine) as session:
        letter = session.get(DeadLetter, letter_id)
        if letter is None:
            raise _fail(f"no dead letter {letter_id}")
        if letter.replayed_at or letter.discarded_at:
            raise _fail(f"dead letter {letter_id} is already closed")
        letter.discarded_at = utcnow()
        session.add(letter)
        session.commit()
        Ledger(engine, letter.domain_id).record(
            EventType.DISCARDED, f"dead letter {letter_id} discarded", pf_task_id=letter.pf_task_id
        )
    out.print(f"dead letter {letter_id}: discarded")


def register(app: typer.Typer) -> None:
    """Add these commands to the main ``gateway`` app."""
    app.command()(tick)
    app.command()(sweep)
    app.command()(backfill)
    app.add_typer(deadletter_app, name="deadletter", no_args_is_help=True)
