"""Redis locks shared by the forward tick, webhook jobs and the sweeper."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import LockError

TASK_LOCK_TIMEOUT_SECONDS = 120
TASK_LOCK_WAIT_SECONDS = 30
TICK_LOCK_TIMEOUT_SECONDS = 900


class LockBusy(Exception):
    """Someone else holds the lock; the work is left for them or the next run."""


def task_lock_name(domain_id: int, pf_task_id: int) -> str:
    return f"gateway:lock:task:{domain_id}:{pf_task_id}"


def tick_lock_name(domain_id: int) -> str:
    return f"gateway:lock:tick:{domain_id}"


def sweep_lock_name(domain_id: int) -> str:
    return f"gateway:lock:sweep:{domain_id}"


@asynccontextmanager
async def redis_lock(
    redis: Redis, name: str, *, timeout: float, wait: float | None
) -> AsyncGenerator[None]:
    """Hold ``name`` for the block; ``wait=None`` means try once and raise LockBusy."""
    lock = redis.lock(name, timeout=timeout, blocking=wait is not None, blocking_timeout=wait)
    if not await lock.acquire():
        raise LockBusy(name)
    try:
        yield
    finally:
        # Expired while held: someone else may own it now; nothing of ours to release.
        with contextlib.suppress(LockError):
            await lock.release()


def task_lock(redis: Redis, domain_id: int, pf_task_id: int):
    """The per-task lock every writer for one (domain, task) pair takes."""
    return redis_lock(
        redis,
        task_lock_name(domain_id, pf_task_id),
        timeout=TASK_LOCK_TIMEOUT_SECONDS,
        wait=TASK_LOCK_WAIT_SECONDS,
    )
