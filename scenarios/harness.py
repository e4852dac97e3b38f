"""The real gateway assembled around the fakes, with time and faults under a scenario's control.

A ``Harness`` is a gateway stack (``gateway.demo.stack``) in a temporary folder:
a migrated SQLite database, an embedded Redis and the clock offset file; both
fakes on loopback sharing one ``FakeClock``, each behind a request probe; the
gateway API registered as the fake Jira's signed admin webhook; and the
workers: in-process ARQ workers for most scenarios, real ``gateway worker``
processes where a scenario needs them. Time is compressed: ``advance`` moves the
fakes' clock and the gateway's offset file together, so days pass in milliseconds.

Webhooks leave the fake Jira only when the harness drains them, so which
deliveries are dropped, duplicated or reordered is decided by the seed alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from fastapi import FastAPI
from starlette.types import ASGIApp

from fakes.faults import RecordedRequest
from gateway.clients.retry import RetryPolicy
from gateway.clock import OFFSET_FILE_ENV
from gateway.demo import workers
from gateway.demo.processes import ChildProcess
from gateway.demo.records import LINEAGE_PROPERTY
from gateway.demo.storage import open_storage
from gateway.demo.upstreams import PEOPLEFORCE, Upstreams, start_upstreams
from gateway.jobs import (
    RECONCILE_JOB,
    REPLAY_JOB,
    SWEEP_JOB,
    open_pool,
    reconcile_job_id,
    sweep_job_id,
)
from scenarios.people import PeopleStack
from scenarios.probes import (
    FreshIdentifierTransport,
    RequestProbe,
    jira_task_resolver,
    peopleforce_task_resolver,
    without_lifespan,
)

WEBHOOK_SECRET = "scenario-webhook-secret-0123456789"
COMPRESSED_WEBHOOK_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8)
"""Jira retries a failed delivery five times over hours; here over 1.55 s."""
JIRA_READ_ENDPOINT_SUFFIXES = (
    "/search",
    "/search/jql",
    "/search/approximate-count",
    "/issue/bulkfetch",
)
# The scheduled reconcile pass is kept out of the way (a week), like the daily sweep:
# a scenario that relies on it asks for a pass explicitly (``Harness.reconcile``).
SCENARIO_RECONCILE_MINUTES = 7 * 24 * 60
COMPRESSED_TASK_BACKOFF: dict[str, Any] = {
    "task_backoff_base_seconds": 1.0,
    "task_backoff_max_seconds": 5.0,
}
"""A failing task waits minutes between tries; here less than one round (10 s)."""
SCHEDULE_JOB = "schedule_due_work"
BACKOFF_HORIZON_SECONDS = 3600.0
IN_PROCESS_MAX_JOBS = 20

Upstream = str  # "peopleforce" | "jira"


def default_retry_policy(seed: int) -> RetryPolicy:
    """Fast and patient: short back-off (time is compressed) and enough attempts that a
    50 % storm practically never exhausts them."""
    return RetryPolicy(
        max_attempts=12, base_delay=0.01, max_delay=0.2, rng=random.Random(seed ^ 0x5EED)
    )


@dataclass
class HarnessConfig:
    """How one run is assembled; scenarios change a few fields, tests a few more."""

    seed: int = 0
    page_size: int = 25
    orphan_grace_seconds: float = 5.0
    round_seconds: float = 10.0
    """Simulated time each settle round lets pass (ticks are due every second)."""
    max_concurrency: int = 4
    retry_policy: RetryPolicy | None = None
    fresh_delivery_ids: bool = False
    """Send every webhook copy with a new identifier (defeats the ingress dedupe)."""
    redis_url: str | None = None
    """Reuse a running Redis (flushed first) instead of starting one in the temp folder."""
    keep_folder: bool = False
    database_url: str | None = None
    """An empty database (e.g. PostgreSQL) instead of a SQLite file in the temp folder."""
    max_settle_rounds: int = 12
    settings: dict[str, Any] = field(default_factory=dict)
    """Further gateway ``Settings`` fields (e.g. a small page cap for an overflow scenario)."""
    """Settling normally takes two to four rounds; a loop never settles."""


class Harness(PeopleStack):
    """Fakes + gateway API + Redis + database + workers for one scenario run."""

    def __init__(
        self, config: HarnessConfig | None = None, on_phase: Callable[[str], None] | None = None
    ) -> None:
        self.config = config or HarnessConfig()
        seed = self.config.seed
        super().__init__(
            seed=seed, retry_policy=self.config.retry_policy or default_retry_policy(seed)
        )
        self.on_phase = on_phase
        self._previous_offset_env: str | None = None
        self._fresh_transport: FreshIdentifierTransport | None = None
        self.pool: ArqRedis
        self.pf_probe: RequestProbe
        self.jira_probe: RequestProbe

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Harness:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def phase(self, name: str) -> None:
        if self.on_phase is not None:
            self.on_phase(name)

    async def start(self) -> None:
        self.phase("starting Redis, database, fakes and the gateway API")
        storage = open_storage(
            prefix="gw-scn-",
            database_url=self.config.database_url,
            redis_url=self.config.redis_url,
            jira_webhook_secret=WEBHOOK_SECRET,
            orphan_grace_seconds=self.config.orphan_grace_seconds,
            scheduler_interval_seconds=1,
            log_format="json",
            **(COMPRESSED_TASK_BACKOFF | self.config.settings),
        )
        storage.remove_folder = not self.config.keep_folder
        offset_file = storage.folder / "clock-offset"
        offset_file.write_text("0")
        self._previous_offset_env = os.environ.get(OFFSET_FILE_ENV)
        self.clock_offset_file = offset_file
        os.environ[OFFSET_FILE_ENV] = str(offset_file)
        self.attach(storage, self._start_upstreams)
        self.pool = await open_pool(self.redis_url)
        self.add_domain()
        self.start_api()

    def _start_upstreams(self) -> Upstreams:
        seed = self.config.seed
        if self.config.fresh_delivery_ids:
            self._fresh_transport = FreshIdentifierTransport(seed)
        return start_upstreams(
            seed=seed,
            jira_seed=seed + 1,
            page_size=self.config.page_size,
            wrap=self._probe,
            retry_delays=COMPRESSED_WEBHOOK_RETRIES,
            webhook_transport=self._fresh_transport,
        )

    def _probe(self, upstream: str, app: FastAPI) -> ASGIApp:
        """Record every request with its task and timing; Jira delivers only when drained."""
        if upstream == PEOPLEFORCE:
            self.pf_probe = RequestProbe(app, peopleforce_task_resolver)
            return self.pf_probe
        self.jira_probe = RequestProbe(app, jira_task_resolver(self._task_of_issue))
        return without_lifespan(self.jira_probe)

    async def stop(self) -> None:
        """Everything ``start`` began, even if it failed half way; this process's clock too."""
        if hasattr(self, "pool"):
            with contextlib.suppress(Exception):
                await self.pool.aclose()
        self.close()
        if self._fresh_transport is not None:
            await self._fresh_transport.close()
        if self.clock_offset_file is None:
            return
        if self._previous_offset_env is None:
            os.environ.pop(OFFSET_FILE_ENV, None)
        else:
            os.environ[OFFSET_FILE_ENV] = self._previous_offset_env

    # --- faults and time ------------------------------------------------------------------

    def delivery_faults(self, description: str, **faults: Any) -> None:
        """From now on the fake Jira's deliveries misbehave (``WebhookDispatcher.set_faults``)."""
        self.webhooks.set_faults(**faults)
        self.fault(description)

    def heal_all(self) -> None:
        """Stop every fault: partitions, errors, latency, storms and delivery faults."""
        self.pf_faults.clear()
        self.jira_faults.clear()
        self.webhooks.clear_faults()

    def expire_redis_timers(self, seconds: float) -> int:
        """Simulated time passes for Redis too (after a crash, minutes pass)."""
        return workers.expire_redis_keys(self.redis_url, seconds)

    # --- configuration --------------------------------------------------------------------

    def add_domain(self, **overrides: Any) -> int:
        # The daily sweep is placed an hour behind now, so it is due only when a
        # scenario lets about a day pass; every other sweep is asked for explicitly.
        sweep_at = (self.clock.now() - timedelta(hours=1)).strftime("%H:%M")
        defaults = {
            "max_concurrency": self.config.max_concurrency,
            "sweep_time": sweep_at,
            "reconcile_interval_minutes": SCENARIO_RECONCILE_MINUTES,
        }
        return super().add_domain(**defaults | overrides)

    # --- running the gateway --------------------------------------------------------------

    async def queued_jobs(self) -> tuple[int, int]:
        """(jobs ready or running now, jobs deferred to later) on the gateway's queue."""
        return await workers.queued_jobs(self.pool)

    async def run_jobs(self, *, wait_deferred: bool = False, timeout: float = 60.0) -> None:
        """Run queued jobs with a real ARQ worker until none is ready (or, with
        ``wait_deferred``, none is left at all: back-off retries are waited out)."""
        worker = workers.arq_worker(
            self.settings, self.retry_policy, burst=False, max_jobs=IN_PROCESS_MAX_JOBS
        )
        idle = await workers.run_until_idle(
            worker, self.pool, wait_deferred=wait_deferred, timeout=timeout
        )
        if not idle:
            ready, _deferred = await self.queued_jobs()
            self.note(f"jobs still queued after {timeout:.0f} s (ready={ready})")

    async def start_workers(self, *names: str) -> list[ChildProcess]:
        """Real ``gateway worker`` processes ticking on their own; returns once all are ready."""
        started = [self.start_worker_process(name) for name in names]
        ready = (asyncio.to_thread(w.wait_heartbeat, self.redis_url) for w in started)
        await asyncio.gather(*ready)
        return started

    async def stop_workers(self) -> None:
        """Stop every worker process (SIGTERM), then clean up after them."""
        while self.processes:
            await asyncio.to_thread(self.processes.pop().stop)
        await self.after_processes_stopped()

    async def after_processes_stopped(self) -> None:
        """Clean up what stopped worker processes leave in Redis for the in-process workers."""
        markers = await workers.clear_after_stopped_workers(self.pool)
        if markers:
            self.note(f"{markers} ARQ in-progress markers left by stopped workers")

    async def release_deferred_jobs(self, seconds: float) -> int:
        """Simulated time passes for ARQ too: jobs deferred by less than ``seconds`` are due."""
        return await workers.release_deferred_jobs(self.pool, seconds)

    async def tick(self, *, wait_deferred: bool = False) -> None:
        """One round of the scheduler cron: simulated time passes, due ticks run."""
        self.advance(self.config.round_seconds)
        await self.pool.enqueue_job(SCHEDULE_JOB)
        await self.run_jobs(wait_deferred=wait_deferred)

    async def deliver(self, timeout: float = 60.0) -> int:
        """Send every webhook the fake Jira has queued (waiting out delays and its retries)."""
        before = len(self.webhooks.log)
        await self.webhooks.drain(timeout=timeout)
        return len(self.webhooks.log) - before

    async def sweep(self) -> dict[str, Any]:
        """An on-demand sweep (as the operator's "sweep now"); returns its audit details."""
        await self.pool.enqueue_job(SWEEP_JOB, self.domain_id, _job_id=sweep_job_id(self.domain_id))
        await self.run_jobs(wait_deferred=False)
        sweeps = self.events("sweep")
        return dict(sweeps[-1].details or {}) if sweeps else {}

    async def reconcile(self) -> dict[str, Any]:
        """An on-demand reconcile pass; returns the domain's outcome line and its audit."""
        job_id = reconcile_job_id(self.domain_id)
        await self.pool.enqueue_job(RECONCILE_JOB, self.domain_id, _job_id=job_id)
        await self.run_jobs(wait_deferred=False)
        passes = self.events("reconcile")
        details = dict(passes[-1].details or {}) if passes else {}
        return {"outcome": self.domain().last_reconcile_outcome, **details}

    async def replay(self, dead_letter_id: int) -> None:
        await self.pool.enqueue_job(REPLAY_JOB, dead_letter_id)
        await self.run_jobs(wait_deferred=False)

    async def round(self, *, release_deferred: bool = True) -> None:
        """Tick, deliver webhooks, run the jobs they queued.

        A round stands for however long the next due thing takes, so jobs backing off
        after a failure are due too (ARQ defers on real time, up to minutes), unless
        ``release_deferred`` is off (a fault still holds, and they should back off).
        """
        if release_deferred:
            await self.release_deferred_jobs(BACKOFF_HORIZON_SECONDS)
        await self.tick()
        await self.deliver()
        await self.run_jobs(wait_deferred=False)

    async def settle(self, *, max_rounds: int | None = None) -> int:
        """Rounds until one changes nothing anywhere; returns how many ran."""
        max_rounds = max_rounds or self.config.max_settle_rounds
        for n in range(1, max_rounds + 1):
            before = self.fingerprint()
            await self.round()
            ready, deferred = await self.queued_jobs()
            if self.fingerprint() == before and not ready and not deferred:
                return n
        self.note(f"not settled after {max_rounds} rounds")
        return max_rounds

    def fingerprint(self) -> tuple[Any, ...]:
        """Everything a round could change: writes, deliveries, the ledger, both fakes."""
        states = sorted(
            (s.pf_task_id, s.status, s.is_completed, s.jira_issue_id, s.last_sync_hash)
            for s in self.states().values()
        )
        tasks = sorted((t["id"], t["completed"]) for t in self.pf.tasks.values())
        issues = sorted((i["id"], i["status"]) for i in self.issues())
        writes = sum(self.writes().values())
        return (writes, len(self.webhooks.log), self.webhooks.pending, states, tasks, issues)

    # --- observation ----------------------------------------------------------------------

    def _task_of_issue(self, id_or_key: str) -> int | None:
        try:
            value = self.jira.issue(id_or_key).properties.get(LINEAGE_PROPERTY)
        except Exception:
            return None
        return value.get("pf_task_id") if isinstance(value, dict) else None

    def requests(self, upstream: Upstream) -> list[RecordedRequest]:
        plane = self.pf_faults if upstream == "peopleforce" else self.jira_faults
        return plane.requests

    def writes(self, *, effective: bool = True) -> Counter[Upstream]:
        """Writes the gateway sent to each upstream (only those that took effect by default)."""
        counts: Counter[Upstream] = Counter()
        for upstream in ("peopleforce", "jira"):
            for r in self.requests(upstream):
                if is_write(upstream, r) and (not effective or 200 <= r.status < 300):
                    counts[upstream] += 1
        return counts

    def reset_logs(self) -> None:
        self.upstreams.reset_request_logs()
        self.pf_probe.reset()
        self.jira_probe.reset()


def is_write(upstream: Upstream, request: RecordedRequest) -> bool:
    """A request that changes something upstream (Jira's POST searches only read)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    return not (upstream == "jira" and request.endpoint.endswith(JIRA_READ_ENDPOINT_SUFFIXES))
