"""Redis locks shared by the forward tick, webhook jobs and the sweeper.

Inside a worker process a lock's token names the process (``gateway.runtime.presence``),
so when the process dies the other workers release its locks as soon as its presence
expires (``gateway.runtime.recovery``), not after the lock's TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

from gateway.runtime.presence import lock_token, release_later

TASK_LOCK_TIMEOUT_SECONDS = 120
TASK_LOCK_WAIT_SECONDS = 30
# Ticks and sweeps can run long; their locks stay short and are renewed while held,
# so a worker killed mid-tick blocks its domain for a minute, not for the longest tick.
TICK_LOCK_TIMEOUT_SECONDS = 60
LOCK_RENEW_FRACTION = 1 / 3


class LockBusy(Exception):
    """Someone else holds the lock; the work is left for them or the next run."""


def task_lock_name(domain_id: int, pf_task_id: int) -> str:
    return f"gateway:lock:task:{domain_id}:{pf_task_id}"


def tick_lock_name(domain_id: int) -> str:
    return f"gateway:lock:tick:{domain_id}"


def sweep_lock_name(domain_id: int) -> str:
    return f"gateway:lock:sweep:{domain_id}"


def reconcile_lock_name(domain_id: int) -> str:
    return f"gateway:lock:reconcile:{domain_id}"


@asynccontextmanager
async def redis_lock(
    redis: Redis, name: str, *, timeout: float, wait: float | None, renew: bool = False
) -> AsyncGenerator[None]:
    """Hold ``name`` for the block; ``wait=None`` means try once and raise LockBusy.

    With ``renew`` the lock's time-to-live is reset every third of ``timeout`` while
    the block runs, so ``timeout`` bounds how long a dead holder blocks others.
    """
    lock = redis.lock(name, timeout=timeout, blocking=wait is not None, blocking_timeout=wait)
    token = lock_token()
    try:
        acquired = await lock.acquire(token=token)
    except BaseException:
        release_later(name, token)  # cancelled or cut off after the SET may have landed
        raise
    if not acquired:
        raise LockBusy(name)

    async def keep_alive() -> None:
        while True:
            await asyncio.sleep(timeout * LOCK_RENEW_FRACTION)
            await lock.reacquire()

    renewer = asyncio.create_task(keep_alive()) if renew else None
    try:
        yield
    finally:
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, LockError, RedisError):
                await renewer
        try:
            await lock.release()
        except LockError:
            pass  # expired while held: someone else may own it now; nothing of ours
        except RedisError:
            release_later(name, token)  # Redis is down: release it once it is back


def domain_job_lock(redis: Redis, name: str, timeout: float) -> AbstractAsyncContextManager[None]:
    """A per-domain job's lock (tick, sweep): tried once, LockBusy when another run holds
    it, renewed while the job runs."""
    return redis_lock(redis, name, timeout=timeout, wait=None, renew=True)


def task_lock(redis: Redis, domain_id: int, pf_task_id: int) -> AbstractAsyncContextManager[None]:
    """The per-task lock every writer for one (domain, task) pair takes."""
    return redis_lock(
        redis,
        task_lock_name(domain_id, pf_task_id),
        timeout=TASK_LOCK_TIMEOUT_SECONDS,
        wait=TASK_LOCK_WAIT_SECONDS,
        renew=True,
    )
