"""ARQ worker: thin jobs that open shared resources once and call gateway.sync."""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import asdict
from typing import Any, ClassVar

import httpx
from arq import Retry
from arq.cron import CronJob, cron
from arq.worker import Function, func

from gateway.clients.errors import PermanentUpstreamError, TransientUpstreamError
from gateway.db import make_engine
from gateway.models import DomainConfig, EventType
from gateway.queue import QUEUE_NAME
from gateway.settings import Settings, get_settings
from gateway.sync.deps import SyncDeps
from gateway.sync.forward import replay_create, run_tick
from gateway.sync.inbound import process_issue_event
from gateway.sync.ledger import Ledger
from gateway.sync.locks import LockBusy
from gateway.sync.scheduler import SWEEP_JOB, TICK_JOB, enqueue_due_work
from gateway.sync.sweeper import run_sweep

log = logging.getLogger("gateway.worker")

HEARTBEAT_KEY_PREFIX = "gateway:worker:heartbeat:"
HEARTBEAT_TTL_SECONDS = 120
INBOUND_MAX_TRIES = 8
INBOUND_MAX_DEFER_SECONDS = 300


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def startup(ctx: dict[str, Any]) -> None:
    """Open the database engine and one shared HTTP client for every upstream."""
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


async def schedule_due_work(ctx: dict[str, Any]) -> list[str]:
    """Cron: queue the ticks and sweeps that DomainConfig says are due."""
    return await enqueue_due_work(ctx["engine"], ctx["redis"])


async def sync_pf_to_jira_task(ctx: dict[str, Any], domain_id: int) -> dict[str, Any] | None:
    """One forward tick of one domain."""
    report = await run_tick(SyncDeps.from_ctx(ctx), domain_id)
    return asdict(report) if report else None


async def process_jira_issue_event(ctx: dict[str, Any], domain_id: int, issue_id: str) -> str:
    """A webhook delivery: make the task agree with the issue; retried with back-off."""
    deps = SyncDeps.from_ctx(ctx)
    try:
        return await process_issue_event(deps, domain_id, issue_id)
    except (TransientUpstreamError, LockBusy) as error:
        job_try = int(ctx.get("job_try", 1))
        if job_try < INBOUND_MAX_TRIES:
            raise Retry(defer=min(INBOUND_MAX_DEFER_SECONDS, 2**job_try)) from error
        return _inbound_dead_letter(deps, domain_id, issue_id, error, job_try)
    except PermanentUpstreamError as error:
        return _inbound_dead_letter(deps, domain_id, issue_id, error, 1)


def _inbound_dead_letter(
    deps: SyncDeps, domain_id: int, issue_id: str, error: Exception, attempts: int
) -> str:
    ledger = Ledger(deps.engine, domain_id)
    state = ledger.state_by_issue(issue_id)
    status = getattr(error, "status", None)
    ledger.dead_letter(
        operation="complete_from_jira",
        pf_task_id=state.pf_task_id if state else None,
        payload={"issue_id": issue_id, "attempts": attempts},
        error_status=status,
        error_message=str(error),
        issue_id=issue_id,
    )
    ledger.record(EventType.DEAD_LETTERED, str(error), state=state, issue_id=issue_id)
    return "dead_lettered"


async def zombie_recovery_task(ctx: dict[str, Any], domain_id: int | None = None) -> list[Any]:
    """The sweep for one domain, or every active domain when none is given."""
    deps = SyncDeps.from_ctx(ctx)
    if domain_id is None:
        from sqlmodel import Session, select

        with Session(deps.engine) as session:
            ids = [
                d.id
                for d in session.exec(select(DomainConfig).where(DomainConfig.is_active == True))  # noqa: E712
                if d.id is not None
            ]
    else:
        ids = [domain_id]
    results = []
    for one in ids:
        report = await run_sweep(deps, one)
        results.append(asdict(report) if report else None)
    return results


async def replay_dead_letter(ctx: dict[str, Any], dead_letter_id: int) -> str:
    """Run a dead letter's operation again, with the rules as they are now."""
    deps = SyncDeps.from_ctx(ctx)
    return await replay(deps, dead_letter_id)


async def replay(deps: SyncDeps, dead_letter_id: int) -> str:
    from sqlmodel import Session

    from gateway.models import DeadLetter

    with Session(deps.engine) as session:
        letter = session.get(DeadLetter, dead_letter_id)
    if letter is None:
        return "unknown dead letter"
    if letter.replayed_at is not None or letter.discarded_at is not None:
        return "already closed"
    ledger = Ledger(deps.engine, letter.domain_id)
    domain = ledger.domain()
    if domain is None:
        return "domain gone"
    payload = letter.payload or {}
    if letter.operation in ("create", "route") and isinstance(payload.get("task"), dict):
        ok = await replay_create(deps, domain, payload["task"])
    elif letter.operation == "complete_from_jira" and payload.get("issue_id"):
        await process_issue_event(deps, letter.domain_id, str(payload["issue_id"]))
        ok = True
    else:
        return f"cannot replay operation {letter.operation!r}"
    if not ok:
        return "failed again"
    ledger.close_dead_letter(dead_letter_id)
    ledger.record(
        EventType.REPLAYED, f"dead letter {dead_letter_id} replayed", pf_task_id=letter.pf_task_id
    )
    return "replayed"


FUNCTIONS: list[Function] = [
    func(record_heartbeat),
    func(schedule_due_work, keep_result=0),
    func(sync_pf_to_jira_task, name=TICK_JOB, keep_result=0),
    func(zombie_recovery_task, name=SWEEP_JOB, keep_result=0),
    func(process_jira_issue_event, max_tries=INBOUND_MAX_TRIES + 1),
    func(replay_dead_letter),
]


def cron_jobs(settings: Settings) -> list[CronJob]:
    """The scheduler every few seconds (one worker runs each beat) and the heartbeat."""
    step = settings.scheduler_interval_seconds
    return [
        cron(schedule_due_work, second=set(range(0, 60, step)), run_at_startup=True),
        cron(record_heartbeat, second={0, 15, 30, 45}, unique=False),
    ]


class WorkerSettings:
    """Imported by ``gateway worker``; redis_settings and cron_jobs are filled in at start."""

    functions: ClassVar[list[Function]] = FUNCTIONS
    on_startup = startup
    on_shutdown = shutdown
    queue_name = QUEUE_NAME
    max_jobs = 20
    job_timeout = 600
    keep_result = 3600
    max_tries = 5
