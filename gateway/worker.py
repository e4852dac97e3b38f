"""ARQ worker: thin jobs that open shared resources once and call gateway.sync."""

from __future__ import annotations

import asyncio
import functools
import logging
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
from gateway.clients.rate_window import SiteWindows
from gateway.clients.retry import RetryPolicy
from gateway.db import make_engine, run_blocking
from gateway.heartbeat import HEARTBEAT_KEY_PREFIX, HEARTBEAT_TTL_SECONDS, is_withdrawn
from gateway.jobs import (
    ISSUE_EVENT_JOB,
    QUEUE_NAME,
    RECONCILE_JOB,
    REPLAY_JOB,
    SWEEP_JOB,
    TICK_JOB,
)
from gateway.logs import log_context
from gateway.maintenance.retention import prune_audit
from gateway.monitoring.fleet_metrics import process_id, publish
from gateway.monitoring.job_reports import (
    alert,
    count_tick,
    domain_label,
    log_tick,
    sweep_alert,
    tick_alerts,
)
from gateway.monitoring.tracing import carried_job, configure_from_environment
from gateway.notify import AlertKind
from gateway.runtime import presence
from gateway.runtime.recovery import Recovery
from gateway.runtime.unavailable import (
    DATABASE_UNAVAILABLE,
    REDIS_UNAVAILABLE,
    unavailable_line,
)
from gateway.security.crypto import load_cipher
from gateway.settings import Settings, get_settings
from gateway.sync.deps import JIRA_WINDOWS, SyncDeps
from gateway.sync.inbound import (
    Outcome,
    dead_letter_issue_event,
    held_back,
    process_issue_event,
)
from gateway.sync.ledger import Catalog, Ledger
from gateway.sync.locks import LockBusy
from gateway.sync.reconciler import run_reconcile
from gateway.sync.replay import replay
from gateway.sync.scheduler import enqueue_due_work
from gateway.sync.sweeper import run_sweep
from gateway.sync.tick import run_tick

log = logging.getLogger("gateway.worker")

INBOUND_MAX_TRIES = 8
# The webhook job's result when its domain is paused (beside gateway.sync.inbound.Outcome).
INBOUND_MAX_DEFER_SECONDS = 300
UNAVAILABLE_RETRY_MAX_SECONDS = 60
RETRIED_WHEN_UNAVAILABLE = frozenset({ISSUE_EVENT_JOB, REPLAY_JOB})
# The audit prune's minute of each hour, off the hour when other schedules cluster. It
# keeps the common job timeout: a longer one would stretch every job's in-progress marker
# to it (ARQ uses the longest), and a run cut short is resumed the next hour.
PRUNE_MINUTE = 23
# Where build_worker leaves ARQ's in-progress marker TTL for the start-up hook.
IN_PROGRESS_SECONDS_KEY = "in_progress_timeout_s"


def worker_id() -> str:
    return process_id()


async def startup(ctx: dict[str, Any]) -> None:
    """Open the database engine and one shared HTTP client for every upstream."""
    settings: Settings = ctx.get("settings") or get_settings()
    ctx["settings"] = settings
    configure_from_environment()
    ctx["engine"] = make_engine(settings.effective_database_url, cipher=load_cipher(settings))
    timeout = httpx.Timeout(settings.http_timeout_seconds)
    # Keep every connection alive: the Jira rate window holds up to a domain's
    # max_concurrency (64) requests in flight, and a request on a fresh connection
    # reaches Jira later than one on a kept one, which bunches arrivals into its
    # per-second count (the 300 ms initial-sync row: 1.4-2.1% 429s with 20 kept, 0.3%).
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    # Building the TLS context costs ~0.1 s of CPU: off the loop, which may already
    # be serving other work (an in-process worker beside the API, a restarted worker).
    ctx["http"] = await asyncio.to_thread(httpx.AsyncClient, timeout=timeout, limits=limits)
    ctx["worker_id"] = worker_id()
    policy: RetryPolicy = ctx.get("retry_policy") or RetryPolicy()
    if policy.on_retry is None:
        ctx["retry_policy"] = replace(policy, on_retry=record_retry)
    ctx.setdefault(JIRA_WINDOWS, SiteWindows())  # one per process: jobs share a site's window
    start_metrics_server(settings)
    marker_seconds = ctx.get(IN_PROGRESS_SECONDS_KEY, WorkerSettings.job_timeout + 10)
    ctx["presence"] = presence.config_for(settings, QUEUE_NAME, marker_seconds)
    presence.join(ctx["presence"], recover=Recovery())
    await record_heartbeat(ctx)
    log.info("worker started", extra={"worker": ctx["worker_id"]})


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


