"""Dedupe a webhook delivery and queue its ARQ jobs in one atomic Redis round trip.

Jira expects an answer within seconds and retries anything but a 2xx, so the
ingress must be cheap and exact: a 2xx only once the job is queued, and a
retried delivery never queued twice. One Lua script checks the delivery's
dedupe key, writes each job exactly as ``ArqRedis.enqueue_job`` would (same
keys, same serialisation, so any ARQ worker runs it), adds it to the queue and
marks the delivery seen. Being atomic, it has no half-done state to undo: it
either did all of that or nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from opentelemetry.trace import SpanKind

from gateway.monitoring.tracing import job_kwargs, traced

# KEYS: dedupe key, queue, then (job key, result key) per job.
# ARGV: dedupe TTL (s), job expiry (ms), score (ms), then (job id, job bytes) per job.
_QUEUE_DELIVERY = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local jobs = (#KEYS - 2) / 2
for i = 1, jobs do
  local job_key = KEYS[1 + 2 * i]
  local result_key = KEYS[2 + 2 * i]
  if redis.call('EXISTS', job_key, result_key) == 0 then
    redis.call('PSETEX', job_key, ARGV[2], ARGV[3 + 2 * i])
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2 + 2 * i])
  end
end
redis.call('SET', KEYS[1], 'queued', 'EX', ARGV[1])
return 1
"""


@dataclass(frozen=True)
class QueuedJob:
    """One ARQ job: the function name, its positional args and its unique id."""

    function: str
    args: tuple[Any, ...]
    job_id: str


@traced(
    "webhook.enqueue",
    kind=SpanKind.PRODUCER,
    attributes=lambda redis, **kw: {"messaging.batch.message_count": len(kw["jobs"])},
    result_attributes=lambda queued: {"gateway.webhook.duplicate": not queued},
)
async def queue_delivery(
    redis: ArqRedis, *, dedupe_key: str, dedupe_ttl_seconds: int, jobs: list[QueuedJob]
) -> bool:
    """Queue ``jobs`` unless the delivery was seen; False means it is a duplicate.

    Raises the Redis client's error when Redis is unreachable; nothing is then written.
    """
    now_ms = int(time.time() * 1000)
    keys: list[str] = [dedupe_key, redis.default_queue_name]
    args: list[Any] = [dedupe_ttl_seconds, redis.expires_extra_ms, now_ms]
    # The request id and trace context ride in the job, so the worker continues both.
    carried = job_kwargs()
    for job in jobs:
        keys += [job_key_prefix + job.job_id, result_key_prefix + job.job_id]
        payload = serialize_job(
            job.function, job.args, carried, None, now_ms, serializer=redis.job_serializer
        )
        args += [job.job_id, payload]
    script = redis.register_script(_QUEUE_DELIVERY)
    return bool(await script(keys=keys, args=args))
