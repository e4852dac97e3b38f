"""The dashboard: per-domain figures from the database, workers and queue from Redis."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from gateway.admin.audit import ERROR_EVENTS, WRITE_EVENTS
from gateway.admin.domains import list_domains
from gateway.clock import utcnow
from gateway.heartbeat import HEARTBEAT_TTL_SECONDS
from gateway.jobs import QUEUE_NAME
from gateway.maintenance.retention import database_figures
from gateway.models import DeadLetter, DomainConfig, EventType, SyncEvent, SyncState, SyncStatus
from gateway.observe import read_runtime
from gateway.settings import Settings


@dataclass(frozen=True)
class DomainStats:
    """One domain's card on the dashboard."""

    domain: DomainConfig
    tasks_tracked: int
    tasks_open: int
    tasks_completed: int
    writes_today: int
    errors_today: int
    dead_letters_open: int
    last_sweep_repaired: int | None = None


def _per_domain(session: Session, domain_column: Any, *conditions: Any) -> dict[int, int]:
    """Rows per domain id matching ``conditions``, in one grouped query."""
    query = select(domain_column, func.count()).where(*conditions).group_by(domain_column)
    return {key: count for key, count in session.exec(query)}


def _last_sweep_repaired(session: Session) -> dict[int, int]:
    """Per domain, how many tasks its most recent recorded sweep repaired."""
    latest = (
        select(func.max(SyncEvent.id))
        .where(col(SyncEvent.event_type) == EventType.SWEEP.value)
        .group_by(col(SyncEvent.domain_id))
    )
    rows = session.exec(
        select(SyncEvent.domain_id, SyncEvent.details).where(col(SyncEvent.id).in_(latest))
    )
    repaired: dict[int, int] = {}
    for domain_id, details in rows:
        value = (details or {}).get("repaired")
        if domain_id is not None and isinstance(value, int) and not isinstance(value, bool):
            repaired[domain_id] = value
    return repaired


def _event_counts(session: Session, since: datetime, types: frozenset[EventType]) -> dict:
    return _per_domain(
        session,
        col(SyncEvent.domain_id),
        col(SyncEvent.created_at) >= since,
        col(SyncEvent.event_type).in_([e.value for e in types]),
    )


def dashboard_stats(session: Session, now: datetime | None = None) -> list[DomainStats]:
    """Per-domain figures from a handful of grouped queries, whatever the number of domains."""
    now = now or utcnow()
    midnight = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    state_domain = col(SyncState.domain_id)
    tracked = _per_domain(session, state_domain)
    completed = _per_domain(session, state_domain, col(SyncState.is_completed).is_(True))
    open_ = _per_domain(
        session,
        state_domain,
        col(SyncState.is_completed).is_(False),
        col(SyncState.status).in_([SyncStatus.SYNCED, SyncStatus.PENDING_CREATE]),
    )
    writes = _event_counts(session, midnight, WRITE_EVENTS)
    errors = _event_counts(session, midnight, ERROR_EVENTS)
    letters = _per_domain(
        session,
        col(DeadLetter.domain_id),
        col(DeadLetter.replayed_at).is_(None),
        col(DeadLetter.discarded_at).is_(None),
    )
    repaired = _last_sweep_repaired(session)
    return [
        DomainStats(
            domain=domain,
            tasks_tracked=tracked.get(domain.id or 0, 0),
            tasks_open=open_.get(domain.id or 0, 0),
            tasks_completed=completed.get(domain.id or 0, 0),
            writes_today=writes.get(domain.id or 0, 0),
            errors_today=errors.get(domain.id or 0, 0),
            dead_letters_open=letters.get(domain.id or 0, 0),
            last_sweep_repaired=repaired.get(domain.id) if domain.id is not None else None,
        )
        for domain in list_domains(session)
    ]


@dataclass(frozen=True)
class WorkersPanel:
    """The dashboard's view of the queue and the workers, read from Redis alone."""

    workers: list[tuple[str, float]]
    queued: int | None
    window_seconds: int
    error: str | None = None

    @property
    def stale(self) -> bool:
        """No worker has beaten within the window (or Redis could not say)."""
        return not any(age <= self.window_seconds for _, age in self.workers)


async def workers_panel(redis: Redis, settings: Settings) -> WorkersPanel:
    """Live workers with their heartbeat age and the queue depth; a Redis failure is
    shown on the panel instead of failing the page."""
    window = settings.ready_worker_max_age_seconds or HEARTBEAT_TTL_SECONDS
    try:
        runtime = await read_runtime(redis, QUEUE_NAME)
    except Exception as error:
        return WorkersPanel([], None, window, f"Redis unreachable: {type(error).__name__}")
    now = time.time()
    return WorkersPanel(
        [(w.worker_id, w.age(now)) for w in runtime.workers], runtime.queued, window
    )


@dataclass(frozen=True)
class DatabasePanel:
    """How big the database is and how far back the audit log goes, beside the retention
    setting, so an operator sees the prune working (or a database growing anyway)."""

    size_bytes: int | None
    oldest_event_at: datetime | None
    retention_days: int

    @property
    def size_text(self) -> str:
        """The size in the largest unit that keeps it above 1, e.g. ``12.3 MB``."""
        if self.size_bytes is None:
            return "unknown"
        size = float(self.size_bytes)
        for unit in ("bytes", "kB", "MB", "GB"):
            if size < 1000 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
            size /= 1000
        return f"{size:.1f} GB"


def database_panel(engine: Engine, settings: Settings) -> DatabasePanel:
    """The dashboard's database figures (blocking: call it on a database thread)."""
    size, oldest = database_figures(engine)
    return DatabasePanel(size, oldest, settings.audit_retention_days)
