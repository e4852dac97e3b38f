"""The ingress's one Redis round trip: dedupe a delivery and queue its jobs, atomically.

Run against the real (embedded) Redis, and read back with ARQ's own functions, so
a job queued here is exactly what an ARQ worker would pick up.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import deserialize_job_raw
from redis.exceptions import RedisError, ResponseError

from gateway.api.delivery_queue import QueuedJob, StaleDirectory, queue_delivery, resp_command
from gateway.jobs import ISSUE_EVENT_JOB, QUEUE_NAME, open_pool
from gateway.redis import EmbeddedRedis
from gateway.runtime.replication import REPLICATION_MARK_KEY, ReplicatedArqRedis

DEDUPE = "gateway:webhook:seen:test:delivery-1"


def job(job_id: str = "issue-event:1:10001", issue_id: str = "10001") -> QueuedJob:
    return QueuedJob(function=ISSUE_EVENT_JOB, args=(1, issue_id), job_id=job_id)


async def queued_ids(pool: ArqRedis) -> list[str]:
    return [raw.decode() for raw in await pool.zrange(QUEUE_NAME, 0, -1)]


async def test_a_new_delivery_queues_its_job_as_arq_would(arq_pool: ArqRedis) -> None:
    before_ms = int(time.time() * 1000)
    assert await queue_delivery(arq_pool, dedupe_key=DEDUPE, dedupe_ttl_seconds=60, jobs=[job()])
    after_ms = int(time.time() * 1000)

    assert arq_pool.default_queue_name == QUEUE_NAME
    assert await queued_ids(arq_pool) == ["issue-event:1:10001"]
    [(_, score)] = await arq_pool.zrange(QUEUE_NAME, 0, -1, withscores=True)
    assert before_ms <= score <= after_ms, "queued to run now, not later"
    raw = await arq_pool.get(job_key_prefix + "issue-event:1:10001")
    assert raw is not None
    function, args, kwargs, tries, enqueued_ms = deserialize_job_raw(raw)
    assert (function, args, kwargs, tries) == (ISSUE_EVENT_JOB, (1, "10001"), {}, None)
    assert before_ms <= enqueued_ms <= after_ms
    job_ttl = await arq_pool.pttl(job_key_prefix + "issue-event:1:10001")
    assert 0 < job_ttl <= arq_pool.expires_extra_ms
    assert job_ttl > arq_pool.expires_extra_ms - 60_000
    assert await arq_pool.get(DEDUPE) == b"queued"
    assert 55 <= await arq_pool.ttl(DEDUPE) <= 60


async def test_a_repeated_delivery_queues_nothing(arq_pool: ArqRedis) -> None:
    assert await queue_delivery(arq_pool, dedupe_key=DEDUPE, dedupe_ttl_seconds=60, jobs=[job()])
    await arq_pool.delete(QUEUE_NAME, job_key_prefix + "issue-event:1:10001")

    again = await queue_delivery(arq_pool, dedupe_key=DEDUPE, dedupe_ttl_seconds=60, jobs=[job()])

    assert again is False
    assert await queued_ids(arq_pool) == []
    assert await arq_pool.get(job_key_prefix + "issue-event:1:10001") is None


async def test_another_delivery_for_a_job_already_queued_keeps_one_job(arq_pool: ArqRedis) -> None:
    assert await queue_delivery(arq_pool, dedupe_key=DEDUPE, dedupe_ttl_seconds=60, jobs=[job()])
    original = await arq_pool.get(job_key_prefix + "issue-event:1:10001")
    other = "gateway:webhook:seen:test:delivery-2"
    later = job(issue_id="99999")  # same job id, other payload: must not overwrite

    assert await queue_delivery(arq_pool, dedupe_key=other, dedupe_ttl_seconds=60, jobs=[later])

    assert await queued_ids(arq_pool) == ["issue-event:1:10001"]
    assert await arq_pool.get(job_key_prefix + "issue-event:1:10001") == original
    assert await arq_pool.get(other) == b"queued"


async def test_a_job_whose_result_is_still_kept_is_not_queued_again(arq_pool: ArqRedis) -> None:
    await arq_pool.set(result_key_prefix + "issue-event:1:10001", b"done")

    assert await queue_delivery(arq_pool, dedupe_key=DEDUPE, dedupe_ttl_seconds=60, jobs=[job()])

    assert await queued_ids(arq_pool) == []
    assert await arq_pool.get(job_key_prefix + "issue-event:1:10001") is None


async def test_several_jobs_of_one_delivery_are_queued_together(arq_pool: ArqRedis) -> None:
    jobs = [job(f"issue-event:{n}:10001") for n in (1, 2, 3)]

    assert await queue_delivery(arq_pool, dedupe_key=DEDUPE, dedupe_ttl_seconds=60, jobs=jobs)

    assert sorted(await queued_ids(arq_pool)) == [j.job_id for j in jobs]
    for queued in jobs:
        raw = await arq_pool.get(job_key_prefix + queued.job_id)
        assert raw is not None
        assert deserialize_job_raw(raw)[1] == queued.args


@pytest.mark.parametrize("ttl", [1, 3600])
async def test_the_dedupe_key_lives_for_the_ttl_given(arq_pool: ArqRedis, ttl: int) -> None:
    assert await queue_delivery(arq_pool, dedupe_key=DEDUPE, dedupe_ttl_seconds=ttl, jobs=[])
    assert await queued_ids(arq_pool) == []
    assert ttl - 2 < await arq_pool.ttl(DEDUPE) <= ttl


async def test_jobs_use_the_pool_serializer_as_enqueue_job_would(arq_pool: ArqRedis) -> None:
    def tagged(job: dict[str, Any]) -> bytes:
        return b"tagged:" + pickle.dumps(job)

    pool = ArqRedis(connection_pool=arq_pool.connection_pool, job_serializer=tagged)
    assert await queue_delivery(pool, dedupe_key=DEDUPE, dedupe_ttl_seconds=60, jobs=[job()])
    raw = await arq_pool.get(job_key_prefix + "issue-event:1:10001")
    assert raw is not None and raw.startswith(b"tagged:")
    assert pickle.loads(raw.removeprefix(b"tagged:"))["a"] == (1, "10001")


# -- deliveries that arrive together share one round trip ---------------------------------


def delivery(n: int, issue_id: str = "10001") -> dict[str, Any]:
    return {
        "dedupe_key": f"gateway:webhook:seen:test:together-{n}",
        "dedupe_ttl_seconds": 60,
        "jobs": [job(f"issue-event:1:{issue_id}:{n}", issue_id)],
    }


async def connected_clients(pool: ArqRedis) -> int:
    return len(await pool.client_list())


async def test_deliveries_arriving_together_share_one_connection(redis_url: str) -> None:
    pool = await open_pool(redis_url)
    observer = await open_pool(redis_url)
    try:
        await observer.ping()
        before = await connected_clients(observer)
        answers = await asyncio.gather(*(queue_delivery(pool, **delivery(n)) for n in range(10)))
        # One pipelined round trip reuses the pool's one connection (opened by its
        # start-up ping); ten separate round trips at once would open nine more.
        assert await connected_clients(observer) == before
        assert answers == [True] * 10
        assert sorted(await queued_ids(pool)) == sorted(
            f"issue-event:1:10001:{n}" for n in range(10)
        )
    finally:
        await pool.aclose()
        await observer.aclose()


async def test_each_delivery_of_a_batch_gets_its_own_answer(arq_pool: ArqRedis) -> None:
    assert await queue_delivery(arq_pool, **delivery(1))
    assert await queue_delivery(arq_pool, **delivery(3))

    answers = await asyncio.gather(*(queue_delivery(arq_pool, **delivery(n)) for n in range(5)))

    assert answers == [True, False, True, False, True]
    assert len(await queued_ids(arq_pool)) == 5


async def test_a_batch_after_redis_forgot_the_script_is_queued(arq_pool: ArqRedis) -> None:
    assert await queue_delivery(arq_pool, **delivery(0))
    await arq_pool.script_flush()
    before = await arq_pool.info("commandstats")

    answers = await asyncio.gather(*(queue_delivery(arq_pool, **delivery(n)) for n in (1, 2, 0)))

    assert answers == [True, True, False]
    assert len(await queued_ids(arq_pool)) == 3
    after = await arq_pool.info("commandstats")
    # Each script ran once after the reload; the lost attempts wrote nothing.
    assert (
        after["cmdstat_script"]["calls"] == before.get("cmdstat_script", {"calls": 0})["calls"] + 1
    )
    ran = after["cmdstat_evalsha"]["calls"] - before["cmdstat_evalsha"]["calls"]
    assert ran == 6


async def test_a_script_error_fails_only_its_own_delivery(arq_pool: ArqRedis) -> None:
    await arq_pool.set("gateway:webhook:seen:test:together-1", b"x")
    await arq_pool.sadd(QUEUE_NAME, b"wrong type")  # ZADD into a set: the script errors

    answers = await asyncio.gather(
        queue_delivery(arq_pool, **delivery(0)),
        queue_delivery(arq_pool, **delivery(1)),
        return_exceptions=True,
    )

    assert isinstance(answers[0], ResponseError)
    assert answers[1] is False


async def test_redis_unreachable_fails_every_delivery_of_the_batch(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    pool = await open_pool(server.ensure_running())
    try:
        assert await queue_delivery(pool, **delivery(0))
        server.stop()
        answers = await asyncio.gather(
            *(queue_delivery(pool, **delivery(n)) for n in (1, 2, 3)), return_exceptions=True
        )
        assert all(isinstance(a, (RedisError, OSError)) for a in answers), answers
        server.ensure_running()
        assert await queue_delivery(pool, **delivery(1))
        assert await queued_ids(pool) == ["issue-event:1:10001:0", "issue-event:1:10001:1"]
    finally:
        await pool.aclose()
        server.stop()


def test_commands_are_written_in_redis_wire_format() -> None:
    assert resp_command(b"EVALSHA", "ab", 2, b"\x00\r\n") == (
        b"*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n2\r\n$3\r\n\x00\r\n\r\n"
    )
    assert resp_command("é") == b"*1\r\n$2\r\n\xc3\xa9\r\n"


async def test_a_cancelled_delivery_does_not_keep_the_others_waiting(arq_pool: ArqRedis) -> None:
    first, *others = [
        asyncio.ensure_future(queue_delivery(arq_pool, **delivery(n))) for n in range(3)
    ]
    await asyncio.sleep(0)  # all three have joined the batch; it is not sent yet
    first.cancel()

    assert await asyncio.gather(*others) == [True, True]
    with pytest.raises(asyncio.CancelledError):
        await first


# -- a pool that waits for a replica (Sentinel), on a master that has none ---------------


def replicated(pool: ArqRedis, ack_timeout_ms: int) -> ReplicatedArqRedis:
    """The pool a Sentinel target gets, on the embedded server's connections."""
    waiting = ReplicatedArqRedis(
        connection_pool=pool.connection_pool, default_queue_name=pool.default_queue_name
    )
    waiting.replica_ack_timeout_ms = ack_timeout_ms
    return waiting


