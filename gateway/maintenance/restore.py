"""``gateway db restore``: a backup back in place of the SQLite database, then lineage recovery.

The gateway must be stopped: a worker writing to the old file while it is swapped
would lose its writes or, worse, mix two databases. Workers announce themselves in
Redis (presence and heartbeat keys), so a restore refuses while any is alive,
unless forced. The API keeps no such record: stop it too (the README's drill does).

A backup is older than what happened since. The gateway recovers the one thing that
matters for its guarantees, the issues it created in Jira after the backup: the
restore asks Jira for the issues with the tracking label, or made by the gateway's
account, created since the backup's last recorded write, with their lineage property in
the search's own pages; each one whose task the
backup does not know gets a ``pending_create`` row dated to the backup. The first
tick's orphan search (``gateway.sync.orphans``) then adopts those issues exactly as
it adopts the issue of a create whose answer was lost, so nothing is created twice.
Completions on either side since the backup are found by the tick and the sweep.

The old file is kept as ``gateway.db.before-restore``; its WAL is folded into it
first, so no stale ``-wal`` file is applied to the restored one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from gateway.admin.upstream import http_client, jira_client
from gateway.clock import as_utc, utcnow
from gateway.db import in_session, make_engine
from gateway.heartbeat import HEARTBEAT_KEY_PREFIX
from gateway.maintenance.backup import BackupError, check_gateway_database, copy_database
from gateway.models import DomainConfig, SyncEvent, SyncState, SyncStatus
from gateway.redis import RedisTarget, redis_client
from gateway.runtime.presence import read_presence
from gateway.security.crypto import load_cipher
from gateway.security.file_modes import owner_only_folder
from gateway.settings import Settings
from gateway.sync.lineage import orphan_jql
from gateway.sync.orphans import issues_by_lineage

BEFORE_RESTORE_SUFFIX = ".before-restore"
# Issues created this long before the backup's last write are searched too: clocks of
# the gateway and Jira differ, and a create is recorded after Jira made the issue.
RECOVERY_MARGIN = timedelta(minutes=30)

# Where the restore tells the operator how a long search of Jira goes.
Say = Callable[[str], None]


def live_workers(target: RedisTarget | None) -> list[str]:
    """The workers Redis says are alive (presence or heartbeat); BackupError if Redis
    cannot say. None: no Redis runs (an embedded one that is stopped), so no worker."""
    if target is None:
        return []
    client = redis_client(target, timeout=5)
    try:
        alive = set(read_presence(client))
        for key in client.scan_iter(match=HEARTBEAT_KEY_PREFIX + "*", count=500):
            name = key.decode() if isinstance(key, bytes) else str(key)
            alive.add(name.removeprefix(HEARTBEAT_KEY_PREFIX))
    except redis.RedisError as error:
        raise BackupError(
            f"cannot tell whether workers run (Redis: {type(error).__name__}); "
            "stop them and pass --force"
        ) from None
    finally:
        client.close()
    return sorted(alive)


def _set_aside(live: Path) -> Path | None:
    """Fold the live file's WAL into it and rename it ``*.before-restore``."""
    if not live.exists():
        return None
    kept = live.with_name(live.name + BEFORE_RESTORE_SUFFIX)
    if kept.exists():
        raise BackupError(f"{kept} exists (an earlier restore's); move it away first")
    with contextlib.closing(sqlite3.connect(live, timeout=10)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        live.with_name(live.name + suffix).unlink(missing_ok=True)
    live.replace(kept)
    return kept


@dataclass(frozen=True)
class RestoreReport:
    """What ``restore_sqlite`` did."""

    restored: Path
    revision: str
    kept: Path | None
    adopted_later: int | None

    def summary(self) -> str:
        line = f"restored {self.restored} at revision {self.revision}"
        if self.kept is not None:
            line += f"; the previous database is kept as {self.kept}"
        if self.adopted_later is None:
            return line + "; Jira was not searched for issues created after the backup"
        return line + (
            f"; {self.adopted_later} issue(s) created after the backup found in Jira, "
            "for the first tick to adopt"
        )


async def restore_sqlite(
    backup: Path, live: Path, settings: Settings | None, say: Say | None = None
) -> RestoreReport:
    """Put the gateway database ``backup`` in place of ``live`` (the caller made sure the
    gateway is stopped); with ``settings``, first mark the tasks whose issues Jira made
    after the backup, telling ``say`` how the search goes. Nothing changes at ``live``
    unless every step succeeded."""
    revision = check_gateway_database(backup)
    if backup.resolve() == live.resolve():
        raise BackupError(f"{backup} is the live database itself")
    owner_only_folder(live.parent)
    incoming = live.with_name(live.name + ".restoring")
    incoming.unlink(missing_ok=True)
    try:
        await asyncio.to_thread(copy_database, backup, incoming)
        marked = None
        if settings is not None:
            engine = make_engine(f"sqlite:///{incoming}", cipher=load_cipher(settings))
            try:
                marked = await recover_lineage(engine, settings, say)
            finally:
                engine.dispose()
        kept = _set_aside(live)
        incoming.replace(live)
    finally:
        for leftover in ("", "-wal", "-shm"):
            incoming.with_name(incoming.name + leftover).unlink(missing_ok=True)
    return RestoreReport(live, revision, kept, marked)


def _last_write(session: Session) -> datetime | None:
    """The newest time the database recorded: the backup's moment, as near as it says."""
    times = [
        session.exec(select(func.max(SyncEvent.created_at))).one(),
        session.exec(select(func.max(SyncState.updated_at))).one(),
        session.exec(select(func.max(SyncState.intent_at))).one(),
    ]
    known = [as_utc(t) for t in times if t is not None]
    return max((t for t in known if t is not None), default=None)


async def _lineage_since(
    settings: Settings, domain: DomainConfig, since: datetime, say: Say | None
) -> dict[int, str]:
    """Task id -> issue id of every issue of ``domain`` created since ``since`` (labelled,
    or made by the gateway's account), by its lineage property."""
    minutes = int((utcnow() - since + RECOVERY_MARGIN).total_seconds() // 60) + 1
    jql = orphan_jql(domain, minutes)
    if say is not None:
        say(f"domain {domain.name}: searching Jira for issues created in the last {minutes} min")

    def on_page(pages: int, found: int) -> None:
        # A search of one page is quick; only a longer one reports as it goes.
        if say is not None and pages > 1:
            say(f"domain {domain.name}: {pages} pages read, {found} issue(s) of it found")

    async with http_client(settings) as http:
        found = await issues_by_lineage(jira_client(http, domain), domain, jql, on_page=on_page)
    return {task_id: issue.id for task_id, issue in found.items()}


async def recover_lineage(engine: Engine, settings: Settings, say: Say | None = None) -> int:
    """Mark each task whose issue Jira made after the backup as a create of unknown
    outcome, for the orphan search to adopt; how many were marked."""
    since, domains = await in_session(engine, _last_write_and_domains)
    if since is None:
        return 0
    marked = 0
    for domain in domains:
        found = await _lineage_since(settings, domain, since, say)
        marked += await in_session(engine, lambda s, d=domain, f=found: _mark(s, d, f, since))
    return marked


def _last_write_and_domains(session: Session) -> tuple[datetime | None, list[DomainConfig]]:
    return _last_write(session), list(session.exec(select(DomainConfig)))


def _mark(session: Session, domain: DomainConfig, found: dict[int, str], since: datetime) -> int:
    """Add a pending create for each found task the database has no row for."""
    known = set(
        session.exec(
            select(col(SyncState.pf_task_id)).where(
                SyncState.domain_id == domain.id, col(SyncState.pf_task_id).in_(list(found))
            )
        )
    )
    missing = sorted(set(found) - known)
    for task_id in missing:
        session.add(_pending(domain, task_id, since))
    return len(missing)


def _pending(domain: DomainConfig, task_id: int, since: datetime) -> SyncState:
    assert domain.id is not None
    return SyncState(
        domain_id=domain.id,
        pf_task_id=task_id,
        status=SyncStatus.PENDING_CREATE,
        intent_at=since.astimezone(UTC),
    )
