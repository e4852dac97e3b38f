"""Tick/Yield: a frequent cron turns DomainConfig into queued ticks and sweeps.

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
from gateway.jobs import SWEEP_JOB, TICK_JOB, sweep_job_id, tick_job_id
from gateway.sync.ledger import Catalog
from gateway.sync.sweeper import next_sweep_after


async def enqueue_due_work(engine: Engine, redis: ArqRedis) -> list[str]:
    """Queue a tick for every active domain whose interval has passed, and due sweeps."""
    now = utcnow()
    queued: list[str] = []
    catalog = Catalog(engine)
    first_sweeps: dict[int, datetime] = {}
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
    if first_sweeps:
        await catalog.set_first_sweeps(first_sweeps)
    return queued
