"""A tick's progress while it runs and its report when it ends, kept in Redis.

The tick writes, and the admin UI (the domain page's live status) and the CLI
(``gateway tick``'s progress bar) read, from any process on any host. Redis rather
than the database: these are small, recent and disposable values written up to once
a second during a long initial sync, and the durable outcome of every tick is on
the domain row already. A failure to write them never fails the tick.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.jobs import tick_job_id

log = logging.getLogger("gateway.monitoring")

PROGRESS_KEY = "gateway:tick:progress:{domain_id}"
REPORT_KEY = "gateway:tick:report:{domain_id}"
PROGRESS_TTL_SECONDS = 300
REPORT_TTL_SECONDS = 7 * 86400
PUBLISH_EVERY_SECONDS = 1.0


async def _write(redis: Redis, key: str, value: dict[str, Any], ttl: int) -> None:
    try:
        await redis.set(key, json.dumps(value, default=str), ex=ttl)
    except (RedisError, OSError) as error:
        log.debug("tick status not written: %s", type(error).__name__)


@dataclass
class TickProgress:
    """How far a tick is through its changed tasks, published at most once a second."""

    redis: Redis
    domain_id: int
    total: int = 0
    done: int = 0
    created: int = 0
    started_at: float = field(default_factory=time.time)
    _published: float = 0.0

    @property
    def key(self) -> str:
        return PROGRESS_KEY.format(domain_id=self.domain_id)

    async def begin(self, total: int) -> None:
        self.total = total
        await self.publish()

    async def step(self, created: int) -> None:
        """One task handled; ``created`` is the tick's count of issues created so far."""
        self.done += 1
        self.created = created
        if time.monotonic() - self._published >= PUBLISH_EVERY_SECONDS or self.done == self.total:
            await self.publish()

    async def publish(self) -> None:
        self._published = time.monotonic()
        value = {
            "total": self.total,
            "done": self.done,
            "created": self.created,
            "started_at": self.started_at,
            "updated_at": time.time(),
        }
        await _write(self.redis, self.key, value, PROGRESS_TTL_SECONDS)

    async def end(self) -> None:
        try:
            await self.redis.delete(self.key)
        except (RedisError, OSError) as error:
            log.debug("tick progress not cleared: %s", type(error).__name__)


async def record_report(
    redis: Redis,
    domain_id: int,
    *,
    outcome: str,
    summary: str,
    errors: list[str],
    started_at: datetime,
    seconds: float,
) -> None:
    """The finished tick's report, for the domain page and "Run tick now"."""
    value = {
        "outcome": outcome,
        "summary": summary,
        "errors": errors[:5],
        "started_at": started_at.isoformat(),
        "finished_at": time.time(),
        "seconds": round(seconds, 3),
    }
    await _write(redis, REPORT_KEY.format(domain_id=domain_id), value, REPORT_TTL_SECONDS)


@dataclass(frozen=True)
class TickStatus:
    """What a domain's ticking looks like now: queued, running (how far), the last report."""

    queued: bool
    running: bool
    progress: dict[str, Any] | None
    report: dict[str, Any] | None

    @property
    def rate(self) -> float | None:
        """Tasks handled per second so far; None before the first one."""
        if not self.progress or not self.progress.get("done"):
            return None
        elapsed = float(self.progress["updated_at"]) - float(self.progress["started_at"])
        return self.progress["done"] / elapsed if elapsed > 0 else None


def _loads(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def read_tick_status(redis: Redis, domain_id: int) -> TickStatus:
    """The domain's tick status from Redis (the queue's own keys say queued or running)."""
    job_id = tick_job_id(domain_id)
    progress_raw, report_raw, queued, running = await redis.mget(
        [
            PROGRESS_KEY.format(domain_id=domain_id),
            REPORT_KEY.format(domain_id=domain_id),
            job_key_prefix + job_id,
            in_progress_key_prefix + job_id,
        ]
    )
    progress = _loads(progress_raw)
    return TickStatus(
        queued=queued is not None,
        running=running is not None or progress is not None,
        progress=progress,
        report=_loads(report_raw),
    )
