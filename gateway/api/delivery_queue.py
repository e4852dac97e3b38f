"""Dedupe a webhook delivery and queue its ARQ jobs in one atomic Redis script.

Jira expects an answer within seconds and retries anything but a 2xx, so the
ingress must be cheap and exact: a 2xx only once the job is queued, and a
retried delivery never queued twice. One Lua script checks the delivery's
dedupe key, writes each job exactly as ``ArqRedis.enqueue_job`` would (same
keys, same serialisation, so any ARQ worker runs it), adds it to the queue and
marks the delivery seen. Being atomic, it has no half-done state to undo: it
either did all of that or nothing.

Deliveries arrive in bursts, and a Redis round trip costs the API more CPU than
the script costs Redis. Deliveries that reach the queue in the same turn of the
event loop therefore share one round trip: their scripts go out as one pipeline
(not a transaction: each script is atomic on its own) and each delivery gets its
own script's answer, or the error that stopped the round trip.

With Sentinel (and a replica acknowledgement asked for), the same round trip ends
with a marker write and ``WAIT`` (``gateway.runtime.replication``): the batch is
answered only once a replica holds every script's writes, or all of its
deliveries fail with ``NotReplicated`` (the ingress answers 503, Jira retries).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from opentelemetry.trace import SpanKind
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import NoScriptError, ResponseError

from gateway.monitoring.tracing import job_kwargs, traced
from gateway.runtime.replication import confirmation_commands, settle_batch, waits_for_replica

# KEYS: dedupe key, queue, directory version, then (job key, result key) per job.
# ARGV: dedupe TTL (s), job expiry (ms), score (ms), the directory version the delivery
# was verified under ('' = not checked), then (job id, job bytes) per job.
_QUEUE_DELIVERY = """
if ARGV[4] ~= '' and (redis.call('GET', KEYS[3]) or '0') ~= ARGV[4] then
  return -1
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local jobs = (#KEYS - 3) / 2
for i = 1, jobs do
  local job_key = KEYS[2 + 2 * i]
  local result_key = KEYS[3 + 2 * i]
  if redis.call('EXISTS', job_key, result_key) == 0 then
    redis.call('PSETEX', job_key, ARGV[2], ARGV[4 + 2 * i])
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[3 + 2 * i])
  end
end
redis.call('SET', KEYS[1], 'queued', 'EX', ARGV[1])
return 1
"""
_QUEUE_DELIVERY_SHA = hashlib.sha1(_QUEUE_DELIVERY.encode()).hexdigest()

Command = tuple[Any, ...]


class StaleDirectory(Exception):
    """The delivery was verified against a snapshot of the domains older than a secret
    rotation: nothing was queued; verify it again against a fresh snapshot."""


@dataclass(frozen=True)
class QueuedJob:
    """One ARQ job: the function name, its positional args and its unique id."""

    function: str
    args: tuple[Any, ...]
    job_id: str


class RoundTrips:
    """Sends the scripts of deliveries waiting together in one pipelined round trip."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis
        self._waiting: list[tuple[Command, asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self, command: Command) -> Any:
        """The script's answer once the round trip that carries it is back."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((command, answer))
        if len(self._waiting) == 1:
            # Runs after the handlers already scheduled in this turn, which join the batch.
            loop.call_soon(self._send_waiting)
        return await answer

    def _send_waiting(self) -> None:
        batch, self._waiting = self._waiting, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        try:
            answers = await self._pipelined([command for command, _ in batch])
        except Exception as error:
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(error)
            return
        for position, (_, answer) in enumerate(batch):
            result = answers[position]
            if answer.done():  # its handler was cancelled; the others still get theirs
                continue
            if isinstance(result, Exception):
                answer.set_exception(result)
            else:
                answer.set_result(result)

    async def _pipelined(self, commands: list[Command]) -> list[Any]:
        """Each command's answer (or error); a script Redis lost is loaded and run again."""
        answers = await self._execute(commands)
        lost = [n for n, answer in enumerate(answers) if isinstance(answer, NoScriptError)]
        if lost:
            # A restarted or flushed Redis forgot the script; those commands did not run.
            await self._redis.script_load(_QUEUE_DELIVERY)
            again = await self._execute([commands[n] for n in lost])
            for position, n in enumerate(lost):
                answers[n] = again[position]
        return answers

    async def _execute(self, commands: list[Command]) -> list[Any]:
        """One round trip on one pooled connection: every script, then every answer.

        redis-py's pipeline would cost several times the CPU for the same bytes
        (generic argument encoding, retry and reset bookkeeping); the connection
        and its reply parser are still redis-py's. With a replica to wait for, the
        marker and ``WAIT`` ride in the same round trip, after the scripts.
        """
        tail = confirmation_commands(self._redis) if waits_for_replica(self._redis) else []
        packed = b"".join(resp_command(b"EVALSHA", _QUEUE_DELIVERY_SHA, *c) for c in commands)
        packed += b"".join(resp_command(*command) for command in tail)
        pool = self._redis.connection_pool
        connection = await checked_out(pool)
        try:
            await connection.send_packed_command(packed)
            answers: list[Any] = []
            for _ in commands:
                try:
                    answers.append(await connection.read_response())
                except ResponseError as error:  # this script's error reply, read in full
                    answers.append(error)
            if tail:
                *_, last = [await connection.read_response() for _ in tail]
                await settle_batch(self._redis, connection, last)
            return answers
        except BaseException:
            # Replies may be left unread: the connection must not serve anyone else.
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)


