"""Work the admin queues for the workers: ticks, sweeps and dead-letter replays.

The API never syncs inline: it enqueues an ARQ job with the id from
``gateway.jobs``, so a second click while one is queued or running is told so
instead of doubling the work.
"""

from __future__ import annotations

from arq.connections import ArqRedis
from sqlalchemy import Engine

from gateway.admin.dead_letters import open_dead_letter
from gateway.admin.schemas import ActionResult
from gateway.db import in_session
from gateway.jobs import (
    REPLAY_JOB,
    SWEEP_JOB,
    TICK_JOB,
    replay_job_id,
    sweep_job_id,
    tick_job_id,
)
from gateway.monitoring.tracing import job_kwargs


async def _enqueue(redis: ArqRedis, job: str, arg: int, job_id: str) -> bool:
    """True when queued; False when a job with that id is already queued or running.

    The job carries the request id and trace of the admin request that queued it."""
    return await redis.enqueue_job(job, arg, _job_id=job_id, **job_kwargs()) is not None


async def run_tick_now(redis: ArqRedis, domain_id: int) -> ActionResult:
    """Queue a forward tick; the per-domain job id keeps it from doubling a running tick."""
    if await _enqueue(redis, TICK_JOB, domain_id, tick_job_id(domain_id)):
        return ActionResult(ok=True, message="Tick queued; a worker runs it within seconds.")
    return ActionResult(ok=True, message="A tick for this domain is already queued or running.")


async def run_sweep_now(redis: ArqRedis, domain_id: int) -> ActionResult:
    """Queue the zombie sweep (JQL repair of lost webhooks) for one domain."""
    if await _enqueue(redis, SWEEP_JOB, domain_id, sweep_job_id(domain_id)):
        return ActionResult(ok=True, message="Sweep queued; its result appears in the audit log.")
    return ActionResult(ok=True, message="A sweep for this domain is already queued or running.")


async def replay_dead_letter(engine: Engine, redis: ArqRedis, letter_id: int) -> ActionResult:
    """Queue a replay of an open dead letter; NotFound or Conflict (closed) otherwise.

    The letter passes ``open_dead_letter`` first, the same gate as the CLI's replay;
    the job records ``replayed_at`` (or a new dead letter) when it runs.
    """
    await in_session(engine, lambda session: open_dead_letter(session, letter_id))
    if await _enqueue(redis, REPLAY_JOB, letter_id, replay_job_id(letter_id)):
        return ActionResult(ok=True, message="Replay queued; the outcome appears in the audit log.")
    return ActionResult(ok=True, message="A replay of this item is already queued or running.")
