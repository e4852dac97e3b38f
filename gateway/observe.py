"""Gauges read from the database and Redis when ``/metrics`` is scraped.

Reading state at scrape time keeps the gauges right whichever process changed it,
and costs a few indexed queries per scrape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from gateway import metrics
from gateway.clock import as_utc, utcnow
from gateway.heartbeat import WorkerSeen, read_heartbeats
from gateway.models import DeadLetter, DomainConfig, SyncState, SyncStatus


def sync_lag_seconds(domain: DomainConfig, oldest_intent: datetime | None, now: datetime) -> float:
    """How far behind the domain is: the oldest pending create, or the last good tick."""
    lag = 0.0
    if oldest_intent is not None:
        lag = max(lag, (now - as_utc(oldest_intent)).total_seconds())
    last = as_utc(domain.last_poll_at)
    if last is not None:
        # A failing streak started about one interval per failure before the last tick.
        streak = domain.consecutive_tick_failures * domain.poll_interval_seconds
        lag = max(lag, (now - last).total_seconds() + streak)
    return max(0.0, lag)


def refresh_database_gauges(engine: Engine) -> None:
    """Per-domain dead letters, sync lag, tick age and failure streaks."""
    now = utcnow()
    with Session(engine) as session:
        domains = list(session.exec(select(DomainConfig)))
        oldest = dict(
            session.exec(
                select(SyncState.domain_id, func.min(SyncState.intent_at))
                .where(SyncState.status == SyncStatus.PENDING_CREATE)
                .group_by(col(SyncState.domain_id))
            ).all()
        )
        open_letters = dict(
            session.exec(
                select(DeadLetter.domain_id, func.count())
                .where(
                    col(DeadLetter.replayed_at).is_(None), col(DeadLetter.discarded_at).is_(None)
                )
                .group_by(col(DeadLetter.domain_id))
            ).all()
        )
    # Start afresh, so a deleted or renamed domain's series disappear.
    for gauge in (
        metrics.DEAD_LETTERS_OPEN,
        metrics.SYNC_LAG_SECONDS,
        metrics.CONSECUTIVE_TICK_FAILURES,
        metrics.LAST_TICK_AGE_SECONDS,
        metrics.BREAKER_OPEN,
    ):
        gauge.clear()
    for domain in domains:
        name = domain.name
        metrics.DEAD_LETTERS_OPEN.labels(domain=name).set(open_letters.get(domain.id, 0))
        metrics.SYNC_LAG_SECONDS.labels(domain=name).set(
            sync_lag_seconds(domain, oldest.get(domain.id), now) if domain.is_active else 0.0
        )
        metrics.CONSECUTIVE_TICK_FAILURES.labels(domain=name).set(domain.consecutive_tick_failures)
        metrics.BREAKER_OPEN.labels(domain=name).set(int(domain.breaker_opened_at is not None))
        last = as_utc(domain.last_poll_at)
        if last is not None:
            metrics.LAST_TICK_AGE_SECONDS.labels(domain=name).set((now - last).total_seconds())


@dataclass(frozen=True)
class RuntimeSnapshot:
    """What Redis says about the queue and the workers draining it."""

    queued: int
    workers: list[WorkerSeen]


async def read_runtime(redis: Redis, queue_name: str) -> RuntimeSnapshot:
    """Jobs waiting on the queue and every live worker heartbeat, newest first."""
    queued = int(await redis.zcard(queue_name))
    return RuntimeSnapshot(queued=queued, workers=await read_heartbeats(redis))


async def refresh_redis_gauges(redis: Redis, queue_name: str) -> None:
    """Queue depth and worker heartbeats."""
    runtime = await read_runtime(redis, queue_name)
    metrics.JOBS_QUEUED.set(runtime.queued)
    metrics.WORKERS_ALIVE.set(len(runtime.workers))
    if runtime.workers:
        metrics.WORKER_HEARTBEAT_AGE_SECONDS.set(runtime.workers[0].age())
