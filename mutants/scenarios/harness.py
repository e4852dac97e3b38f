"""The real gateway assembled around the fakes, with time and faults under a scenario's control.

One ``Harness`` owns a temporary folder holding a migrated SQLite database, an
embedded Redis and the clock offset file; both fakes on loopback sharing one
``FakeClock``; the gateway API (``create_app``) registered as the fake Jira's
signed admin webhook; and the workers: in-process ARQ workers for most
scenarios, real ``gateway worker`` processes where a scenario needs them
(``scenarios.processes``). Time is compressed: ``advance`` moves the fakes'
clock and the gateway's offset file together, so days pass in milliseconds.

Webhooks leave the fake Jira only when the harness drains them, so which
deliveries are dropped, duplicated or reordered is decided by the seed alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.jobs import deserialize_job
from arq.worker import Worker
from sqlalchemy import Engine

from fakes.clock import FakeClock
from fakes.faults import FaultPlane, RecordedRequest
from fakes.jira import create_jira_app
from fakes.jira_human import FakeJira
from fakes.jira_webhooks import WebhookDispatcher
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app
from fakes.server import FakeServer
from gateway.api.app import create_app
from gateway.clients.retry import RetryPolicy
from gateway.clock import OFFSET_FILE_ENV
from gateway.db import make_engine
from gateway.jobs import QUEUE_NAME, REPLAY_JOB, SWEEP_JOB, open_pool, sweep_job_id
from gateway.migrate import upgrade
from gateway.models import (
    DeadLetter,
    DomainConfig,
    MappingKind,
    SyncEvent,
    SyncState,
)
from gateway.redis import EmbeddedRedis, arq_redis_settings
from gateway.settings import Settings, load_settings
from gateway.worker import FUNCTIONS, shutdown, startup
from scenarios.probes import (
    FreshIdentifierTransport,
    RequestProbe,
    jira_task_resolver,
    peopleforce_task_resolver,
    without_lifespan,
)
from scenarios.records import (
    JIRA_EMAIL,
    JIRA_TOKEN,
    PF_KEY,
    domain_values,
    insert_domain,
    insert_rule,
    read_dead_letters,
    read_domain,
    read_events,
    read_states,
    update_domain,
)

WEBHOOK_SECRET = "scenario-webhook-secret-0123456789"
PROPERTY_KEY = "pf_sync_metadata"
WEBHOOK_JQL = "labels = PeopleForce AND statusCategory = Done"
WEBHOOK_PATH = "/api/v1/webhooks/jira"
COMPRESSED_WEBHOOK_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8)
"""Jira retries a failed delivery five times over hours; here over 1.55 s."""
JIRA_READ_ENDPOINT_SUFFIXES = ("/search", "/search/jql", "/search/approximate-count")
SCHEDULE_JOB = "schedule_due_work"
BACKOFF_HORIZON_SECONDS = 3600.0

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
    """Settling normally takes two to four rounds; a loop never settles."""


@dataclass
class Counters:
    """What the scenario did to the world, for the report."""

    human_changes: int = 0
    faults: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Harness:
    """Fakes + gateway API + Redis + database + workers for one scenario run."""

    def __init__(
        self, config: HarnessConfig | None = None, on_phase: Callable[[str], None] | None = None
    ) -> None:
        self.config = config or HarnessConfig()
        self.on_phase = on_phase
        self.rng = random.Random(self.config.seed)
        self.clock = FakeClock()
        self.counters = Counters()
        self.folder = Path(tempfile.mkdtemp(prefix="gw-scn-"))
        self.offset_file = self.folder / "clock-offset"
        self.database_url = self.config.database_url or f"sqlite:///{self.folder / 'gateway.db'}"
        self.domain_id = 0
        self._redis: EmbeddedRedis | None = None
        self._servers: list[FakeServer] = []
        self._previous_offset_env: str | None = None
        self._fresh_transport: FreshIdentifierTransport | None = None
        self.api: FakeServer | None = None
        self.api_port = 0
        self.redis_url = ""
        self.engine: Engine
        self.pool: ArqRedis
        self.settings: Settings
        self.pf_server: FakeServer
        self.jira_server: FakeServer
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
        self.offset_file.write_text("0")
        self._previous_offset_env = os.environ.get(OFFSET_FILE_ENV)
        os.environ[OFFSET_FILE_ENV] = str(self.offset_file)
        if self.config.redis_url:
            self.redis_url = self.config.redis_url
            client = redis.Redis.from_url(self.redis_url)
            client.flushall()
            client.close()
        else:
            self._redis = EmbeddedRedis(self.folder / "redis")
            self.redis_url = self._redis.ensure_running()
        upgrade(self.database_url)
        self.engine = make_engine(self.database_url)
        self.settings = load_settings(
            data_dir=self.folder / "data",
            database_url=self.database_url,
            redis_url=self.redis_url,
            jira_webhook_secret=WEBHOOK_SECRET,
            orphan_grace_seconds=self.config.orphan_grace_seconds,
            scheduler_interval_seconds=1,
        )
        self.pool = await open_pool(self.redis_url)
        self._start_fakes()
        self.add_domain()
        self.start_api()

    def _start_fakes(self) -> None:
        seed = self.config.seed
        pf_app = create_peopleforce_app(
            api_key=PF_KEY, page_size=self.config.page_size, seed=seed, clock=self.clock
        )
        if self.config.fresh_delivery_ids:
            self._fresh_transport = FreshIdentifierTransport(seed)
        jira_app = create_jira_app(
            email=JIRA_EMAIL,
            api_token=JIRA_TOKEN,
            seed=seed + 1,
            clock=self.clock,
            retry_delays=COMPRESSED_WEBHOOK_RETRIES,
            webhook_transport=self._fresh_transport,
        )
        self.pf_app, self.jira_app = pf_app, jira_app
        self.pf_probe = RequestProbe(pf_app, peopleforce_task_resolver)
        self.jira_probe = RequestProbe(jira_app, jira_task_resolver(self._task_of_issue))
        self.pf_server = FakeServer(self.pf_probe, plane=self.pf_faults).start()
        self.jira_server = FakeServer(
            without_lifespan(self.jira_probe), plane=self.jira_faults
        ).start()
        self._servers += [self.pf_server, self.jira_server]
        self.jira.set_base_url(self.jira_server.url)

    def start_api(self) -> None:
        """Start (or restart, on the same port) the gateway API and register its webhook."""
        server = FakeServer(create_app(self.settings), port=self.api_port).start()
        self.api, self.api_port = server, server.port
        url = f"{server.url}{WEBHOOK_PATH}"
        if not any(hook.url == url for hook in self.webhooks.all()):
            self.webhooks.register(
                url,
                name="PF-Jira Sync: Task Completion Return Vector",
                events=["jira:issue_updated"],
                jql=WEBHOOK_JQL,
                secret=WEBHOOK_SECRET,
            )

    def stop_api(self) -> None:
        if self.api is not None:
            self.api.stop()
            self.api = None

    async def stop(self) -> None:
        self.stop_api()
        for server in self._servers:
            server.stop()
        if self._fresh_transport is not None:
            await self._fresh_transport.close()
        with contextlib.suppress(Exception):
            await self.pool.aclose()
        with contextlib.suppress(Exception):
            self.engine.dispose()
        if self._redis is not None:
            self._redis.stop()
        if self._previous_offset_env is None:
            os.environ.pop(OFFSET_FILE_ENV, None)
        else:
            os.environ[OFFSET_FILE_ENV] = self._previous_offset_env
        if not self.config.keep_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    # --- the fakes ------------------------------------------------------------------------

    @property
    def pf(self) -> FakePeopleForce:
        return self.pf_app.state.pf

    @property
    def jira(self) -> FakeJira:
        return self.jira_app.state.jira

    @property
    def webhooks(self) -> WebhookDispatcher:
        return self.jira.webhooks

    @property
    def pf_faults(self) -> FaultPlane:
        return self.pf_app.state.faults

    @property
    def jira_faults(self) -> FaultPlane:
        return self.jira_app.state.faults

    def fault(self, description: str) -> None:
        """Note an injected fault for the report."""
        self.counters.faults.append(description)

    def note(self, text: str) -> None:
        self.counters.notes.append(text)

    def heal_all(self) -> None:
        """Stop every fault: partitions, errors, latency, storms and delivery faults."""
        self.pf_faults.clear()
        self.jira_faults.clear()
        self.webhooks.clear_faults()

    # --- time -----------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let simulated time pass for the fakes and every gateway process at once."""
        self.clock.advance(seconds)
        self.offset_file.write_text(repr(self.clock.offset))

    def expire_redis_timers(self, seconds: float) -> int:
        """Simulated time passes for Redis too: drop keys whose TTL runs out within ``seconds``.

        Only used when a scenario makes minutes pass after a crash, so locks and
        ARQ's in-progress markers of the dead process expire as they would.
        """
        client = redis.Redis.from_url(self.redis_url)
        expired = 0
        try:
            for key in client.scan_iter(count=500):
                ttl = client.pttl(key)
                if isinstance(ttl, int) and 0 <= ttl <= seconds * 1000:
                    deleted = client.delete(key)
                    expired += deleted if isinstance(deleted, int) else 0
        finally:
            client.close()
        return expired

    # --- configuration --------------------------------------------------------------------

    def add_domain(self, **overrides: Any) -> int:
        # The daily sweep is placed an hour behind now, so it is due only when a
        # scenario lets about a day pass; every other sweep is asked for explicitly.
        sweep_at = (self.clock.now() - timedelta(hours=1)).strftime("%H:%M")
        values = domain_values(
            self.pf_server.url,
            self.jira_server.url,
            max_concurrency=self.config.max_concurrency,
            sweep_time=sweep_at,
        )
        values.update(overrides)
        self.domain_id = insert_domain(self.engine, values)
        return self.domain_id

    def update_domain(self, **changes: Any) -> None:
        update_domain(self.engine, self.domain_id, **changes)

    def add_rule(
        self,
        name: str,
        conditions: list[dict[str, Any]],
        *,
        project: str | None = None,
        issue_type: str | None = None,
        priority: int = 100,
        mappings: tuple[tuple[str, MappingKind, str], ...] = (),
    ) -> int:
        """What the admin does in the UI: an enabled SYNC rule with optional mappings."""
        return insert_rule(
            self.engine,
            self.domain_id,
            name,
            conditions,
            project=project,
            issue_type=issue_type,
            priority=priority,
            mappings=mappings,
        )

    # --- human actions (each one counts as a human change) --------------------------------

    def create_task(self, title: str | None = None, **fields: Any) -> dict[str, Any]:
        self.counters.human_changes += 1
        return self.pf.create_task(title or self.task_title(), **fields)

    def create_tasks(self, count: int) -> list[dict[str, Any]]:
        return [self.create_task() for _ in range(count)]

    def task_title(self) -> str:
        subject = self.rng.choice(_PEOPLE)
        return self.rng.choice(_TITLES).format(name=subject)

    def edit_task(self, task_id: int, **changes: Any) -> None:
        self.counters.human_changes += 1
        self.pf.edit_task(task_id, **changes)

    def complete_task(self, task_id: int) -> None:
        self.counters.human_changes += 1
        self.pf.complete_task(task_id)

    def reopen_task(self, task_id: int) -> None:
        self.counters.human_changes += 1
        self.pf.reopen_task(task_id)

    def close_issue(self, task_id: int) -> str:
        """A person moves the task's issue to done through its workflow; returns the issue id."""
        issue = self.issue_of(task_id)
        self.counters.human_changes += 1
        self.jira.transition(issue["id"], to_category="done")
        return issue["id"]

    def reopen_issue(self, task_id: int) -> str:
        issue = self.issue_of(task_id)
        self.counters.human_changes += 1
        self.jira.reopen(issue["id"])
        return issue["id"]

    def delete_issue(self, task_id: int) -> str:
        issue = self.issue_of(task_id)
        self.counters.human_changes += 1
        self.jira.delete(issue["id"])
        return issue["id"]

    # --- running the gateway --------------------------------------------------------------

    def _worker(self) -> Worker:
        return Worker(
            functions=FUNCTIONS,
            redis_settings=arq_redis_settings(self.redis_url),
            queue_name=QUEUE_NAME,
            on_startup=startup,
            on_shutdown=shutdown,
            burst=False,
            handle_signals=False,
            poll_delay=0.01,
            max_jobs=20,
            ctx={
                "settings": self.settings,
                "retry_policy": self.config.retry_policy or default_retry_policy(self.config.seed),
            },
        )

    async def queued_jobs(self) -> tuple[int, int]:
        """(jobs ready or running now, jobs deferred to later) on the gateway's queue."""
        now_ms = time.time() * 1000
        ready = await self.pool.zcount(QUEUE_NAME, "-inf", now_ms)
        total = await self.pool.zcard(QUEUE_NAME)
        return int(ready), int(total) - int(ready)

    async def run_jobs(self, *, wait_deferred: bool = False, timeout: float = 60.0) -> None:
        """Run queued jobs with a real ARQ worker until none is ready (or, with
        ``wait_deferred``, none is left at all: back-off retries are waited out)."""
        worker = self._worker()
        main = asyncio.create_task(worker.main())
        deadline = time.monotonic() + timeout
        try:
            while not main.done():
                await asyncio.sleep(0.02)
                ready, deferred = await self.queued_jobs()
                idle = all(task.done() for task in worker.tasks.values())
                if idle and ready == 0 and (deferred == 0 or not wait_deferred):
                    break
                if time.monotonic() > deadline:
                    self.note(f"jobs still queued after {timeout:.0f} s (ready={ready})")
                    break
            if main.done():
                main.result()
        finally:
            await _stop_worker(worker, main)

    async def after_processes_stopped(self) -> None:
        """Clean up what stopped worker processes leave in Redis for the in-process workers.

        Their cron jobs queued ahead of time are removed (the in-process workers drive
        the scheduler themselves and run no crons), and with no worker alive any ARQ
        in-progress marker is stale: a worker stopped between marking a job and
        starting it would otherwise hide the job for ARQ's in-progress timeout.
        """
        stale = []
        for job_id in await self.pool.zrange(QUEUE_NAME, 0, -1):
            raw = await self.pool.get(job_key_prefix + job_id.decode())
            if raw is None or deserialize_job(raw).function.startswith("cron:"):
                stale.append(job_id)
        if stale:
            await self.pool.zrem(QUEUE_NAME, *stale)
        markers = [key async for key in self.pool.scan_iter(match=in_progress_key_prefix + "*")]
        if markers:
            self.note(f"{len(markers)} ARQ in-progress markers left by stopped workers")
            await self.pool.delete(*markers)

    async def release_deferred_jobs(self, seconds: float) -> int:
        """Simulated time passes for ARQ too: jobs deferred by less than ``seconds`` are due."""
        now_ms = time.time() * 1000
        later = await self.pool.zrangebyscore(
            QUEUE_NAME, now_ms, now_ms + seconds * 1000, withscores=True
        )
        if later:
            await self.pool.zadd(QUEUE_NAME, {job_id: now_ms for job_id, _ in later})
        return len(later)

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

    async def replay(self, dead_letter_id: int) -> None:
        await self.pool.enqueue_job(REPLAY_JOB, dead_letter_id)
        await self.run_jobs(wait_deferred=False)

    async def round(self) -> None:
        """Tick, deliver webhooks, run the jobs they queued.

        A round stands for however long the next due thing takes, so jobs backing off
        after a failure are due too (ARQ defers on real time, up to minutes).
        """
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

    def states(self) -> dict[int, SyncState]:
        return read_states(self.engine, self.domain_id)

    def events(self, event_type: str | None = None) -> list[SyncEvent]:
        return read_events(self.engine, event_type)

    def dead_letters(self) -> list[DeadLetter]:
        return read_dead_letters(self.engine)

    def domain(self) -> DomainConfig:
        return read_domain(self.engine, self.domain_id)

    def issues(self) -> list[dict[str, Any]]:
        return list(self.jira.dump()["issues"])

    def issues_by_task(self) -> dict[int, list[dict[str, Any]]]:
        """Every labelled issue grouped by the task its lineage property names."""
        grouped: dict[int, list[dict[str, Any]]] = {}
        for issue in self.issues():
            value = (issue.get("properties") or {}).get(PROPERTY_KEY)
            if isinstance(value, dict) and isinstance(value.get("pf_task_id"), int):
                grouped.setdefault(value["pf_task_id"], []).append(issue)
        return grouped

    def issue_of(self, task_id: int) -> dict[str, Any]:
        found = self.issues_by_task().get(task_id)
        if not found:
            raise LookupError(f"task {task_id} has no issue")
        return found[0]

    def _task_of_issue(self, id_or_key: str) -> int | None:
        try:
            value = self.jira.issue(id_or_key).properties.get(PROPERTY_KEY)
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
        self.pf_faults.reset_log()
        self.jira_faults.reset_log()
        self.pf_probe.reset()
        self.jira_probe.reset()

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock.offset)


