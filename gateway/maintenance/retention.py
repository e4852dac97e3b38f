"""Audit retention: delete audit events older than the window, in short batches.

The audit log (``SyncEvent``) gains a row for every write and decision, so without
a bound it grows by millions of rows a year. The prune deletes events older than
``GATEWAY_AUDIT_RETENTION_DAYS`` a batch at a time: each batch is one short
transaction (up to 5 000 rows, sized to take about 50 ms on the machine as it is
loaded), with a pause between batches, so SQLite's single writer lock is never held
long and ticks and webhook jobs keep writing meanwhile.

Not everything old may go. Nothing in the sync path reads the audit log (the
sweeper's window and the reconciler's schedule live on DomainConfig, lineage and
the orphan search read SyncState and Jira), but these readers do, and keep rules
protect what they need:

- the dashboard's "last sweep repaired N" reads each domain's newest ``sweep``
  event, so the newest ``sweep`` and ``reconcile`` event of each domain stays;
- an open dead letter is fixed and replayed by an operator who reads the task's
  trace (``gateway task show``), so every event of a task with an open dead letter
  stays until it is replayed or discarded;
- a task whose ledger row is not settled (``pending_create``: a create of unknown
  outcome; ``dead``) is likewise still being worked on: its events stay;
- admin changes (who changed which rule or domain, and a domain's deletion) grow
  with human activity, not with task volume, and are the record an audit asks for:
  they are never pruned.

The keep rules are SQL conditions applied both when a batch is chosen and in the
batch's DELETE itself, so a dead letter written between the two still protects
its task's events.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, exists, false, func, not_, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from gateway.clock import utcnow
from gateway.db import run_blocking
from gateway.models import DeadLetter, EventType, SyncEvent, SyncState, SyncStatus

# Each batch is one transaction, so it holds SQLite's writer lock for its length. The
# batch size adapts to aim each at LOCK_BUDGET_MS on this machine and load, between
# MIN_BATCH_SIZE and the largest batch (DEFAULT_BATCH_SIZE unless told otherwise).
DEFAULT_BATCH_SIZE = 5_000
FIRST_BATCH_SIZE = 1_000
MIN_BATCH_SIZE = 100
LOCK_BUDGET_MS = 50.0
# Between batches: lets a waiting writer (a tick, a webhook job) take the lock.
DEFAULT_PAUSE_SECONDS = 0.05
FOREVER_EVENTS = frozenset({EventType.ADMIN_CHANGE.value, EventType.DOMAIN_DELETED.value})
NEWEST_KEPT_EVENTS = (EventType.SWEEP.value, EventType.RECONCILE.value)
UNSETTLED_STATUSES = (SyncStatus.PENDING_CREATE.value, SyncStatus.DEAD.value)

Condition = Any  # a SQLAlchemy boolean expression over sync_event


@dataclass(frozen=True)
class KeepRule:
    """One reason an old event must stay: ``kept()`` is true for the events it protects."""

    name: str
    kept: Callable[[], Condition]


def _newest_sweep_and_reconcile() -> Condition:
    newest = aliased(SyncEvent, name="newest")
    return col(SyncEvent.id).in_(
        select(func.max(newest.id))
        .where(col(newest.event_type).in_(NEWEST_KEPT_EVENTS))
        .group_by(col(newest.domain_id), col(newest.event_type))
    )


def _task_has_open_dead_letter() -> Condition:
    return exists().where(
        col(DeadLetter.domain_id) == col(SyncEvent.domain_id),
        col(DeadLetter.pf_task_id) == col(SyncEvent.pf_task_id),
        col(DeadLetter.replayed_at).is_(None),
        col(DeadLetter.discarded_at).is_(None),
    )


def _task_is_unsettled() -> Condition:
    return exists().where(
        col(SyncState.domain_id) == col(SyncEvent.domain_id),
        col(SyncState.pf_task_id) == col(SyncEvent.pf_task_id),
        col(SyncState.status).in_(UNSETTLED_STATUSES),
    )


KEEP_RULES: tuple[KeepRule, ...] = (
    KeepRule("newest sweep and reconcile of each domain", _newest_sweep_and_reconcile),
    KeepRule("events of tasks with an open dead letter", _task_has_open_dead_letter),
    KeepRule("events of tasks whose create or state is unsettled", _task_is_unsettled),
)


@dataclass(frozen=True)
class PruneReport:
    """What one prune did (or, with ``dry_run``, would do)."""

    retention_days: int
    cutoff: datetime | None
    dry_run: bool
    deleted: int = 0
    kept_by_rules: int = 0
    batches: int = 0
    longest_batch_ms: float = 0.0
    median_batch_ms: float = 0.0

    def summary(self) -> str:
        """The one line the CLI prints and the job logs."""
        if self.cutoff is None:
            return "audit retention is 0 (keep forever): nothing pruned"
        verb = "would delete" if self.dry_run else "deleted"
        line = (
            f"{verb} {self.deleted} audit events older than {self.retention_days} days "
            f"(before {self.cutoff.isoformat(timespec='seconds')}); "
            f"{self.kept_by_rules} older ones kept by the keep rules"
        )
        if not self.dry_run:
            line += (
                f"; {self.batches} batches, median {self.median_batch_ms:.0f} ms, "
                f"longest {self.longest_batch_ms:.0f} ms"
            )
        return line


Progress = Callable[[int, int], None]


def _old(cutoff: datetime, upto_id: int) -> list[Condition]:
    """Events old enough to prune, of a type that may be pruned, up to ``upto_id``."""
    return [
        col(SyncEvent.id) <= upto_id,
        col(SyncEvent.created_at) < cutoff,
        col(SyncEvent.event_type).not_in(FOREVER_EVENTS),
    ]


def _prunable(cutoff: datetime, upto_id: int, rules: Sequence[KeepRule]) -> list[Condition]:
    kept = or_(*(rule.kept() for rule in rules)) if rules else false()
    return [*_old(cutoff, upto_id), not_(kept)]


def _plan(engine: Engine, cutoff: datetime, rules: Sequence[KeepRule]) -> tuple[int, int, int]:
    """The newest old event's id, how many old events may go and how many rules keep.

    Events written later have larger ids, so the run never looks past this id."""
    with engine.connect() as connection:
        upto = connection.execute(
            select(func.max(SyncEvent.id)).where(col(SyncEvent.created_at) < cutoff)
        ).scalar()
        if upto is None:
            return 0, 0, 0
        old = select(func.count()).select_from(SyncEvent).where(and_(*_old(cutoff, upto)))
        prunable = (
            select(func.count()).select_from(SyncEvent).where(*_prunable(cutoff, upto, rules))
        )
        return upto, connection.execute(prunable).scalar_one(), connection.execute(old).scalar_one()


def _next_batch(
    engine: Engine,
    cutoff: datetime,
    after: int,
    upto: int,
    size: int,
    rules: Sequence[KeepRule],
) -> int | None:
    """The last id of the next batch of prunable events after ``after`` (a read, no lock)."""
    batch = (
        select(col(SyncEvent.id))
        .where(col(SyncEvent.id) > after, *_prunable(cutoff, upto, rules))
        .order_by(col(SyncEvent.id))
        .limit(size)
        .subquery()
    )
    with engine.connect() as connection:
        return connection.execute(select(func.max(batch.c.id))).scalar()


def _delete_batch(
    engine: Engine, cutoff: datetime, after: int, last: int, rules: Sequence[KeepRule]
) -> tuple[int, float]:
    """Delete the batch ``(after, last]`` in one transaction; rows deleted and its length in ms.

    The keep rules are part of the DELETE, so what they protect stays even if it
    changed since the batch was chosen."""
    started = time.perf_counter()
    with engine.begin() as connection:
        result = connection.execute(
            delete(SyncEvent).where(col(SyncEvent.id) > after, *_prunable(cutoff, last, rules))
        )
    return result.rowcount, (time.perf_counter() - started) * 1000


def next_batch_size(size: int, took_ms: float, largest: int) -> int:
    """The next batch's size, aimed at ``LOCK_BUDGET_MS`` from how long this one took:
    proportional, at most doubling or halving at a time, within the bounds."""
    wanted = size * LOCK_BUDGET_MS / max(took_ms, 1.0)
    bounded = min(max(wanted, size / 2), size * 2)
    return int(min(max(bounded, min(MIN_BATCH_SIZE, largest)), largest))


async def prune_audit(
    engine: Engine,
    retention_days: int,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    pause_seconds: float = DEFAULT_PAUSE_SECONDS,
    rules: Sequence[KeepRule] = KEEP_RULES,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> PruneReport:
    """Delete audit events older than ``retention_days`` (0: keep forever) but what
    ``rules`` keep; ``progress(deleted, total)`` after each batch.

    The one prune, used by ``gateway audit prune`` and the worker's hourly job.
    Database work runs on the database threads; the pauses let the loop run on."""
    if retention_days <= 0:
        return PruneReport(retention_days, None, dry_run)
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    upto, total, old = await run_blocking(engine, _plan, engine, cutoff, rules)
    if dry_run or total == 0:
        return PruneReport(
            retention_days, cutoff, dry_run, deleted=total, kept_by_rules=old - total
        )
    deleted, after, took = 0, 0, list[float]()
    size = min(batch_size, FIRST_BATCH_SIZE)
    while True:
        last = await run_blocking(engine, _next_batch, engine, cutoff, after, upto, size, rules)
        if last is None:
            break
        rows, took_ms = await run_blocking(
            engine, _delete_batch, engine, cutoff, after, last, rules
        )
        deleted, after = deleted + rows, last
        took.append(took_ms)
        size = next_batch_size(size, took_ms, batch_size)
        if progress is not None:
            progress(deleted, total)
        await asyncio.sleep(pause_seconds)
    return PruneReport(
        retention_days,
        cutoff,
        dry_run,
        deleted=deleted,
        kept_by_rules=old - total,
        batches=len(took),
        longest_batch_ms=max(took, default=0.0),
        median_batch_ms=statistics.median(took) if took else 0.0,
    )


def database_figures(engine: Engine) -> tuple[int | None, datetime | None]:
    """The database's size in bytes (None if the backend cannot say) and the oldest
    audit event's time, for the dashboard."""
    with engine.connect() as connection:
        oldest = connection.execute(select(func.min(SyncEvent.created_at))).scalar()
        backend = engine.dialect.name
        if backend == "sqlite":
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
            page_size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
            size: int | None = int(pages) * int(page_size)
        elif backend == "postgresql":
            size = connection.exec_driver_sql(
                "SELECT pg_database_size(current_database())"
            ).scalar_one()
        else:
            size = None
    return size, oldest
