"""ARQ worker: thin jobs that open shared resources once and call gateway.sync."""

from __future__ import annotations

import asyncio
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
from gateway.db import make_engine, run_blocking
from gateway.heartbeat import HEARTBEAT_KEY_PREFIX, HEARTBEAT_TTL_SECONDS
from gateway.jobs import ISSUE_EVENT_JOB, QUEUE_NAME, REPLAY_JOB, SWEEP_JOB, TICK_JOB
from gateway.logs import log_context
from gateway.notify import AlertKind, notify
from gateway.settings import Settings, get_settings
from gateway.sync.deps import SyncDeps
from gateway.sync.inbound import Outcome, dead_letter_issue_event, process_issue_event
from gateway.sync.ledger import Catalog, Ledger
from gateway.sync.locks import LockBusy
from gateway.sync.replay import replay
from gateway.sync.scheduler import enqueue_due_work
from gateway.sync.sweeper import SweepReport, run_sweep
from gateway.sync.tick import run_tick
from gateway.sync.tick_context import TickReport

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
    # Building the TLS context costs ~0.1 s of CPU: off the loop, which may already
    # be serving other work (an in-process worker beside the API, a restarted worker).
    ctx["http"] = await asyncio.to_thread(httpx.AsyncClient, timeout=timeout, limits=limits)
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
            await run_blocking(ctx["engine"], refresh_database_gauges, ctx["engine"])
        except Exception as error:
            log.warning("metrics gauges not refreshed: %s", type(error).__name__)
    return now


async def domain_label(ctx: dict[str, Any], domain_id: int) -> str:
    """The domain's name for metrics and alerts (its id if it is gone)."""
    domain = await Ledger(ctx["engine"], domain_id).domain()
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
    name = await domain_label(ctx, domain_id)
    started = time.perf_counter()
    with log_context(domain=name):
        report = await run_tick(SyncDeps.from_ctx(ctx), domain_id)
    if report is None:
        metrics.TICKS.labels(domain=name, outcome="skipped").inc()
        return None
    _count_tick(name, report, time.perf_counter() - started)
    await _tick_alerts(ctx, domain_id, name, report)
    return asdict(report)


def _count_tick(name: str, report: TickReport, seconds: float) -> None:
    metrics.TICKS.labels(domain=name, outcome=report.outcome).inc()
    metrics.TICK_DURATION.labels(domain=name).observe(seconds)
    for action in ("created", "adopted", "updated", "completed", "reopened", "dropped", "failed"):
        count = getattr(report, action)
        if count:
            metrics.SYNC_ACTIONS.labels(domain=name, action=action).inc(count)
    if report.dead_lettered:
        metrics.DEAD_LETTERS.labels(domain=name, operation="create").inc(report.dead_lettered)


async def _tick_alerts(ctx: dict[str, Any], domain_id: int, name: str, report: TickReport) -> None:
    """Tell the operator about dead letters and a streak of failed ticks."""
    if report.dead_lettered:
        await alert(
            ctx,
            AlertKind.DEAD_LETTER,
            name,
            f"{report.dead_lettered} task(s) dead-lettered by a tick; "
            "see `gateway deadletter list` or the admin UI",
        )
    domain = await Ledger(ctx["engine"], domain_id).domain()
    if report.breaker_opened and domain is not None:
        await alert(
            ctx,
            AlertKind.BREAKER_OPEN,
            name,
            f"circuit breaker open, the domain writes nothing until a probe succeeds: "
            f"{(domain.breaker_reason or 'credentials refused')[:300]}",
        )
    threshold = ctx["settings"].notify_tick_failures_threshold
    if domain is not None and domain.consecutive_tick_failures >= threshold:
        await alert(
            ctx,
            AlertKind.TICK_FAILURES,
            name,
            f"{domain.consecutive_tick_failures} ticks failed in a row; last error: "
            f"{(domain.last_tick_error or 'unknown')[:300]}",
        )


async def process_jira_issue_event(ctx: dict[str, Any], domain_id: int, issue_id: str) -> str:
    """A webhook delivery: make the task agree with the issue; retried with back-off."""
    deps = SyncDeps.from_ctx(ctx)
    name = await domain_label(ctx, domain_id)
    try:
        with log_context(domain=name, issue_id=issue_id):
            outcome = await process_issue_event(deps, domain_id, issue_id)
    except (TransientUpstreamError, LockBusy) as error:
        job_try = int(ctx.get("job_try", 1))
        if job_try < INBOUND_MAX_TRIES:
            raise Retry(defer=min(INBOUND_MAX_DEFER_SECONDS, 2**job_try)) from error
        outcome = await dead_letter_issue_event(deps, domain_id, issue_id, error, attempts=job_try)
    except PermanentUpstreamError as error:
        outcome = await dead_letter_issue_event(deps, domain_id, issue_id, error, attempts=1)
    metrics.INBOUND_OUTCOMES.labels(domain=name, outcome=outcome).inc()
    if outcome == Outcome.DEAD_LETTERED:
        metrics.DEAD_LETTERS.labels(domain=name, operation="complete_from_jira").inc()
        await alert(
            ctx,
            AlertKind.DEAD_LETTER,
            name,
            f"completing the task of Jira issue {issue_id} failed permanently; "
            "see `gateway deadletter list` or the admin UI",
        )
    return str(outcome)


async def zombie_recovery_task(ctx: dict[str, Any], domain_id: int | None = None) -> list[Any]:
    """The sweep for one domain, or every active domain when none is given."""
    deps = SyncDeps.from_ctx(ctx)
    if domain_id is None:
        domains = await Catalog(deps.engine).active_domains()
        ids = [domain.id for domain in domains if domain.id is not None]
    else:
        ids = [domain_id]
    return [await _sweep_domain(ctx, deps, one) for one in ids]


async def _sweep_domain(ctx: dict[str, Any], deps: SyncDeps, domain_id: int) -> Any:
    name = await domain_label(ctx, domain_id)
    with log_context(domain=name):
        report = await run_sweep(deps, domain_id)
    if report is None:
        metrics.SWEEPS.labels(domain=name, outcome="skipped").inc()
        return None
    metrics.SWEEPS.labels(domain=name, outcome="ok" if report.ok else "failed").inc()
    metrics.SWEEP_REPAIRED.labels(domain=name).inc(report.repaired)
    await _sweep_alert(ctx, name, report)
    return asdict(report)


async def _sweep_alert(ctx: dict[str, Any], name: str, report: SweepReport) -> None:
    """Each repair is a lost webhook: many of them point at the webhook or the ingress."""
    if report.capped:
        metrics.SWEEP_CAPPED.labels(domain=name).inc()
        await alert(
            ctx,
            AlertKind.SWEEP_CAPPED,
            name,
            f"the sweep stopped at its page cap after {report.scanned} issues; its window "
            "does not advance until a sweep completes (raise GATEWAY_SWEEP_MAX_PAGES)",
        )
    threshold = ctx["settings"].notify_sweep_repaired_threshold
    if report.repaired > threshold:
        await alert(
            ctx,
            AlertKind.SWEEP_REPAIRED,
            name,
            f"the sweep repaired {report.repaired} tasks (threshold {threshold}): "
            "that many Jira webhooks were lost; check the webhook and the gateway's ingress",
        )


async def replay_dead_letter(ctx: dict[str, Any], dead_letter_id: int) -> str:
    """Run a dead letter's operation again, with the rules as they are now."""
    return await replay(SyncDeps.from_ctx(ctx), dead_letter_id)


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
