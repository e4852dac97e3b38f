"""ARQ worker: thin jobs that open shared resources once and call gateway.sync."""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, replace
from typing import Any, ClassVar, cast

import httpx
from arq import Retry
from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from gateway import metrics
from gateway.clients.errors import PermanentUpstreamError, TransientUpstreamError
from gateway.clients.instrument import record_retry
from gateway.clients.retry import RetryPolicy
from gateway.db import make_engine
from gateway.heartbeat import HEARTBEAT_KEY_PREFIX, HEARTBEAT_TTL_SECONDS
from gateway.jobs import ISSUE_EVENT_JOB, QUEUE_NAME, REPLAY_JOB, SWEEP_JOB, TICK_JOB
from gateway.logs import log_context
from gateway.models import DomainConfig, EventType
from gateway.notify import AlertKind, notify
from gateway.settings import Settings, get_settings
from gateway.sync.deps import SyncDeps
from gateway.sync.forward import replay_create, run_tick
from gateway.sync.inbound import process_issue_event
from gateway.sync.ledger import Ledger
from gateway.sync.locks import LockBusy
from gateway.sync.scheduler import enqueue_due_work
from gateway.sync.sweeper import run_sweep

log = logging.getLogger("gateway.worker")

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
    policy: RetryPolicy = ctx.get("retry_policy") or RetryPolicy()
    if policy.on_retry is None:
        ctx["retry_policy"] = replace(policy, on_retry=record_retry)
    start_metrics_server(settings)
    await record_heartbeat(ctx)
    log.info("worker started", extra={"job_id": ctx["worker_id"]})


_metrics_server_port: int | None = None


def start_metrics_server(settings: Settings) -> None:
    """Serve this process's Prometheus metrics on GATEWAY_WORKER_METRICS_PORT (0: off)."""
    global _metrics_server_port
    port = settings.worker_metrics_port
    if not port or _metrics_server_port == port:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=settings.worker_metrics_host)
    except OSError as error:
        # Another worker on this host holds the port: run on, without a metrics port.
        log.warning("worker metrics port %s unavailable: %s", port, error)
        return
    _metrics_server_port = port
    log.info("worker metrics on %s:%s/metrics", settings.worker_metrics_host, port)


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
    settings: Settings | None = ctx.get("settings")
    ttl = max(HEARTBEAT_TTL_SECONDS, settings.ready_worker_max_age_seconds if settings else 0)
    await ctx["redis"].set(
        HEARTBEAT_KEY_PREFIX + ctx.get("worker_id", worker_id()), str(now), ex=ttl
    )
    if settings is not None and settings.worker_metrics_port and "engine" in ctx:
        from gateway.observe import refresh_database_gauges, refresh_redis_gauges

        try:
            await refresh_redis_gauges(ctx["redis"], QUEUE_NAME)
            refresh_database_gauges(ctx["engine"])
        except Exception as error:
            log.warning("metrics gauges not refreshed: %s", type(error).__name__)
    return now


def domain_label(ctx: dict[str, Any], domain_id: int) -> str:
    """The domain's name for metrics and alerts (its id if it is gone)."""
    domain = Ledger(ctx["engine"], domain_id).domain()
    return domain.name if domain is not None else str(domain_id)


async def alert(ctx: dict[str, Any], kind: AlertKind, domain: str, text: str) -> None:
    """Send an alert; a failing alert never fails the job that raised it."""
    try:
        await notify(
            redis=ctx["redis"],
            http=ctx["http"],
            settings=ctx["settings"],
            kind=kind,
            domain=domain,
            text=text,
        )
    except Exception as error:
        log.warning("alert %s failed: %s", kind, type(error).__name__)


JobFunction = Callable[..., Coroutine[Any, Any, Any]]


