"""Hand the jobs and locks of a dead worker to the living ones, without waiting out TTLs.

ARQ marks a job it starts with ``arq:in-progress:<job id>`` for ``job_timeout + 10``
seconds (610 s here) and removes the marker when the job ends. A worker killed
mid-job never removes it, so no other worker starts the job, and ``tick:<domain>``
(one job id per domain) cannot even be queued again: the domain stops syncing for
ten minutes. Its locks block the same work for their TTL.

Why this design, among the ones considered:

- A shorter ``job_timeout`` would shorten the marker, but also kill long ticks
  (an initial sync of thousands of tasks runs for minutes).
- Ticks under a fresh job id each time would unwedge ticks but not webhook jobs,
  whose ids are per delivery, and would queue a tick per scheduler beat while one
  waits for a slot.
- So every worker process announces itself and the jobs it runs (``runtime.presence``,
  short TTL), and any live worker releases what no live worker claims:

  * an in-progress marker whose job is still queued and unfinished, that no live
    process claims in two consecutive looks, and that is older than the presence
    TTL (a job that has just started is announced within milliseconds, and even a
    worker whose event loop stalls announces it long before then): the marker is
    deleted only if it is still the one that was looked at (its TTL went down, not
    up), and ARQ hands the job to the next worker that polls, as a retry;
  * a lock whose token names a worker process with no presence left: deleted only
    if it still holds that token.

Exclusion still rests on the locks: the tick lock (renewed while held) means two
ticks of one domain never run at once, whatever job ids are queued, and the task
lock serialises per-task work. Releasing a dead holder's lock is safe because a
process with no presence is dead or cut off from Redis for a whole TTL, and a
worker cut off from Redis cannot do locked work (each task takes its lock in Redis).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import cast

import redis
from arq.constants import in_progress_key_prefix, job_key_prefix

from gateway.runtime.presence import RELEASE_IF_OWNED, PresenceConfig, lock_owner, read_presence

log = logging.getLogger("gateway.recovery")

LOCK_KEY_PATTERN = "gateway:lock:*"

# Delete the marker only if it is the one we looked at: a marker set again by a new
# worker since then has a fresh (longer) TTL.
_RELEASE_MARKER = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and ttl <= tonumber(ARGV[1]) then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass
class Recovered:
    """What one look released."""

    jobs: list[str] = field(default_factory=list)
    locks: list[str] = field(default_factory=list)


@dataclass
class Recovery:
    """One process's memory of unclaimed markers between looks (the two-look rule)."""

    unclaimed: dict[str, int] = field(default_factory=dict)
    """Job id -> its marker's PTTL when first seen unclaimed."""

    def __call__(self, client: redis.Redis, config: PresenceConfig) -> Recovered:
        alive = read_presence(client)
        claimed = set().union(*alive.values()) if alive else set()
        # Locks first: a released tick job must not meet its dead runner's tick lock.
        locks = release_orphaned_locks(client, set(alive))
        recovered = Recovered(jobs=self._release_jobs(client, config, claimed), locks=locks)
        if recovered.jobs or recovered.locks:
            log.warning(
                "released work of dead workers: jobs=%s locks=%s",
                recovered.jobs,
                recovered.locks,
            )
        return recovered

    def _release_jobs(
        self, client: redis.Redis, config: PresenceConfig, claimed: set[str]
    ) -> list[str]:
        now_ms = int(time.time() * 1000)
        ready = cast("list[bytes]", client.zrangebyscore(config.queue_name, "-inf", now_ms))
        seen: dict[str, int] = {}
        released: list[str] = []
        grace_ms = int(config.ttl_seconds * 1000)
        for raw in ready:
            job_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            if job_id in claimed:
                continue
            ttl = cast("int", client.pttl(in_progress_key_prefix + job_id))
            if not isinstance(ttl, int) or ttl <= 0:
                continue  # not in progress (or no expiry: not ARQ's marker)
            first = self.unclaimed.get(job_id)
            seen[job_id] = ttl if first is None or ttl > first else first
            if first is None or ttl > first:
                continue  # first look, or a new marker since: look again next time
            if config.in_progress_ttl_ms - ttl < grace_ms:
                continue  # just started: its worker may not have announced it yet
            if not client.exists(job_key_prefix + job_id):
                continue  # finished; the marker only stops a cron job from running twice
            if client.eval(_RELEASE_MARKER, 1, in_progress_key_prefix + job_id, str(ttl)):
                released.append(job_id)
                seen.pop(job_id, None)
        self.unclaimed = seen
        return released


def release_orphaned_locks(client: redis.Redis, alive: set[str]) -> list[str]:
    """Delete locks whose token names a worker process that has no presence left."""
    released: list[str] = []
    for key in client.scan_iter(match=LOCK_KEY_PATTERN, count=1000):
        raw = cast("bytes | None", client.get(key))
        if raw is None:
            continue
        token = raw.decode(errors="replace")
        owner = lock_owner(token)
        if owner is None or owner in alive:
            continue
        if client.eval(RELEASE_IF_OWNED, 1, key, token):
            released.append(key.decode() if isinstance(key, bytes) else str(key))
    return released
