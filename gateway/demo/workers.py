"""The real ARQ worker run in this process, and the queue as a stack inspects and bends it.

Tests and scenarios run the production worker (``gateway.worker``'s functions and
start-up hooks) in burst mode against the stack's Redis, each worker opening its
own connections as a separate process would. Simulated time makes days pass in
seconds, but ARQ defers jobs and Redis expires keys on real time, so the helpers
here let a stack release deferred jobs and expire keys when it advances the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.jobs import deserialize_job
from arq.worker import Worker

from gateway.clients.retry import RetryPolicy
from gateway.jobs import QUEUE_NAME
from gateway.redis import arq_redis_settings, redis_client
from gateway.settings import Settings
from gateway.worker import FUNCTIONS, shutdown, startup

POLL_SECONDS = 0.01
WATCH_SECONDS = 0.02
STOP_GRACE_SECONDS = 30.0


def arq_worker(
    settings: Settings,
    retry_policy: RetryPolicy | None = None,
    *,
    burst: bool = True,
    max_jobs: int = 10,
) -> Worker:
    """The production worker's jobs on the stack's queue, without crons or signal handlers.

    Crons stay off: the stack decides when the scheduler runs. Signal handlers stay
    off too: only the main thread may install them, and the caller owns Ctrl-C.
    """
    ctx: dict[str, Any] = {"settings": settings}
    if retry_policy is not None:
        ctx["retry_policy"] = retry_policy
    return Worker(
        functions=FUNCTIONS,
        redis_settings=arq_redis_settings(settings.redis_url or ""),
        queue_name=QUEUE_NAME,
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        handle_signals=False,
        poll_delay=POLL_SECONDS,
        max_jobs=max_jobs,
        ctx=ctx,
    )


async def run_burst(settings: Settings, retry_policy: RetryPolicy | None = None) -> Worker:
    """Run every queued job (and the jobs they queue) until the queue is empty."""
    worker = arq_worker(settings, retry_policy)
    await worker.main()
    await worker.close()
    return worker


async def queued_jobs(pool: ArqRedis) -> tuple[int, int]:
    """(jobs ready or running now, jobs deferred to later) on the gateway's queue."""
    now_ms = time.time() * 1000
    ready = await pool.zcount(QUEUE_NAME, "-inf", now_ms)
    total = await pool.zcard(QUEUE_NAME)
    return int(ready), int(total) - int(ready)


async def run_until_idle(
    worker: Worker, pool: ArqRedis, *, wait_deferred: bool, timeout: float
) -> bool:
    """Run ``worker`` until no job is ready or running (with ``wait_deferred``: none is
    queued at all, so back-off retries are waited out); False if ``timeout`` ran out."""
    main = asyncio.create_task(worker.main())
    deadline = time.monotonic() + timeout
    idle = True
    try:
        while not main.done():
            await asyncio.sleep(WATCH_SECONDS)
            ready, deferred = await queued_jobs(pool)
            busy = not all(task.done() for task in worker.tasks.values())
            if not busy and ready == 0 and (deferred == 0 or not wait_deferred):
                break
            if time.monotonic() > deadline:
                idle = False
                break
        if main.done():
            main.result()
    finally:
        await _stop_worker(worker, main)
    return idle


async def _stop_worker(worker: Worker, main: asyncio.Task[None]) -> None:
    """Ask the worker to finish what it runs and pick nothing new (ARQ's burst exit)."""
    if not main.done():
        worker.burst = True
        worker.max_burst_jobs = 0
        try:
            await asyncio.wait_for(asyncio.shield(main), STOP_GRACE_SECONDS)
        except TimeoutError:
            main.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await main
    await worker.close()


async def release_deferred_jobs(pool: ArqRedis, seconds: float) -> int:
    """Simulated time passes for ARQ too: jobs deferred by less than ``seconds`` are due now."""
    now_ms = time.time() * 1000
    later = await pool.zrangebyscore(QUEUE_NAME, now_ms, now_ms + seconds * 1000, withscores=True)
    if later:
        await pool.zadd(QUEUE_NAME, {job_id: now_ms for job_id, _ in later})
    return len(later)


async def clear_after_stopped_workers(pool: ArqRedis) -> int:
    """Remove what stopped worker processes leave in Redis; returns the stale markers found.

    Their cron jobs queued ahead of time go (in-process workers run no crons), and
    with no worker alive every ARQ in-progress marker is stale: a worker stopped
    between marking a job and starting it would otherwise hide the job for ARQ's
    in-progress timeout.
    """
    stale = []
    for job_id in await pool.zrange(QUEUE_NAME, 0, -1):
        raw = await pool.get(job_key_prefix + job_id.decode())
        if raw is None or deserialize_job(raw).function.startswith("cron:"):
            stale.append(job_id)
    if stale:
        await pool.zrem(QUEUE_NAME, *stale)
    markers = [key async for key in pool.scan_iter(match=in_progress_key_prefix + "*")]
    if markers:
        await pool.delete(*markers)
    return len(markers)


def expire_redis_keys(redis_url: str, seconds: float) -> int:
    """Simulated time passes for Redis too: drop keys whose TTL runs out within ``seconds``.

    For when minutes pass after a crash, so the locks and in-progress markers of a
    dead process expire as they would.
    """
    client = redis_client(redis_url, timeout=10)
    expired = 0
    try:
        for key in client.scan_iter(count=500):
            ttl = client.pttl(key)
            if isinstance(ttl, int) and 0 <= ttl <= seconds * 1000:
                deleted = client.delete(key)
                expired += deleted if isinstance(deleted, int) else 0
    finally:
        client.close()
    return expired