async def _stop_worker(worker: Worker, main: asyncio.Task[None]) -> None:
    """Ask the worker to finish what it runs and pick nothing new (ARQ's burst exit)."""
    if not main.done():
        worker.burst = True
        worker.max_burst_jobs = 0
        try:
            await asyncio.wait_for(asyncio.shield(main), 30)
        except TimeoutError:
            main.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await main
    await worker.close()


def is_write(upstream: Upstream, request: RecordedRequest) -> bool:
    """A request that changes something upstream (Jira's POST searches only read)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    return not (upstream == "jira" and request.endpoint.endswith(JIRA_READ_ENDPOINT_SUFFIXES))


def chunks(items: list[int], parts: int) -> Iterator[list[int]]:
    """Split ``items`` into ``parts`` nearly equal consecutive groups."""
    size, extra = divmod(len(items), parts)
    start = 0
    for n in range(parts):
        end = start + size + (1 if n < extra else 0)
        yield items[start:end]
        start = end


_PEOPLE = ("Olena Kovalenko", "Marco Rossi", "Zoë Martin", "Jamal Okafor", "Priya Nair")
_TITLES = (
    "Prepare the desk for {name}",
    "Create accounts for {name}",
    "Welcome lunch with {name}",
    "Collect the badge of {name}",
    "Schedule the exit interview of {name}",
    "Plan the first week of {name}",
)
