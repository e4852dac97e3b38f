"""Locks on a real Redis: held locks are renewed; a dead holder's lock lapses on its own.

Redis counts a lock's time to live in real time, so these tests cannot move a fake
clock; instead they wait for what they claim to observe (renewals seen in the key's
TTL, the key gone) rather than for a fixed sleep, so a slow machine makes them
slower, never wrong.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from arq.connections import ArqRedis

from gateway.sync import locks
from gateway.sync.locks import (
    LOCK_RENEW_FRACTION,
    TASK_LOCK_TIMEOUT_SECONDS,
    LockBusy,
    redis_lock,
    sweep_lock_name,
    task_lock,
    task_lock_name,
    tick_lock_name,
)

OBSERVE_LIMIT_SECONDS = 30.0
POLL_SECONDS = 0.01


async def renewals_seen(pool: ArqRedis, name: str, wanted: int) -> int:
    """Watch the lock's TTL until it has gone back up ``wanted`` times (each a renewal)."""
    seen, previous = 0, await pool.pttl(name)
    deadline = time.monotonic() + OBSERVE_LIMIT_SECONDS
    while seen < wanted and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        current = await pool.pttl(name)
        assert current > 0, "the lock expired while it was held"
        if current > previous:
            seen += 1
        previous = current
    return seen


async def test_a_renewed_lock_outlives_its_timeout(arq_pool: ArqRedis) -> None:
    name, timeout = "gateway:lock:test", 0.6
    held_since = time.monotonic()
    async with redis_lock(arq_pool, name, timeout=timeout, wait=None, renew=True):
        # Each renewal comes at least a third of the timeout after the last one, so after
        # 1/LOCK_RENEW_FRACTION + 1 of them the lock has been held longer than its timeout.
        wanted = round(1 / LOCK_RENEW_FRACTION) + 1
        assert await renewals_seen(arq_pool, name, wanted) == wanted
        assert time.monotonic() - held_since > timeout
        with pytest.raises(LockBusy):
            async with redis_lock(arq_pool, name, timeout=timeout, wait=None):
                pass
    # Released on exit: free at once.
    assert await arq_pool.exists(name) == 0
    async with redis_lock(arq_pool, name, timeout=timeout, wait=None):
        pass


async def test_a_lock_lives_for_its_timeout(arq_pool: ArqRedis) -> None:
    name = "gateway:lock:plain"
    async with redis_lock(arq_pool, name, timeout=60, wait=None):
        assert 59_000 < await arq_pool.pttl(name) <= 60_000


async def test_a_lock_whose_holder_died_lapses_after_its_timeout(arq_pool: ArqRedis) -> None:
    # A worker killed mid-tick never releases nor renews: the lock simply expires.
    name = "gateway:lock:dead"
    holder = arq_pool.lock(name, timeout=5)
    assert await holder.acquire(blocking=False)
    with pytest.raises(LockBusy):
        async with redis_lock(arq_pool, name, timeout=5, wait=None):
            pass
    ttl = await arq_pool.pttl(name)
    assert 0 < ttl <= 5000, "a lock without a time to live would block its domain forever"
    # Time passes for Redis: the dead holder's lock expires as its TTL said it would.
    await arq_pool.pexpire(name, 1)
    deadline = time.monotonic() + OBSERVE_LIMIT_SECONDS
    while await arq_pool.exists(name) and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
    async with redis_lock(arq_pool, name, timeout=5, wait=None):
        pass


async def test_a_busy_lock_waits_for_its_holder_when_asked_to(arq_pool: ArqRedis) -> None:
    name = "gateway:lock:wait"
    entered = asyncio.Event()
    leave = asyncio.Event()

    async def holder() -> None:
        async with redis_lock(arq_pool, name, timeout=30, wait=None):
            entered.set()
            await leave.wait()

    task = asyncio.create_task(holder())
    await entered.wait()
    waiter = asyncio.create_task(_take(arq_pool, name, wait=30))
    await asyncio.sleep(0.05)
    assert not waiter.done(), "the waiter took a lock that was held"
    leave.set()
    await task
    assert await asyncio.wait_for(waiter, OBSERVE_LIMIT_SECONDS) is True


async def _take(pool: ArqRedis, name: str, *, wait: float) -> bool:
    async with redis_lock(pool, name, timeout=30, wait=wait):
        return True


async def test_the_task_lock_is_per_domain_and_task_waits_and_is_renewed(
    arq_pool: ArqRedis,
) -> None:
    name = task_lock_name(3, 41)
    assert name == "gateway:lock:task:3:41"
    assert {tick_lock_name(3), sweep_lock_name(3)} == {
        "gateway:lock:tick:3",
        "gateway:lock:sweep:3",
    }
    async with task_lock(arq_pool, 3, 41):
        ttl = await arq_pool.pttl(name)
        assert TASK_LOCK_TIMEOUT_SECONDS * 1000 - 5000 < ttl <= TASK_LOCK_TIMEOUT_SECONDS * 1000
        async with task_lock(arq_pool, 3, 42), task_lock(arq_pool, 4, 41):
            pass  # other tasks and other domains are not blocked
        # A second writer for the same task waits (up to TASK_LOCK_WAIT_SECONDS), never fails.
        waiter = asyncio.create_task(_enter_task_lock(arq_pool, 3, 41))
        await asyncio.sleep(0.05)
        assert not waiter.done()
    assert await asyncio.wait_for(waiter, OBSERVE_LIMIT_SECONDS) is True


async def test_the_task_lock_is_renewed_while_held(
    arq_pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short timeout, so renewals come within the test rather than every 40 s.
    monkeypatch.setattr(locks, "TASK_LOCK_TIMEOUT_SECONDS", 0.6)
    async with task_lock(arq_pool, 3, 41):
        assert await renewals_seen(arq_pool, task_lock_name(3, 41), 2) == 2


async def _enter_task_lock(pool: ArqRedis, domain_id: int, task_id: int) -> bool:
    async with task_lock(pool, domain_id, task_id):
        return True