async def checked_out(pool: ConnectionPool) -> AbstractConnection:
    """A connection of ``pool``, connected, for one round trip; release it to the pool.

    ``pool.get_connection`` proves a connection usable by trying to read from it
    under a zero timeout, which cost the API more CPU than the round trip itself.
    A connection of this pool is only ever released with every reply read (redis-py
    and ``RoundTrips`` disconnect one they could not read in full), so the one thing
    its check can find is a connection Redis closed while it sat idle (a restart, a
    client timeout): the event loop has already seen that end of stream, and such a
    connection is opened again here before it is used.
    """
    connection = pool.get_available_connection()
    try:
        if closed_by_server(connection):
            await connection.disconnect()
        await connection.connect()
    except BaseException:
        await pool.release(connection)
        raise
    return connection


def closed_by_server(connection: AbstractConnection) -> bool:
    """Whether Redis ended the stream of this connected connection (read by the loop)."""
    reader: asyncio.StreamReader | None = getattr(connection, "_reader", None)
    return reader is not None and reader.at_eof()


def resp_command(*parts: bytes | str | int) -> bytes:
    """One command in Redis's wire format (RESP): an array of bulk strings."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        encoded = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(encoded), encoded))
    return b"".join(out)


_round_trips: weakref.WeakKeyDictionary[ArqRedis, RoundTrips] = weakref.WeakKeyDictionary()


def round_trips(redis: ArqRedis) -> RoundTrips:
    """The batcher of ``redis`` (one per client, so its pool's connections are shared)."""
    found = _round_trips.get(redis)
    if found is None:
        found = _round_trips[redis] = RoundTrips(redis)
    return found


def script_command(
    redis: ArqRedis,
    *,
    dedupe_key: str,
    dedupe_ttl_seconds: int,
    jobs: list[QueuedJob],
    directory: tuple[str, str] = ("", ""),
) -> Command:
    """The script's key count, keys and arguments for one delivery; ``directory`` is the
    version key and the version the delivery was verified under (empty: not checked)."""
    now_ms = int(time.time() * 1000)
    version_key, version = directory
    keys: list[str] = [dedupe_key, redis.default_queue_name, version_key or dedupe_key]
    args: list[Any] = [dedupe_ttl_seconds, redis.expires_extra_ms, now_ms, version]
    # The request id and trace context ride in the job, so the worker continues both.
    carried = job_kwargs()
    for job in jobs:
        keys += [job_key_prefix + job.job_id, result_key_prefix + job.job_id]
        payload = serialize_job(
            job.function, job.args, carried, None, now_ms, serializer=redis.job_serializer
        )
        args += [job.job_id, payload]
    return (len(keys), *keys, *args)


@traced(
    "webhook.enqueue",
    kind=SpanKind.PRODUCER,
    attributes=lambda redis, **kw: {"messaging.batch.message_count": len(kw["jobs"])},
    result_attributes=lambda queued: {"gateway.webhook.duplicate": not queued},
)
async def queue_delivery(
    redis: ArqRedis,
    *,
    dedupe_key: str,
    dedupe_ttl_seconds: int,
    jobs: list[QueuedJob],
    directory: tuple[str, str] = ("", ""),
) -> bool:
    """Queue ``jobs`` unless the delivery was seen; False means it is a duplicate.

    Raises the Redis client's error when Redis is unreachable, and StaleDirectory when
    ``directory``'s version is no longer current; nothing is then written.
    """
    command = script_command(
        redis,
        dedupe_key=dedupe_key,
        dedupe_ttl_seconds=dedupe_ttl_seconds,
        jobs=jobs,
        directory=directory,
    )
    answer = await round_trips(redis).run(command)
    if answer == -1:
        raise StaleDirectory
    return bool(answer)
