"""Redis Sentinel: the settings that ask for it, and the factory's clients on real sentinels.

The clusters are real: a primary, a replica and three sentinels, all the
``redis-server`` binary the gateway ships (``scenarios.sentinel_cluster``).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from arq.connections import ArqRedis
from fastapi import HTTPException

from gateway.api.delivery_queue import queue_delivery
from gateway.api.sites import SiteDomain
from gateway.api.webhooks import IssueRef, dedupe_key, enqueue
from gateway.checks import check_redis_reachable
from gateway.jobs import QUEUE_NAME, open_pool
from gateway.redis import (
    RedisUnavailable,
    SentinelTarget,
    check_redis,
    create_arq_pool,
    redis_client,
    resolve_redis,
)
from gateway.runtime.replication import NotReplicated, ReplicatedArqRedis, replicated_writes
from gateway.settings import ConfigurationError, load_settings
from scenarios.sentinel_cluster import SentinelCluster

FAILOVER_BOUND_SECONDS = 30.0
PASSWORD = "sentinel-test-password-0123"


def test_sentinels_are_parsed_and_normalised() -> None:
    settings = load_settings(
        redis_sentinels=" s1:26379, [::1]:26380 ,", redis_sentinel_master="orders"
    )
    assert settings.redis_sentinels == "s1:26379,[::1]:26380"
    assert settings.sentinel_addresses == (("s1", 26379), ("::1", 26380))
    assert not settings.uses_embedded_redis
    target = resolve_redis(settings)
    assert isinstance(target, SentinelTarget)
    assert target.master_name == "orders"
    assert target.replica_ack_timeout_ms == 500


@pytest.mark.parametrize("value", ["s1", "s1:port", "s1:0", "s1:70000", ":26379", "s1:26379,s2"])
def test_a_bad_sentinel_address_is_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings(redis_sentinels=value)
    message = str(error.value)
    assert message.startswith("GATEWAY_REDIS_SENTINELS: ")
    assert "is not host:port" in message
    assert "\n" not in message


def test_a_url_and_sentinels_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="GATEWAY_REDIS_URL and GATEWAY_REDIS_SENTINELS"):
        load_settings(redis_url="redis://localhost:6379/0", redis_sentinels="s1:26379")


def test_sentinel_passwords_without_sentinels_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="GATEWAY_REDIS_PASSWORD set without"):
        load_settings(redis_password="hunter2-hunter2")
    assert load_settings(redis_password="", redis_sentinel_password="").redis_password is None


def test_neither_url_nor_sentinels_keeps_the_embedded_redis() -> None:
    assert load_settings(redis_url="", redis_sentinels="").uses_embedded_redis


def test_passwords_never_show_in_the_target_or_its_description() -> None:
    settings = load_settings(
        redis_sentinels="s1:26379", redis_password=PASSWORD, redis_sentinel_password=PASSWORD
    )
    target = resolve_redis(settings)
    assert PASSWORD not in repr(target)
    assert PASSWORD not in str(target)
    assert PASSWORD not in repr(settings)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    started = SentinelCluster(tmp_path_factory.mktemp("sentinel")).start()
    try:
        yield started
    finally:
        started.stop()


def replica_has(cluster: SentinelCluster, key: str) -> bool:
    client = cluster.client(cluster.replica.port)
    deadline = time.monotonic() + 5
    try:
        while not client.exists(key) and time.monotonic() < deadline:
            time.sleep(0.02)
        return bool(client.exists(key))
    finally:
        client.close()


def test_check_reports_the_master_the_sentinels_name(cluster: SentinelCluster) -> None:
    found = check_redis(cluster.target)
    assert found.startswith(f"master 127.0.0.1:{cluster.primary.port} ")
    assert cluster.master_name in found


def test_clients_write_to_the_master(cluster: SentinelCluster) -> None:
    client = redis_client(cluster.target)
    try:
        client.set("sync-key", b"1")
    finally:
        client.close()

    async def enqueue() -> None:
        pool = await open_pool(cluster.target)
        try:
            await pool.enqueue_job("some_job", _job_id="sentinel-job")
        finally:
            await pool.aclose()

    asyncio.run(enqueue())
    primary = cluster.client(cluster.primary.port)
    try:
        assert primary.get("sync-key") == b"1"
        assert primary.zscore(QUEUE_NAME, "sentinel-job") is not None
    finally:
        primary.close()


def test_unreachable_sentinels_are_one_clear_error() -> None:
    target = SentinelTarget(sentinels=(("127.0.0.1", 1),), master_name="nowhere")
    with pytest.raises(
        RedisUnavailable, match=re.escape("sentinel master 'nowhere' via 127.0.0.1:1")
    ):
        check_redis(target)


async def queue_replicated(target: SentinelTarget, key: str) -> None:
    pool = await create_arq_pool(target, QUEUE_NAME)
    try:
        async with replicated_writes(pool) as conn:
            await conn.set(key, b"queued")
    finally:
        await pool.aclose()


def test_replicated_writes_wait_for_the_replica(cluster: SentinelCluster) -> None:
    target = SentinelTarget(cluster.target.sentinels, cluster.master_name, None, None, 500)
    asyncio.run(queue_replicated(target, "acknowledged"))
    assert replica_has(cluster, "acknowledged")


def test_a_write_no_replica_acknowledged_is_refused(cluster: SentinelCluster) -> None:
    """The replica is frozen: the write reached only the master, which a failover would
    lose, so the caller is told Redis is unavailable (the ingress answers 503)."""
    target = SentinelTarget(cluster.target.sentinels, cluster.master_name, None, None, 200)
    cluster.replica.send(signal.SIGSTOP)
    try:
        with pytest.raises(NotReplicated):
            asyncio.run(queue_replicated(target, "unacknowledged"))
    finally:
        cluster.replica.send(signal.SIGCONT)


def test_without_the_wait_an_unreplicated_write_is_accepted(cluster: SentinelCluster) -> None:
    """Negative: with ``replica_ack_timeout_ms`` 0 the same write is accepted although the
    frozen replica does not have it."""
    target = SentinelTarget(cluster.target.sentinels, cluster.master_name, None, None, 0)
    cluster.replica.send(signal.SIGSTOP)
    try:
        asyncio.run(queue_replicated(target, "unwaited"))  # no NotReplicated
        primary = cluster.client(cluster.primary.port)
        try:
            assert primary.get("unwaited") == b"queued"
        finally:
            primary.close()
    finally:
        cluster.replica.send(signal.SIGCONT)


def test_passwords_reach_the_sentinels_and_the_master(tmp_path: Path) -> None:
    secured = SentinelCluster(tmp_path, password=PASSWORD).start()
    try:
        assert check_redis(secured.target).startswith("master ")
        without = SentinelTarget(secured.target.sentinels, secured.master_name)
        with pytest.raises(RedisUnavailable) as error:
            check_redis(without)
        assert PASSWORD not in str(error.value)
    finally:
        secured.stop()


def test_the_pool_follows_the_master_through_a_failover(tmp_path: Path) -> None:
    """SIGKILL the primary: writes fail until the sentinels promote the replica, then the
    same pool writes to it (redis-py asks the sentinels again on reconnecting)."""
    failing = SentinelCluster(tmp_path).start()
    target = SentinelTarget(failing.target.sentinels, failing.master_name, None, None, 200)

    async def write_through_failover() -> int:
        pool = await create_arq_pool(target, QUEUE_NAME)
        try:
            await pool.set("before", b"1")
            failing.primary.kill()
            refused = 0
            deadline = time.monotonic() + FAILOVER_BOUND_SECONDS
            while time.monotonic() < deadline:
                try:
                    await pool.set("after", b"1")
                    # The promoted master has no replica left: it takes writes alone.
                    async with replicated_writes(pool) as conn:
                        await conn.set("alone", b"1")
                    assert isinstance(pool, ReplicatedArqRedis) and pool.alone
                    return refused
                except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
                    refused += 1
                    await asyncio.sleep(0.1)
            raise AssertionError("no write succeeded after the primary was killed")
        finally:
            await pool.aclose()

    try:
        refused = asyncio.run(write_through_failover())
        assert refused > 0, "the killed primary should have refused at least one write"
        assert failing.promoted()
        new_master = failing.client(failing.replica.port)
        try:
            assert new_master.get("before") == b"1"
            assert new_master.get("after") == b"1"
            assert new_master.get("alone") == b"1"
        finally:
            new_master.close()
        assert check_redis(failing.target).startswith(f"master 127.0.0.1:{failing.replica.port} ")
    finally:
        failing.stop()


def test_gateway_check_names_the_master(cluster: SentinelCluster, tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        redis_sentinels=cluster.sentinels_setting,
        redis_sentinel_master=cluster.master_name,
    )
    name, ok, detail = check_redis_reachable(settings)
    assert (name, ok) == ("redis", True)
    assert detail.startswith(f"master 127.0.0.1:{cluster.primary.port} ")


def test_gateway_check_names_the_sentinels_setting_when_they_do_not_answer(
    tmp_path: Path,
) -> None:
    settings = load_settings(data_dir=tmp_path, redis_sentinels="127.0.0.1:1")
    name, ok, detail = check_redis_reachable(settings)
    assert (name, ok) == ("redis", False)
    assert detail.startswith("GATEWAY_REDIS_SENTINELS: Redis at sentinel master 'mymaster'")


# -- the ingress batches deliveries with Sentinel too, one WAIT per batch ----------------

SITE = "https://sentinel.atlassian.net"


def waits_so_far(cluster: SentinelCluster) -> int:
    primary = cluster.client(cluster.primary.port)
    try:
        stats: dict[str, Any] = primary.info("commandstats")  # ty: ignore[invalid-assignment]
        return int(stats.get("cmdstat_wait", {"calls": 0})["calls"])
    finally:
        primary.close()


def deliver_together(target: SentinelTarget, tokens: list[str]) -> list[int]:
    """Each delivery's status through the ingress's ``enqueue``, all arriving at once."""
    settings = load_settings()

    async def one(pool: ArqRedis, token: str) -> int:
        issue = IssueRef(issue_id="10001", issue_key="HR-1", site=SITE, labels=frozenset())
        try:
            answer = await enqueue(
                pool,
                settings=settings,
                issue=issue,
                domains=[SiteDomain(id=1, tracking_label="PeopleForce")],
                token=token,
                identifier=token,
            )
        except HTTPException as refused:
            return refused.status_code
        return answer.status_code

    async def together() -> list[int]:
        pool = await create_arq_pool(target, QUEUE_NAME)
        try:
            return await asyncio.gather(*(one(pool, token) for token in tokens))
        finally:
            await pool.aclose()

    return asyncio.run(together())


def test_deliveries_arriving_together_share_one_replica_wait(cluster: SentinelCluster) -> None:
    target = SentinelTarget(cluster.target.sentinels, cluster.master_name, None, None, 2000)
    tokens = [f"batched-{n}" for n in range(10)]
    # Once loaded, the script runs at once (a first batch runs twice: see test_delivery_queue).
    assert deliver_together(target, ["script-loaded"]) == [202]
    before = waits_so_far(cluster)

    assert deliver_together(target, tokens) == [202] * 10

    assert waits_so_far(cluster) - before == 1, "one WAIT for the whole batch"
    replica = cluster.client(cluster.replica.port)
    try:
        # Checked once, without polling: the WAIT already saw each 202's writes replicated.
        assert all(replica.exists(dedupe_key(SITE, token)) for token in tokens)
    finally:
        replica.close()


def test_a_batch_no_replica_acknowledged_is_refused_whole(cluster: SentinelCluster) -> None:
    """The frozen replica acknowledges nothing: every delivery of the batch gets 503 (Jira
    retries), none a 202 a failover could lose."""
    target = SentinelTarget(cluster.target.sentinels, cluster.master_name, None, None, 200)
    before = waits_so_far(cluster)
    cluster.replica.send(signal.SIGSTOP)
    try:
        statuses = deliver_together(target, [f"frozen-{n}" for n in range(5)])
    finally:
        cluster.replica.send(signal.SIGCONT)
    assert statuses == [503] * 5
    assert waits_so_far(cluster) - before == 1


def test_without_the_wait_a_batch_is_accepted_unreplicated(cluster: SentinelCluster) -> None:
    """Negative: with ``replica_ack_timeout_ms`` 0 the same batch is accepted (and sends no
    WAIT) although the frozen replica has none of it."""
    target = SentinelTarget(cluster.target.sentinels, cluster.master_name, None, None, 0)
    before = waits_so_far(cluster)
    cluster.replica.send(signal.SIGSTOP)
    try:
        statuses = deliver_together(target, [f"unwaited-{n}" for n in range(5)])
    finally:
        cluster.replica.send(signal.SIGCONT)
    assert statuses == [202] * 5
    assert waits_so_far(cluster) == before


def test_a_pool_that_found_the_master_alone_waits_again_once_a_replica_is_back(
    cluster: SentinelCluster,
) -> None:
    """After a failover the promoted master had no replica (``alone``); once the old master
    is back as its replica, the batch's INFO shows it and the batch waits for it again."""
    target = SentinelTarget(cluster.target.sentinels, cluster.master_name, None, None, 2000)
    keys = [f"gateway:webhook:seen:test:returned-{n}" for n in range(3)]

    async def batch() -> tuple[list[bool], bool]:
        pool = await create_arq_pool(target, QUEUE_NAME)
        assert isinstance(pool, ReplicatedArqRedis)
        pool.alone = True
        try:
            answers = await asyncio.gather(
                *(queue_delivery(pool, dedupe_key=k, dedupe_ttl_seconds=60, jobs=[]) for k in keys)
            )
            return list(answers), pool.alone
        finally:
            await pool.aclose()

    assert deliver_together(target, ["script-loaded-again"]) == [202]
    before = waits_so_far(cluster)
    answers, alone = asyncio.run(batch())
    assert answers == [True, True, True] and not alone
    assert waits_so_far(cluster) - before == 1
    replica = cluster.client(cluster.replica.port)
    try:
        assert all(replica.exists(key) for key in keys)
    finally:
        replica.close()
