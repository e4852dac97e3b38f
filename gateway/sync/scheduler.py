"""Tick/Yield: a frequent cron turns DomainConfig into queued ticks, sweeps and reconciles.

The database, not the process, decides when a domain is due, so pausing a domain
or changing its interval takes effect on the next look, without a restart. Job
ids are per domain, so a domain never has two ticks queued or running, whatever
the number of workers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from arq.connections import ArqRedis
from sqlalchemy import Engine

from gateway.clock import as_utc, utcnow
from gateway.jobs import (
    RECONCILE_JOB,
    SWEEP_JOB,
    TICK_JOB,
    reconcile_job_id,
    sweep_job_id,
    tick_job_id,
)
from gateway.models import DomainConfig
from gateway.sync.ledger import Catalog
from gateway.sync.reconciler import reconcile_due, set_first_reconciles
from gateway.sync.sweeper import next_sweep_after


async def enqueue_due_work(engine: Engine, redis: ArqRedis) -> list[str]:
    """Queue a tick for every active domain whose interval has passed, and due sweeps."""
    now = utcnow()
    queued: list[str] = []
    catalog = Catalog(engine)
    first_sweeps: dict[int, datetime] = {}
    first_reconciles: dict[int, datetime] = {}
    for domain in await catalog.active_domains():
        assert domain.id is not None
        last = as_utc(domain.last_poll_at)
        if last is None or last + timedelta(seconds=domain.poll_interval_seconds) <= now:
            job = await redis.enqueue_job(TICK_JOB, domain.id, _job_id=tick_job_id(domain.id))
            if job is not None:
                queued.append(tick_job_id(domain.id))
        next_sweep = as_utc(domain.next_sweep_at)
        if next_sweep is None:
            first_sweeps[domain.id] = next_sweep_after(now, domain.sweep_time)
        elif next_sweep <= now:
            job = await redis.enqueue_job(SWEEP_JOB, domain.id, _job_id=sweep_job_id(domain.id))
            if job is not None:
                queued.append(sweep_job_id(domain.id))
        if await _queue_reconcile(redis, domain, now, first_reconciles):
            queued.append(reconcile_job_id(domain.id))
    if first_sweeps:
        await catalog.set_first_sweeps(first_sweeps)
    if first_reconciles:
        await set_first_reconciles(engine, first_reconciles)
    return queued


async def _queue_reconcile(
    redis: ArqRedis, domain: DomainConfig, now: datetime, first: dict[int, datetime]
) -> bool:
    """Queue the domain's reconcile pass when due; a new domain gets its first one an
    interval from now (it has nothing to reconcile yet)."""
    assert domain.id is not None
    due = reconcile_due(domain, now)
    if due is None:
        first[domain.id] = now + timedelta(minutes=domain.reconcile_interval_minutes)
        return False
    if not due:
        return False
    job = await redis.enqueue_job(RECONCILE_JOB, domain.id, _job_id=reconcile_job_id(domain.id))
    return job is not None
