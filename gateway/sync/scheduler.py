"""Tick/Yield: a frequent cron turns DomainConfig into queued ticks, sweeps and reconciles.

The database, not the process, decides when a domain is due, so pausing a domain
or changing its interval takes effect on the next look, without a restart. Job
ids are per domain, so a domain never has two ticks queued at once; two never run
at once because of the renewed tick lock (``gateway.sync.locks``), not the job id,
which a killed worker may leave behind until recovery hands it back.

Ticks keep an exact rhythm: a tick's next slot is its own slot plus the interval
(``gateway.sync.tick.next_slot``), not its start plus the interval, and each beat
looks one beat ahead and queues a tick due before the next beat deferred to its
slot. So a 60 s interval ticks every 60 s, not every 60 s plus up to one beat.
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
from gateway.sync.reconciler import reconcile_due
from gateway.sync.sweeper import next_sweep_after


def tick_due_at(domain: DomainConfig) -> datetime | None:
    """When the domain's next tick is due; None: never ticked, due now.

    The slot the last tick set (``next_poll_at``), unless the interval was shortened
    since: then the last start plus the new interval, so the change applies at once.
    """
    last = as_utc(domain.last_poll_at)
    if last is None:
        return None
    by_interval = last + timedelta(seconds=domain.poll_interval_seconds)
    slot = as_utc(domain.next_poll_at)
    return by_interval if slot is None else min(slot, by_interval)


async def enqueue_due_work(
    engine: Engine, redis: ArqRedis, *, lookahead_seconds: float = 0.0
) -> list[str]:
    """Queue a tick for every active domain due within ``lookahead_seconds``, and due sweeps.

    A tick due later than now but before the next beat is queued deferred to its slot
    (relative to now, so a shifted scenario clock defers by the right amount too).
    """
    now = utcnow()
    queued: list[str] = []
    catalog = Catalog(engine)
    first_sweeps: dict[int, datetime] = {}
    first_reconciles: dict[int, datetime] = {}
    for domain in await catalog.active_domains():
        assert domain.id is not None
        due = tick_due_at(domain)
        wait = 0.0 if due is None else (due - now).total_seconds()
        if wait <= lookahead_seconds:
            job = await redis.enqueue_job(
                TICK_JOB,
                domain.id,
                _job_id=tick_job_id(domain.id),
                _defer_by=timedelta(seconds=wait) if wait > 0 else None,
            )
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
        await catalog.set_first_reconciles(first_reconciles)
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
