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

The ingress batches deliveries into one pipelined round trip; it ends the batch
with the marker and the ``WAIT`` (``confirmation_commands``) and settles the whole
batch on that ``WAIT``'s answer (``settle``): one ``WAIT`` for many deliveries.

A master with no replica at all (the one a failover promoted, until the old one
returns as its replica) has nothing a failover could promote, so it accepts
alone; the pool remembers that and asks ``INFO`` instead of waiting out a ``WAIT``
on every delivery, until a replica is back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeGuard

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
    if not waits_for_replica(pool):
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


def waits_for_replica(pool: ArqRedis) -> TypeGuard[ReplicatedArqRedis]:
    """True when writes through ``pool`` count only once a replica acknowledged them."""
    return isinstance(pool, ReplicatedArqRedis) and pool.replica_ack_timeout_ms > 0


def confirmation_commands(pool: ReplicatedArqRedis) -> list[tuple[Any, ...]]:
    """The commands that end a pipelined batch of writes: the marker, then ``WAIT``, or,
    when the master was alone at the last look, ``INFO replication`` (no wait).

    ``settle`` takes the answer to the last of them."""
    last = ("INFO", "replication") if pool.alone else ("WAIT", 1, pool.replica_ack_timeout_ms)
    return [("SET", REPLICATION_MARK_KEY, "1"), last]


async def settle(
    pool: ReplicatedArqRedis,
    answer: Any,
    *,
    wait: Callable[[], Awaitable[Any]],
    replicas: Callable[[], Awaitable[int]],
) -> None:
    """Return once a replica has every write before the marker, or the master has none.

    ``answer`` is the reply to the last of ``confirmation_commands``; ``wait`` sends
    ``WAIT`` on the connection that wrote the marker and ``replicas`` counts the
    master's connected replicas. Raises NotReplicated when a replica is connected but
    did not acknowledge in time.
    """
    if pool.alone:
        if replica_count(answer) == 0:
            return
        answer = await wait()
    if int(answer) >= 1:
        pool.alone = False
        return
    if await replicas() > 0:
        raise NotReplicated(
            f"no replica acknowledged the write within {pool.replica_ack_timeout_ms} ms"
        )
    pool.alone = True


async def settle_batch(pool: ArqRedis, connection: Any, answer: Any) -> None:
    """``settle`` for a batch pipelined on ``connection`` (a redis-py ``Connection``, the
    one that wrote the marker: ``WAIT`` counts only its own connection's writes)."""
    assert waits_for_replica(pool)

    async def ask(*command: Any) -> Any:
        await connection.send_command(*command)
        return await connection.read_response()

    async def replicas() -> int:
        return replica_count(await ask("INFO", "replication"))

    await settle(
        pool, answer, wait=lambda: ask("WAIT", 1, pool.replica_ack_timeout_ms), replicas=replicas
    )


def replica_count(info: Any) -> int:
    """``connected_slaves`` of an ``INFO replication`` answer, parsed (dict) or raw (bytes)."""
    if isinstance(info, dict):
        return int(info.get("connected_slaves", 0))
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("connected_slaves:"):
            return int(line.partition(":")[2])
    return 0


async def _confirm(pool: ReplicatedArqRedis, conn: ArqRedis) -> None:
    """Return once a replica has every write of ``conn``, or the master has none at all."""
    _, last = confirmation_commands(pool)
    await settle(
        pool,
        await conn.execute_command(*last),
        wait=lambda: conn.execute_command("WAIT", 1, pool.replica_ack_timeout_ms),
        replicas=lambda: _replicas(conn),
    )


async def _replicas(conn: ArqRedis) -> int:
    return replica_count(await conn.info("replication"))