def observed(function: JobFunction) -> WorkerCoroutine:
    """Count a job's runs by outcome and time them (ARQ's hooks do not see the outcome)."""
    name = getattr(function, "__name__", "job")

    @functools.wraps(function)
    async def wrapper(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        metrics.JOBS_RUNNING.inc()
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await function(ctx, *args, **kwargs)
            outcome = "ok"
            return result
        except Retry:
            outcome = "retry"
            raise
        finally:
            metrics.JOBS_RUNNING.dec()
            metrics.JOBS.labels(function=name, outcome=outcome).inc()
            metrics.JOB_DURATION.labels(function=name).observe(time.perf_counter() - started)

    return cast("WorkerCoroutine", wrapper)


async def schedule_due_work(ctx: dict[str, Any]) -> list[str]:
    """Cron: queue the ticks and sweeps that DomainConfig says are due."""
    return await enqueue_due_work(ctx["engine"], ctx["redis"])


async def sync_pf_to_jira_task(ctx: dict[str, Any], domain_id: int) -> dict[str, Any] | None:
    """One forward tick of one domain."""
    name = domain_label(ctx, domain_id)
    started = time.perf_counter()
    with log_context(domain=name):
        report = await run_tick(SyncDeps.from_ctx(ctx), domain_id)
    if report is None:
        metrics.TICKS.labels(domain=name, outcome="skipped").inc()
        return None
    metrics.TICKS.labels(domain=name, outcome=report.outcome).inc()
    metrics.TICK_DURATION.labels(domain=name).observe(time.perf_counter() - started)
    for action in ("created", "adopted", "updated", "completed", "reopened", "dropped", "failed"):
        count = getattr(report, action)
        if count:
            metrics.SYNC_ACTIONS.labels(domain=name, action=action).inc(count)
    if report.dead_lettered:
        metrics.DEAD_LETTERS.labels(domain=name, operation="create").inc(report.dead_lettered)
        await alert(
            ctx,
            AlertKind.DEAD_LETTER,
            name,
            f"{report.dead_lettered} task(s) dead-lettered by a tick; "
            "see `gateway deadletter list` or the admin UI",
        )
    domain = Ledger(ctx["engine"], domain_id).domain()
    threshold = ctx["settings"].notify_tick_failures_threshold
    if domain is not None and domain.consecutive_tick_failures >= threshold:
        await alert(
            ctx,
            AlertKind.TICK_FAILURES,
            name,
            f"{domain.consecutive_tick_failures} ticks failed in a row; last error: "
            f"{(domain.last_tick_error or 'unknown')[:300]}",
        )
    return asdict(report)


async def process_jira_issue_event(ctx: dict[str, Any], domain_id: int, issue_id: str) -> str:
    """A webhook delivery: make the task agree with the issue; retried with back-off."""
    deps = SyncDeps.from_ctx(ctx)
    name = domain_label(ctx, domain_id)
    try:
        with log_context(domain=name, issue_id=issue_id):
            outcome = str(await process_issue_event(deps, domain_id, issue_id))
    except (TransientUpstreamError, LockBusy) as error:
        job_try = int(ctx.get("job_try", 1))
        if job_try < INBOUND_MAX_TRIES:
            raise Retry(defer=min(INBOUND_MAX_DEFER_SECONDS, 2**job_try)) from error
        outcome = _inbound_dead_letter(deps, domain_id, issue_id, error, job_try)
    except PermanentUpstreamError as error:
        outcome = _inbound_dead_letter(deps, domain_id, issue_id, error, 1)
    metrics.INBOUND_OUTCOMES.labels(domain=name, outcome=outcome).inc()
    if outcome == "dead_lettered":
        metrics.DEAD_LETTERS.labels(domain=name, operation="complete_from_jira").inc()
        await alert(
            ctx,
            AlertKind.DEAD_LETTER,
            name,
            f"completing the task of Jira issue {issue_id} failed permanently; "
            "see `gateway deadletter list` or the admin UI",
        )
    return outcome


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
    threshold = ctx["settings"].notify_sweep_repaired_threshold
    for one in ids:
        name = domain_label(ctx, one)
        with log_context(domain=name):
            report = await run_sweep(deps, one)
        if report is None:
            metrics.SWEEPS.labels(domain=name, outcome="skipped").inc()
            results.append(None)
            continue
        metrics.SWEEPS.labels(domain=name, outcome="ok" if report.ok else "failed").inc()
        metrics.SWEEP_REPAIRED.labels(domain=name).inc(report.repaired)
        if report.repaired > threshold:
            await alert(
                ctx,
                AlertKind.SWEEP_REPAIRED,
                name,
                f"the sweep repaired {report.repaired} tasks (threshold {threshold}): "
                "that many Jira webhooks were lost; check the webhook and the gateway's ingress",
            )
        results.append(asdict(report))
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
    func(observed(record_heartbeat), name=record_heartbeat.__name__),
    func(observed(schedule_due_work), name=schedule_due_work.__name__, keep_result=0),
    func(observed(sync_pf_to_jira_task), name=TICK_JOB, keep_result=0),
    func(observed(zombie_recovery_task), name=SWEEP_JOB, keep_result=0),
    func(
        observed(process_jira_issue_event),
        name=ISSUE_EVENT_JOB,
        max_tries=INBOUND_MAX_TRIES + 1,
    ),
    func(observed(replay_dead_letter), name=REPLAY_JOB),
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
    # A queued webhook job waits up to one poll for a worker: 50 ms, not ARQ's 500 ms.
    poll_delay = 0.05
    job_timeout = 600
    keep_result = 3600
    max_tries = 5