async def publish_metrics(ctx: dict[str, Any], *, force: bool = True) -> None:
    """Share this worker's counters with the API's /metrics; never fails the caller."""
    redis = ctx.get("redis")
    if redis is None:
        return
    try:
        await publish(redis, ctx.get("worker_id") or worker_id(), force=force)
    except Exception as error:
        log.warning("metrics snapshot not published: %s", type(error).__name__)


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close shared resources; withdraw presence once every job has ended or been released."""
    if ctx.get("presence") is not None:
        presence.leave(ctx["presence"])
    await publish_metrics(ctx)
    http: httpx.AsyncClient | None = ctx.get("http")
    if http is not None:
        await http.aclose()
    engine = ctx.get("engine")
    if engine is not None:
        engine.dispose()


async def record_heartbeat(ctx: dict[str, Any]) -> float:
    """Tell readiness checks and the dashboard this worker is alive."""
    now = time.time()
    if is_withdrawn(ctx.get("worker_id", worker_id())):
        return now  # stopping: do not count this worker alive again
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
    await publish_metrics(ctx)
    return now


JobFunction = Callable[..., Coroutine[Any, Any, Any]]


def observed(function: JobFunction) -> WorkerCoroutine:
    """Count a job's runs by outcome and time them (ARQ's hooks do not see the outcome)."""
    name = getattr(function, "__name__", "job")

    @functools.wraps(function)
    async def wrapper(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        release_claim = presence.claim_job(ctx)
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
        except (*DATABASE_UNAVAILABLE, *REDIS_UNAVAILABLE) as error:
            # The database or Redis is restarting (or SQLite is locked): run a one-shot job
            # again later rather than drop it (a webhook job would leave its delivery to
            # the next sweep). Ticks and sweeps fail: the scheduler queues them again. An
            # outage is not a bug: one line, not ARQ's traceback of every failed job.
            if name not in RETRIED_WHEN_UNAVAILABLE:
                log.warning(
                    "%s %s failed, %s; the scheduler queues it again",
                    name,
                    ctx.get("job_id", ""),
                    unavailable_line(error),
                )
                return None
            outcome = "retry"
            delay = min(UNAVAILABLE_RETRY_MAX_SECONDS, 2 ** int(ctx.get("job_try", 1)))
            raise Retry(defer=delay) from error
        finally:
            release_claim()
            metrics.JOBS_RUNNING.dec()
            metrics.JOBS.labels(function=name, outcome=outcome).inc()
            metrics.JOB_DURATION.labels(function=name).observe(time.perf_counter() - started)
            await publish_metrics(ctx, force=False)

    # Outermost: the job's span and its carried request id cover the counting too.
    return cast("WorkerCoroutine", carried_job(name, wrapper))


async def schedule_due_work(ctx: dict[str, Any]) -> list[str]:
    """Cron: queue the ticks and sweeps that DomainConfig says are due.

    Looks one beat ahead: a tick due before the next beat is queued deferred to its
    exact slot, so ticks start on time instead of on the next beat after their slot.
    """
    settings: Settings = ctx["settings"]
    return await enqueue_due_work(
        ctx["engine"], ctx["redis"], lookahead_seconds=settings.scheduler_interval_seconds
    )


async def sync_pf_to_jira_task(ctx: dict[str, Any], domain_id: int) -> dict[str, Any] | None:
    """One forward tick of one domain."""
    name = await domain_label(ctx, domain_id)
    started = time.perf_counter()
    with log_context(domain=name):
        report = await run_tick(SyncDeps.from_ctx(ctx), domain_id)
    if report is None:
        metrics.TICKS.labels(domain=name, outcome="skipped").inc()
        return None
    seconds = time.perf_counter() - started
    count_tick(name, report, seconds)
    log_tick(name, report, seconds)
    await tick_alerts(ctx, domain_id, name, report)
    return asdict(report)


async def process_jira_issue_event(ctx: dict[str, Any], domain_id: int, issue_id: str) -> str:
    """A webhook delivery: make the task agree with the issue; retried with back-off."""
    deps = SyncDeps.from_ctx(ctx)
    domain = await Ledger(ctx["engine"], domain_id).domain()
    name = domain.name if domain is not None else str(domain_id)
    held = held_back(domain)
    if held is not None:
        outcome, why = held
        log.info(
            "skipped Jira issue %s: domain %s %s",
            issue_id,
            name,
            why,
            extra={"domain": name, "issue_id": issue_id},
        )
        metrics.INBOUND_OUTCOMES.labels(domain=name, outcome=outcome).inc()
        return outcome
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
    log.info("Jira issue %s: %s", issue_id, outcome, extra={"domain": name, "issue_id": issue_id})
    if outcome == Outcome.DEAD_LETTERED:
        metrics.DEAD_LETTERS.labels(domain=name, operation="complete_from_jira").inc()
        await alert(
            ctx,
            AlertKind.DEAD_LETTER,
            name,
            f"completing the task of Jira issue {issue_id} failed permanently; "
            "see `gateway deadletter list` or the admin UI",
            domain_id,
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
    await sweep_alert(ctx, name, report)
    return asdict(report)


async def reconcile_drift_task(ctx: dict[str, Any], domain_id: int) -> dict[str, Any] | None:
    """One reconcile pass of one domain: read tracked issues by id, repair human drift."""
    name = await domain_label(ctx, domain_id)
    with log_context(domain=name):
        report = await run_reconcile(SyncDeps.from_ctx(ctx), domain_id)
    return asdict(report) if report is not None else None


async def replay_dead_letter(ctx: dict[str, Any], dead_letter_id: int) -> str:
    """Run a dead letter's operation again, with the rules as they are now."""
    return await replay(SyncDeps.from_ctx(ctx), dead_letter_id)


