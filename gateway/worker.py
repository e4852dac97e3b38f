"""ARQ worker: thin jobs that open shared resources once and call gateway.sync."""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any, ClassVar

import httpx
from arq.cron import CronJob, cron

from gateway.db import make_engine
from gateway.queue import QUEUE_NAME
from gateway.settings import Settings, get_settings

log = logging.getLogger("gateway.worker")

HEARTBEAT_KEY_PREFIX = "gateway:worker:heartbeat:"
HEARTBEAT_TTL_SECONDS = 120


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def startup(ctx: dict[str, Any]) -> None:
    """Open the database engine and one shared HTTP client per upstream."""
    settings: Settings = ctx.get("settings") or get_settings()
    ctx["settings"] = settings
    ctx["engine"] = make_engine(settings.effective_database_url)
    timeout = httpx.Timeout(settings.http_timeout_seconds)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    ctx["http"] = httpx.AsyncClient(timeout=timeout, limits=limits)
    ctx["worker_id"] = worker_id()
    await record_heartbeat(ctx)
    log.info("worker started", extra={"job_id": ctx["worker_id"]})


async def shutdown(ctx: dict[str, Any]) -> None:
    http: httpx.AsyncClient | None = ctx.get("http")
    if http is not None:
        await http.aclose()
    engine = ctx.get("engine")
    if engine is not None:
        engine.dispose()


async def record_heartbeat(ctx: dict[str, Any]) -> float:
    """Tell readiness checks and the dashboard this worker is alive."""
    now = time.time()
    await ctx["redis"].set(
        HEARTBEAT_KEY_PREFIX + ctx.get("worker_id", worker_id()),
        str(now),
        ex=HEARTBEAT_TTL_SECONDS,
    )
    return now


class WorkerSettings:
    """Imported by ``gateway worker``; redis_settings is filled in at start."""

    functions: ClassVar[list[Any]] = [record_heartbeat]
    cron_jobs: ClassVar[list[CronJob]] = [
        cron(record_heartbeat, second={0, 15, 30, 45}, run_at_startup=False, unique=False),
    ]
    on_startup = startup
    on_shutdown = shutdown
    queue_name = QUEUE_NAME
    max_jobs = 20
    job_timeout = 600
    keep_result = 60
