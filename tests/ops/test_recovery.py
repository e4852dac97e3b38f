"""Presence and recovery on a real Redis: what a dead worker leaves is handed back, and
nothing a live worker holds is ever taken from it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix

from gateway.jobs import QUEUE_NAME, TICK_JOB
from gateway.runtime import presence
from gateway.runtime.presence import PresenceConfig, lock_owner, lock_token, read_presence
from gateway.runtime.recovery import Recovery, release_orphaned_locks

IN_PROGRESS_TTL_MS = 610_000
TTL_SECONDS = 2


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def config(redis_url: str) -> PresenceConfig:
    return PresenceConfig(
        redis_url=redis_url,
        ttl_seconds=TTL_SECONDS,
        recovery_interval_seconds=0.5,
        queue_name=QUEUE_NAME,
        in_progress_ttl_ms=IN_PROGRESS_TTL_MS,
    )


async def started_long_ago(pool: ArqRedis, client: redis.Redis, job_id: str) -> None:
    """A job ARQ queued and a worker marked in progress a minute ago."""
    await pool.enqueue_job(TICK_JOB, 9, _job_id=job_id)
    client.psetex(in_progress_key_prefix + job_id, IN_PROGRESS_TTL_MS - 60_000, b"1")


async def test_a_dead_workers_job_is_released_on_the_second_look(
    arq_pool: ArqRedis, client: redis.Redis, config: PresenceConfig
) -> None:
    await started_long_ago(arq_pool, client, "tick:9")
    recovery = Recovery()
    assert recovery(client, config).jobs == []  # first look: only noted
    assert recovery(client, config).jobs == ["tick:9"]
    assert not client.exists(in_progress_key_prefix + "tick:9")
    assert client.exists(job_key_prefix + "tick:9")  # still queued: ARQ runs it again


async def test_a_job_a_live_worker_claims_is_never_released(
    arq_pool: ArqRedis, client: redis.Redis, config: PresenceConfig
) -> None:
    await started_long_ago(arq_pool, client, "tick:9")
    client.set(presence.presence_key("other-host:1"), '{"jobs": ["tick:9"]}', px=5000)
    recovery = Recovery()
    for _ in range(3):
        assert recovery(client, config).jobs == []
    assert client.exists(in_progress_key_prefix + "tick:9")


async def test_a_job_that_just_started_is_left_alone(
    arq_pool: ArqRedis, client: redis.Redis, config: PresenceConfig
) -> None:
    # Marked half a second ago: its worker may not have announced it yet.
    await arq_pool.enqueue_job(TICK_JOB, 9, _job_id="tick:9")
    client.psetex(in_progress_key_prefix + "tick:9", IN_PROGRESS_TTL_MS - 500, b"1")
    recovery = Recovery()
    assert recovery(client, config).jobs == []
    assert recovery(client, config).jobs == []
    assert client.exists(in_progress_key_prefix + "tick:9")


async def test_a_marker_set_again_between_looks_is_not_released(
    arq_pool: ArqRedis, client: redis.Redis, config: PresenceConfig
) -> None:
    await started_long_ago(arq_pool, client, "tick:9")
    recovery = Recovery()
    assert recovery(client, config).jobs == []
    # Another worker took the job meanwhile: a fresh marker, a longer TTL.
    client.psetex(in_progress_key_prefix + "tick:9", IN_PROGRESS_TTL_MS - 30_000, b"1")
    assert recovery(client, config).jobs == []
    assert client.exists(in_progress_key_prefix + "tick:9")


async def test_a_finished_cron_jobs_marker_is_kept(
    client: redis.Redis, config: PresenceConfig
) -> None:
    # ARQ keeps a finished cron job's marker 60 s so it cannot run twice; no job key left.
    client.zadd(QUEUE_NAME, {"cron:schedule_due_work:1": 1})
    client.psetex(in_progress_key_prefix + "cron:schedule_due_work:1", 50_000, b"1")
    recovery = Recovery()
    recovery(client, config)
    assert recovery(client, config).jobs == []
    assert client.exists(in_progress_key_prefix + "cron:schedule_due_work:1")


def test_locks_of_dead_workers_are_released_and_no_other(client: redis.Redis) -> None:
    client.set("gateway:lock:tick:1", "w|dead-host:1|a", px=60_000)
    client.set("gateway:lock:tick:2", "w|live-host:2|b", px=60_000)
    client.set("gateway:lock:tick:3", "0123456789abcdef", px=60_000)  # a CLI tick's
    released = release_orphaned_locks(client, {"live-host:2"})
    assert released == ["gateway:lock:tick:1"]
    assert client.exists("gateway:lock:tick:2") and client.exists("gateway:lock:tick:3")


def test_lock_tokens_name_the_worker_process_only_inside_a_worker(
    client: redis.Redis, config: PresenceConfig
) -> None:
    assert lock_owner(lock_token()) is None
    presence.join(config)
    try:
        assert lock_owner(lock_token()) == presence.process_id()
        assert presence.process_id() in read_presence(client)
    finally:
        presence.leave(config)
    assert lock_owner(lock_token()) is None
    assert presence.process_id() not in read_presence(client)


def test_a_started_job_is_announced_at_once(client: redis.Redis, config: PresenceConfig) -> None:
    # Beats every 20 s: only the announcement a job start triggers can be seen in time.
    config = replace(config, ttl_seconds=60)
    presence.join(config)
    try:
        release = presence.claim_job({"job_id": "jira-event:1:2:3"})
        deadline = time.monotonic() + 5
        announced: set[str] = set()
        while time.monotonic() < deadline and "jira-event:1:2:3" not in announced:
            announced = read_presence(client).get(presence.process_id(), set())
            time.sleep(0.01)
        assert "jira-event:1:2:3" in announced
        release()
    finally:
        presence.leave(config)


async def test_recovery_knows_how_long_arq_keeps_its_markers(settings, arq_pool: ArqRedis):
    """ARQ marks every job for the longest timeout of any function + 10 s. A cron with a
    longer timeout (the hourly audit prune once had 3600 s) stretched every marker to an
    hour while recovery still expected 610 s, took each marker for a fresh one and never
    released it: a killed worker's tick waited an hour."""
    from gateway.runtime.worker_loop import build_worker
    from gateway.worker import IN_PROGRESS_SECONDS_KEY, WorkerSettings

    worker = build_worker(settings, burst=False, pool=arq_pool)

    assert worker.ctx[IN_PROGRESS_SECONDS_KEY] == worker.in_progress_timeout_s
    assert worker.in_progress_timeout_s == WorkerSettings.job_timeout + 10, (
        "a job or cron with its own longer timeout stretches every in-progress marker"
    )
    config = presence.config_for(settings, QUEUE_NAME, worker.ctx[IN_PROGRESS_SECONDS_KEY])
    assert config.in_progress_ttl_ms == worker.in_progress_timeout_s * 1000