async def waits(pool: ArqRedis) -> int:
    stats = await pool.info("commandstats")
    return int(stats.get("cmdstat_wait", {"calls": 0})["calls"])


async def test_a_master_without_replica_accepts_a_batch_alone_then_stops_waiting(
    arq_pool: ArqRedis,
) -> None:
    """The batch's round trip ends with the marker and one WAIT; no replica acknowledges and
    none is connected, so the batch is accepted and the pool remembers the master is alone:
    the next batch asks INFO instead of waiting again. (With a replica: test_redis_sentinel.)"""
    pool = replicated(arq_pool, 50)
    assert await queue_delivery(pool, **delivery(0))  # loads the script
    before = await waits(arq_pool)

    answers = await asyncio.gather(*(queue_delivery(pool, **delivery(n)) for n in (1, 2, 3)))

    assert answers == [True, True, True]
    assert await waits(arq_pool) == before
    assert pool.alone
    assert await arq_pool.get(REPLICATION_MARK_KEY) == b"1"
    assert len(await queued_ids(arq_pool)) == 4


async def test_the_first_batch_on_such_a_master_waits_once(arq_pool: ArqRedis) -> None:
    pool = replicated(arq_pool, 50)
    assert await queue_delivery(arq_pool, **delivery(9))  # loads the script, waits for nobody
    before = await waits(arq_pool)

    answers = await asyncio.gather(*(queue_delivery(pool, **delivery(n)) for n in range(4)))

    assert answers == [True] * 4
    assert await waits(arq_pool) == before + 1
    assert pool.alone


