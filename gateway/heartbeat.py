"""Worker heartbeats in Redis: how the API's /readyz and the dashboard know workers live.

Each worker writes ``gateway:worker:heartbeat:<host>:<pid>`` = its last beat (POSIX
seconds) with a TTL, so a dead worker's key disappears on its own. A worker told to
stop withdraws its key at once (``withdraw_heartbeat``), so the count of workers
drops when the stop begins, not a TTL later; it writes no new beat after that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

HEARTBEAT_KEY_PREFIX = "gateway:worker:heartbeat:"
HEARTBEAT_TTL_SECONDS = 120
_SCAN_LIMIT = 1000
_withdrawn: set[str] = set()


def heartbeat_key(worker_id: str) -> str:
    return HEARTBEAT_KEY_PREFIX + worker_id


def is_withdrawn(worker_id: str) -> bool:
    """Whether this worker is stopping: a beat now would count it alive again."""
    return worker_id in _withdrawn


async def withdraw_heartbeat(redis: Redis, worker_id: str) -> None:
    """The worker is stopping: stop beating and remove the key now."""
    _withdrawn.add(worker_id)
    await redis.delete(heartbeat_key(worker_id))


@dataclass(frozen=True)
class WorkerSeen:
    """One worker's latest heartbeat."""

    worker_id: str
    beat_at: float

    def age(self, now: float | None = None) -> float:
        return max(0.0, (now if now is not None else time.time()) - self.beat_at)


async def read_heartbeats(redis: Redis) -> list[WorkerSeen]:
    """Every worker whose heartbeat key is still alive, newest first."""
    seen: list[WorkerSeen] = []
    async for key in redis.scan_iter(match=HEARTBEAT_KEY_PREFIX + "*", count=100):
        raw = await redis.get(key)
        if raw is None:
            continue
        name = key.decode() if isinstance(key, bytes) else str(key)
        value = raw.decode() if isinstance(raw, bytes) else str(raw)
        try:
            seen.append(WorkerSeen(name.removeprefix(HEARTBEAT_KEY_PREFIX), float(value)))
        except ValueError:
            continue
        if len(seen) >= _SCAN_LIMIT:
            break
    return sorted(seen, key=lambda w: w.beat_at, reverse=True)