async def prune_audit_task(ctx: dict[str, Any]) -> dict[str, Any]:
    """Hourly: delete audit events older than GATEWAY_AUDIT_RETENTION_DAYS, in short batches."""
    settings: Settings = ctx["settings"]
    report = await prune_audit(ctx["engine"], settings.audit_retention_days)
    log.info("audit prune: %s", report.summary())
    return asdict(report)


FUNCTIONS: list[Function] = [
    func(observed(record_heartbeat), name=record_heartbeat.__name__),
    func(observed(schedule_due_work), name=schedule_due_work.__name__, keep_result=0),
    func(observed(sync_pf_to_jira_task), name=TICK_JOB, keep_result=0),
    func(observed(zombie_recovery_task), name=SWEEP_JOB, keep_result=0),
    func(observed(reconcile_drift_task), name=RECONCILE_JOB, keep_result=0),
    func(
        observed(process_jira_issue_event),
        name=ISSUE_EVENT_JOB,
        max_tries=INBOUND_MAX_TRIES + 1,
    ),
    func(observed(replay_dead_letter), name=REPLAY_JOB),
]


def cron_jobs(settings: Settings) -> list[CronJob]:
    """The scheduler every few seconds (one worker runs each beat), the heartbeat and the
    hourly audit prune."""
    beats = set(range(0, 60, settings.scheduler_interval_seconds))
    return [
        cron(presence.claimed(schedule_due_work), second=beats, run_at_startup=True),
        cron(presence.claimed(record_heartbeat), second={0, 15, 30, 45}, unique=False),
        # Hourly, so each run deletes about an hour's worth; unique: one worker per slot.
        cron(
            observed(prune_audit_task),  # observed announces the job, as claimed does
            minute={PRUNE_MINUTE},
            second={0},
        ),
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
    # ARQ's result line is cut at 80 characters; the jobs log their own whole summaries.
    log_results = False