async def test_a_pool_that_does_not_wait_writes_no_marker(arq_pool: ArqRedis) -> None:
    """Negative: without a replica acknowledgement asked for, the round trip is the scripts
    alone, as with a single Redis."""
    pool = replicated(arq_pool, 0)
    before = await waits(arq_pool)
    assert await asyncio.gather(*(queue_delivery(pool, **delivery(n)) for n in range(3)))
    assert await waits(arq_pool) == before
    assert await arq_pool.get(REPLICATION_MARK_KEY) is None
    assert not pool.alone


VERSION_KEY = "gateway:webhook:directory:version"


async def test_a_delivery_verified_under_the_current_directory_version_is_queued(
    arq_pool: ArqRedis,
) -> None:
    await arq_pool.set(VERSION_KEY, "7")
    queued = await queue_delivery(
        arq_pool,
        dedupe_key=DEDUPE,
        dedupe_ttl_seconds=60,
        jobs=[job()],
        directory=(VERSION_KEY, "7"),
    )
    assert queued is True
    assert await queued_ids(arq_pool) == ["issue-event:1:10001"]


async def test_a_delivery_verified_under_an_old_directory_version_writes_nothing(
    arq_pool: ArqRedis,
) -> None:
    """A secret was rotated after the delivery was verified: the script refuses it whole,
    so the delivery is verified again rather than queued under a retired secret."""
    await arq_pool.set(VERSION_KEY, "8")
    with pytest.raises(StaleDirectory):
        await queue_delivery(
            arq_pool,
            dedupe_key=DEDUPE,
            dedupe_ttl_seconds=60,
            jobs=[job()],
            directory=(VERSION_KEY, "7"),
        )
    assert await queued_ids(arq_pool) == []
    assert await arq_pool.get(DEDUPE) is None
