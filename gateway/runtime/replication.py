"""Writes that survive a Redis failover: answered only once a replica holds them.

Redis replicates asynchronously: a master killed right after it answered loses
whatever it had not yet sent to its replica, and Sentinel then promotes that
replica. So with Sentinel the webhook ingress does not answer 202 on the master's
word alone: after the delivery is queued it asks ``WAIT 1 <ms>`` on the same
connection, and answers 503 (Jira retries) when no replica acknowledged in time.

``WAIT`` counts only the writes of the connection it is sent on, so the block's
writes and the WAIT share one connection; one more write of its own (a marker)
covers writes the block did not make, such as a duplicate delivery whose first
copy was accepted by a master that had not yet passed it on: a replica receives
the replication stream in order.

A master with no replica at all (the one a failover promoted, until the old one
returns as its replica) has nothing a failover could promote, so it accepts
alone; the pool remembers that and asks ``INFO`` instead of waiting out a ``WAIT``
on every delivery, until a replica is back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis
from redis.exceptions import ConnectionError as RedisConnectionError

REPLICATION_MARK_KEY = "gateway:replication-mark"


class NotReplicated(RedisConnectionError):
    """No replica acknowledged a write in time: a failover now could lose it, so the
    caller treats it as Redis being unavailable (the ingress answers 503)."""


class ReplicatedArqRedis(ArqRedis):
    """An ARQ pool on a Sentinel-managed master that knows how long to wait for a replica."""

    replica_ack_timeout_ms: int = 0
    alone: bool = False
    """The master had no replica at the last look: writes are not waited for."""


@asynccontextmanager
async def replicated_writes(pool: ArqRedis) -> AsyncGenerator[ArqRedis]:
    """A client for writes that must survive a failover; raises NotReplicated on exit
    unless a replica acknowledged them within the pool's ``replica_ack_timeout_ms``.

    A pool not on Sentinel (or with the wait turned off) is yielded unchanged.
    """
    if not isinstance(pool, ReplicatedArqRedis) or pool.replica_ack_timeout_ms <= 0:
        yield pool
        return
    conn = ReplicatedArqRedis(
        connection_pool=pool.connection_pool,
        single_connection_client=True,
        job_serializer=pool.job_serializer,
        job_deserializer=pool.job_deserializer,
        default_queue_name=pool.default_queue_name,
        expires_extra_ms=pool.expires_extra_ms,
    )
    try:
        yield conn
        await conn.set(REPLICATION_MARK_KEY, b"1")
        await _confirm(pool, conn)
    finally:
        await conn.aclose(close_connection_pool=False)


async def _confirm(pool: ReplicatedArqRedis, conn: ArqRedis) -> None:
    """Return once a replica has every write of ``conn``, or the master has none at all."""
    if pool.alone and not await _has_replicas(conn):
        return
    acknowledged = await conn.execute_command("WAIT", 1, pool.replica_ack_timeout_ms)
    if int(acknowledged) >= 1:
        pool.alone = False
        return
    if await _has_replicas(conn):
        raise NotReplicated(
            f"no replica acknowledged the write within {pool.replica_ack_timeout_ms} ms"
        )
    pool.alone = True


async def _has_replicas(conn: ArqRedis) -> bool:
    info = await conn.info("replication")
    return int(info.get("connected_slaves", 0)) > 0
