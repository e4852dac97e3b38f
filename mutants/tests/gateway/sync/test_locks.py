"""Locks on a real Redis: held locks are renewed; a dead holder's lock lapses on its own."""

from __future__ import annotations

import asyncio

import pytest
from arq.connections import ArqRedis

from gateway.sync.locks import LockBusy, redis_lock


async def test_a_renewed_lock_outlives_its_timeout(arq_pool: ArqRedis) -> None:
    async with redis_lock(arq_pool, "gateway:lock:test", timeout=0.6, wait=None, renew=True):
        await asyncio.sleep(1.5)  # well past the timeout: still ours
        with pytest.raises(LockBusy):
            async with redis_lock(arq_pool, "gateway:lock:test", timeout=0.6, wait=None):
                pass
    # Released on exit: free at once.
    async with redis_lock(arq_pool, "gateway:lock:test", timeout=0.6, wait=None):
        pass


async def test_a_lock_whose_holder_died_lapses_after_its_timeout(arq_pool: ArqRedis) -> None:
    # A worker killed mid-tick never releases nor renews: the lock simply expires.
    holder = arq_pool.lock("gateway:lock:dead", timeout=0.5)
    assert await holder.acquire(blocking=False)
    with pytest.raises(LockBusy):
        async with redis_lock(arq_pool, "gateway:lock:dead", timeout=0.5, wait=None):
            pass
    await asyncio.sleep(0.7)
    async with redis_lock(arq_pool, "gateway:lock:dead", timeout=0.5, wait=None):
        pass
