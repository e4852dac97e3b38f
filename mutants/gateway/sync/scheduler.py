"""Tick/Yield: a frequent cron turns DomainConfig into queued ticks and sweeps.

The database, not the process, decides when a domain is due, so pausing a domain
or changing its interval takes effect on the next look, without a restart. Job
ids are per domain, so a domain never has two ticks queued or running, whatever
the number of workers.
"""

from __future__ import annotations

from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway.clock import as_utc, utcnow
from gateway.jobs import SWEEP_JOB, TICK_JOB, sweep_job_id, tick_job_id
from gateway.models import DomainConfig
from gateway.sync.sweeper import next_sweep_after


async def enqueue_due_work(engine: Engine, redis: ArqRedis) -> list[str]:
    """Queue a tick for every active domain whose interval has passed, and due sweeps."""
    now = utcnow()
    queued: list[str] = []
    with Session(engine, expire_on_commit=False) as session:
        domains = session.exec(
            select(DomainConfig).where(DomainConfig.is_active == True)  # noqa: E712
        ).all()
        for domain in domains:
            assert domain.id is not None
            last = as_utc(domain.last_poll_at)
            if last is None or last + timedelta(seconds=domain.poll_interval_seconds) <= now:
                job = await redis.enqueue_job(TICK_JOB, domain.id, _job_id=tick_job_id(domain.id))
                if job is not None:
                    queued.append(tick_job_id(domain.id))
            next_sweep = as_utc(domain.next_sweep_at)
            if next_sweep is None:
                domain.next_sweep_at = next_sweep_after(now, domain.sweep_time)
                session.add(domain)
            elif next_sweep <= now:
                job = await redis.enqueue_job(SWEEP_JOB, domain.id, _job_id=sweep_job_id(domain.id))
                if job is not None:
                    queued.append(sweep_job_id(domain.id))
        session.commit()
    return queued
