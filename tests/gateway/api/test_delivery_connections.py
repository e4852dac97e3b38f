"""The ingress's round trip takes its connection from the pool without redis-py's read
check; a connection Redis closed while it sat idle is still opened again before use."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from gateway.api import delivery_queue
from gateway.api.delivery_queue import QueuedJob, queue_delivery
from gateway.jobs import ISSUE_EVENT_JOB, QUEUE_NAME, open_pool


def delivery(n: int) -> dict[str, Any]:
    return {
        "dedupe_key": f"gateway:webhook:seen:test:idle-{n}",
        "dedupe_ttl_seconds": 60,
        "jobs": [QueuedJob(ISSUE_EVENT_JOB, (1, "10001"), f"issue-event:1:10001:{n}")],
    }


async def drop_every_other_client(observer: ArqRedis) -> None:
    """What a Redis restart or its idle timeout does to the pool's idle connections."""
    killed = await observer.client_kill_filter(_type="normal", skipme=True)
    assert killed >= 1
    # The event loop reads each dropped connection's end of stream.
    await asyncio.sleep(0.2)


async def queue_after_redis_dropped_the_idle_connection(redis_url: str) -> bool:
    pool = await open_pool(redis_url)
    observer = await open_pool(redis_url)
    try:
        await observer.ping()
        assert await queue_delivery(pool, **delivery(0))
        await drop_every_other_client(observer)
        queued = await queue_delivery(pool, **delivery(1))
        assert len(await observer.zrange(QUEUE_NAME, 0, -1)) == 2
        return queued
    finally:
        await pool.aclose()
        await observer.aclose()


async def test_a_connection_redis_closed_while_idle_is_opened_again(redis_url: str) -> None:
    assert await queue_after_redis_dropped_the_idle_connection(redis_url)


async def test_without_the_check_the_closed_connection_fails_the_delivery(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_queue, "closed_by_server", lambda connection: False)
    with pytest.raises((RedisError, OSError)):
        await queue_after_redis_dropped_the_idle_connection(redis_url)


async def test_a_round_trip_leaves_its_connection_in_the_pool(arq_pool: ArqRedis) -> None:
    await arq_pool.ping()
    pool = arq_pool.connection_pool
    idle = len(pool._available_connections)

    assert await asyncio.gather(*(queue_delivery(arq_pool, **delivery(n)) for n in range(3)))

    assert len(pool._available_connections) == idle
    assert not pool._in_use_connections
