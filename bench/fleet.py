"""Benchmark 7, many domains on many workers: 20 domains x 2 500 tasks, 3 ``gateway worker``s.

Every domain has its own fake PeopleForce and fake Jira (``bench.fleet_upstreams``),
so requests are counted per domain. All 2 500 tasks of a domain are open and
already synced when the run starts, except ``NEW_TASKS`` that appear in
PeopleForce during the run: each must be created in Jira exactly once, and
nothing else may be written anywhere. Three real ``gateway worker`` processes
share one Redis (the embedded server) and one database (PostgreSQL when
``--database-url`` or ``GATEWAY_TEST_DATABASE_URL`` names a server, SQLite
otherwise) and schedule the ticks themselves, as in production.

Compressed time: production intervals of 60 to 120 s are divided by
``COMPRESSION`` (6), so the domains tick every 10 to 20 s and 10 minutes of
fleet time run in 100 s of wall time (``--quick``: 5 minutes in 50 s). The
+5 s tolerance and the workers' scheduler beat (5 s) are not compressed, so the
run is six times denser in ticks than the fleet it stands for. Each domain's
first slot is spread over its interval, as a fleet in steady state has them.
After the window the fleet ticks on until every new task has had its tick (so
the Jira counts are final), then every domain is switched off and the running
ticks drain before the fakes' logs are counted.

Tick lateness comes from the gateway's own records: each tick writes its start
(``last_poll_at``) and the next slot (``next_poll_at``) on the domain row
before it lists anything; this process reads those rows every 0.2 s, so a
tick's lateness is its start minus the slot the previous tick set.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import resource
import time
from collections.abc import Generator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import Engine, func, insert, select, update
from sqlmodel import col

from bench.env import WEBHOOK_SECRET
from bench.fleet_upstreams import FleetUpstreams, Tenant
from bench.procs import cpu_seconds, python_env
from bench.report import BenchResult
from bench.stats import percentile
from bench.upstreams import seed_open_tasks
from gateway.clock import as_utc, utcnow
from gateway.demo.processes import ChildProcess, gateway_command
from gateway.demo.records import domain_values, insert_domain
from gateway.demo.storage import Storage, gateway_environment, open_storage
from gateway.models import DomainConfig, SyncState, SyncStatus
from gateway.sync.hashing import state_hash
from gateway.sync.locks import tick_lock_name

DOMAINS = 20
TASKS = 2_500
NEW_TASKS = 5
WORKERS = 3
PAGE_SIZE = 50
COMPRESSION = 6
FLEET_MINUTES, QUICK_FLEET_MINUTES = 10, 5
PRODUCTION_INTERVALS = (60, 120)
TOLERANCE_SECONDS = 5.0
POLL_SECONDS = 0.2
DRAIN_TIMEOUT_SECONDS = 120.0
SETTLE_TIMEOUT_SECONDS = 120.0
SETTLE_POLL_SECONDS = 1.0
IDLE_SECONDS = 5.0
DATABASE_URL_ENV = "GATEWAY_TEST_DATABASE_URL"


def interval_of(index: int) -> int:
    """Domain ``index``'s compressed interval: production 60..120 s spread over the fleet."""
    low, high = PRODUCTION_INTERVALS
    production = low + (high - low) * index / max(1, DOMAINS - 1)
    return max(1, round(production / COMPRESSION))


@contextmanager
def fresh_postgres(url: str) -> Generator[str]:
    """An empty database beside the one ``url`` names, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"bench_fleet_{os.getpid()}_{int(time.time())}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def seed_tenant(engine: Engine, tenant: Tenant) -> int:
    """Open tasks already synced (ledger rows with the tick's own hash); returns the domain id."""
    tasks = seed_open_tasks(tenant.pf, TASKS - NEW_TASKS, seed=tenant.index)
    values = domain_values(
        tenant.pf_url,
        tenant.jira_url,
        name=f"fleet-{tenant.index:02d}",
        poll_interval_seconds=interval_of(tenant.index),
        is_active=False,
        next_sweep_at=utcnow() + timedelta(days=1),
        next_reconcile_at=utcnow() + timedelta(days=1),
    )
    domain_id = insert_domain(engine, values)
    now = utcnow()
    rows = [
        {
            "domain_id": domain_id,
            "pf_task_id": task["id"],
            "jira_issue_id": str(100_000 + task["id"]),
            "jira_issue_key": f"HR-{task['id']}",
            "last_sync_hash": state_hash(task),
            "is_completed": False,
            "status": SyncStatus.SYNCED,
            "created_at": now,
            "updated_at": now,
        }
        for task in tasks
    ]
    with engine.begin() as connection:
        connection.execute(insert(SyncState), rows)
    return domain_id


class TickWatcher:
    """Reads the domain rows every ``POLL_SECONDS``: each change of ``last_poll_at`` is a tick."""

    def __init__(self, engine: Engine, domain_ids: list[int]) -> None:
        self.engine = engine
        self.domain_ids = domain_ids
        self.slot: dict[int, datetime | None] = {}
        self.started: dict[int, datetime | None] = {}
        self.ticks: dict[int, list[dict[str, Any]]] = {d: [] for d in domain_ids}

    def read(self) -> list[Any]:
        columns = (
            col(DomainConfig.id),
            col(DomainConfig.last_poll_at),
            col(DomainConfig.next_poll_at),
            col(DomainConfig.last_tick_duration_ms),
            col(DomainConfig.last_tick_outcome),
        )
        with self.engine.connect() as connection:
            return list(connection.execute(select(*columns)))

    def prime(self) -> None:
        """The rows as ``activate`` left them: their start is a baseline, not a tick."""
        for row in self.read():
            self.slot[row.id] = as_utc(row.next_poll_at)
            self.started[row.id] = as_utc(row.last_poll_at)

    def poll(self) -> None:
        for row in self.read():
            ticks = self.ticks.get(row.id)
            if ticks is None:
                continue
            started = as_utc(row.last_poll_at)
            if started is not None and started != self.started.get(row.id):
                self.started[row.id] = started
                slot = self.slot.get(row.id)
                ticks.append(
                    {
                        "started": started,
                        "slot": slot,
                        "late": None if slot is None else (started - slot).total_seconds(),
                    }
                )
            if ticks and ticks[-1]["started"] == started:
                # The last tick's own figures, once it has ended (until the next one starts).
                ticks[-1]["duration_ms"] = row.last_tick_duration_ms
                ticks[-1]["outcome"] = row.last_tick_outcome
            self.slot[row.id] = as_utc(row.next_poll_at)


def start_workers(storage: Storage) -> list[ChildProcess]:
    env = python_env(gateway_environment(storage.settings) | {"PYTHONUNBUFFERED": "1"})
    workers = []
    for index in range(WORKERS):
        child = ChildProcess(
            f"fleet-worker-{index}",
            gateway_command("worker"),
            env=env,
            log_path=storage.folder / f"worker-{index}.log",
            cwd=storage.folder,
        )
        workers.append(child.start())
    for child in workers:
        child.wait_heartbeat(storage.redis_url)
    return workers


def activate(engine: Engine, domain_ids: list[int], tenants: list[Tenant]) -> float:
    """Give each domain a first slot within its interval and switch them all on at once."""
    now = utcnow()
    rng = random.Random(16)
    with engine.begin() as connection:
        for domain_id, tenant in zip(domain_ids, tenants, strict=True):
            interval = interval_of(tenant.index)
            first = now + timedelta(seconds=1 + rng.uniform(0, interval - 1))
            connection.execute(
                update(DomainConfig)
                .where(col(DomainConfig.id) == domain_id)
                .values(
                    is_active=True,
                    next_poll_at=first,
                    last_poll_at=first - timedelta(seconds=interval),
                )
            )
    return now.timestamp()


def add_new_tasks(tenants: list[Tenant], due: list[tuple[float, int]], began: float) -> None:
    """Create the tasks whose time (seconds after ``began``) has come; drops them from ``due``."""
    while due and due[0][0] <= time.monotonic() - began:
        _, index = due.pop(0)
        # Not ``len(pf.tasks)``: that renders every task under the fake's lock.
        tenants[index].pf.create_task(f"Fleet onboarding task {len(due)}", assigned_to=None)


def drain(storage: Storage, engine: Engine, domain_ids: list[int]) -> None:
    """Switch every domain off, then wait until no tick holds its lock (so counts are final)."""
    with engine.begin() as connection:
        connection.execute(update(DomainConfig).values(is_active=False))
    client = redis.Redis.from_url(storage.redis_url)
    try:
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        names = [tick_lock_name(d) for d in domain_ids]
        while client.exists(*names) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
    finally:
        client.close()


def run_fleet(storage: Storage, seconds: float) -> dict[str, Any]:
    """Seed, start the workers, let the fleet tick for ``seconds``, drain and count."""
    upstreams = FleetUpstreams(DOMAINS, page_size=PAGE_SIZE).start()
    workers: list[ChildProcess] = []
    try:
        seeding = time.perf_counter()
        domain_ids = [seed_tenant(storage.engine, t) for t in upstreams.tenants]
        seeding = time.perf_counter() - seeding
        workers = start_workers(storage)
        upstreams.reset_request_logs()
        rng = random.Random(7)
        # New tasks appear in the first three quarters, so each has ticks left to be created.
        due = sorted(
            (rng.uniform(0, 0.75 * seconds), index)
            for index in range(DOMAINS)
            for _ in range(NEW_TASKS)
        )
        watcher = TickWatcher(storage.engine, domain_ids)
        # What the workers spend with nothing to tick: queue polling, cron beats, heartbeats.
        idle_cpu = sum(cpu_seconds(w) for w in workers)
        time.sleep(IDLE_SECONDS)
        idle_cpu = (sum(cpu_seconds(w) for w in workers) - idle_cpu) / IDLE_SECONDS
        cpu_before = [cpu_seconds(w) for w in workers]
        fakes_cpu, load_before = _own_cpu(), os.getloadavg()[0]
        began_wall = activate(storage.engine, domain_ids, upstreams.tenants)
        watcher.prime()
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            add_new_tasks(upstreams.tenants, due, began)
            watcher.poll()
            time.sleep(POLL_SECONDS)
        # Ticks go on until every new task has had its tick (at most SETTLE_TIMEOUT_SECONDS).
        settle = time.monotonic()
        while time.monotonic() - settle < SETTLE_TIMEOUT_SECONDS and (
            min(_synced_counts(storage.engine, domain_ids).values()) < TASKS
        ):
            watcher.poll()
            time.sleep(SETTLE_POLL_SECONDS)
        settled = time.monotonic() - settle
        drain(storage, storage.engine, domain_ids)
        watcher.poll()
        worker_cpu = sum(cpu_seconds(w) for w in workers) - sum(cpu_before)
        elapsed = time.monotonic() - began
        fakes_cpu = _own_cpu() - fakes_cpu
        counts = upstreams.request_counts()
        synced = _synced_counts(storage.engine, domain_ids)
        return {
            "seeding_seconds": seeding,
            "settle_seconds": settled,
            "began_wall": began_wall,
            "worker_cpu": worker_cpu,
            "worker_idle_cpu_per_s": idle_cpu,
            "elapsed_seconds": elapsed,
            "fakes_cpu": fakes_cpu,
            "load_average": [load_before, os.getloadavg()[0]],
            "domains": _domain_rows(domain_ids, upstreams.tenants, watcher, counts, synced),
        }
    finally:
        for worker in workers:
            worker.stop()
        upstreams.stop()


def _own_cpu() -> float:
    """This process's CPU time: both fakes' servers (and the 0.2 s poll of the domain rows)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _synced_counts(engine: Engine, domain_ids: list[int]) -> dict[int, int]:
    """Synced ledger rows per domain, counted by the database (cheap enough to poll)."""
    query = (
        select(col(SyncState.domain_id), func.count())
        .where(col(SyncState.domain_id).in_(domain_ids), col(SyncState.status) == SyncStatus.SYNCED)
        .group_by(col(SyncState.domain_id))
    )
    with engine.connect() as connection:
        found: dict[int, int] = dict.fromkeys(domain_ids, 0)
        for domain_id, count in connection.execute(query):
            found[domain_id] = count
        return found


def _domain_rows(
    domain_ids: list[int],
    tenants: list[Tenant],
    watcher: TickWatcher,
    counts: list[dict[str, Any]],
    synced: dict[int, int],
) -> list[dict[str, Any]]:
    rows = []
    for domain_id, tenant, count in zip(domain_ids, tenants, counts, strict=True):
        ticks = watcher.ticks[domain_id]
        starts = [t["started"] for t in ticks]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
        rows.append(
            {
                "domain": tenant.index,
                "interval": interval_of(tenant.index),
                "ticks": len(ticks),
                "lateness": [t["late"] for t in ticks if t["late"] is not None],
                "gaps": gaps,
                "durations_ms": [t.get("duration_ms") for t in ticks],
                "outcomes_ok": sum(
                    1 for t in ticks if (t.get("outcome") or "").split(":")[0] != "failed"
                ),
                "synced": synced[domain_id],
                **count,
            }
        )
    return rows


def run(quick: bool = False, database_url: str | None = None) -> BenchResult:
    """The fleet run on PostgreSQL if a server is named, else on a SQLite file."""
    minutes = QUICK_FLEET_MINUTES if quick else FLEET_MINUTES
    seconds = minutes * 60 / COMPRESSION
    server = database_url or os.environ.get(DATABASE_URL_ENV) or None
    result = BenchResult(
        "fleet",
        "Many domains on many workers",
        params={
            "domains": DOMAINS,
            "tasks_per_domain": TASKS,
            "new_tasks_per_domain": NEW_TASKS,
            "workers": WORKERS,
            "database": "postgresql" if server else "sqlite",
            "fleet_minutes": minutes,
            "compression": COMPRESSION,
            "wall_seconds": seconds,
            "intervals_s": f"{interval_of(0)}..{interval_of(DOMAINS - 1)}",
        },
    )
    options: dict[str, Any] = {
        "prefix": "gateway-bench-fleet-",
        "jira_webhook_secret": WEBHOOK_SECRET,
        "log_level": "WARNING",
        "log_format": "text",
    }
    if server:
        with fresh_postgres(server) as url:
            storage = open_storage(database_url=url, **options)
            try:
                figures = run_fleet(storage, seconds)
            finally:
                storage.close()
    else:
        storage = open_storage(**options)
        try:
            figures = run_fleet(storage, seconds)
        finally:
            storage.close()
    figures["wall_seconds"] = seconds
    result.figures = figures
    report(result, figures, seconds)
    return result


def report(result: BenchResult, figures: dict[str, Any], seconds: float) -> None:
    """The per-domain table and the four targets."""
    rows = figures["domains"]
    table = result.section(
        f"per domain over {seconds:.0f} s (lateness = tick start - its slot, seconds)",
        [
            "domain",
            "interval s",
            "ticks",
            "late p50",
            "late p99",
            "longest gap s",
            "tick ms p50",
            "PF GETs",
            "expected",
            "Jira creates",
            "other writes",
            "synced",
        ],
    )
    pages = math.ceil(TASKS / PAGE_SIZE)
    for row in rows:
        durations = [d for d in row["durations_ms"] if d is not None]
        table.add(
            row["domain"],
            row["interval"],
            row["ticks"],
            percentile(row["lateness"], 0.5),
            percentile(row["lateness"], 0.99),
            max(row["gaps"], default=float("nan")),
            percentile(durations, 0.5),
            row["pf_reads"],
            row["ticks"] * pages,
            row["jira_creates"],
            row["jira_other_writes"] + row["pf_writes"],
            row["synced"],
        )
    _targets(result, rows, seconds, pages)
    ticks = sum(r["ticks"] for r in rows)
    overrun = sum(
        1 for r in rows for d in r["durations_ms"] if d is not None and d > 1000 * r["interval"]
    )
    result.notes.append(
        f"worker CPU {figures['worker_cpu']:.1f} s for {ticks} ticks = "
        f"{figures['worker_cpu'] / max(1, ticks * TASKS) * 1e6:.0f} µs per task-tick "
        f"({WORKERS} workers); fakes' CPU {figures['fakes_cpu']:.1f} s; "
        f"{overrun} ticks ran longer than their interval (the next one waits for the lock)"
    )
    idle = figures["worker_idle_cpu_per_s"]
    busy = figures["worker_cpu"] - idle * figures["elapsed_seconds"]
    result.notes.append(
        f"workers at idle: {idle * 1000:.0f} ms CPU per second (all {WORKERS}); without it, "
        f"{busy / max(1, ticks * TASKS) * 1e6:.0f} µs per task-tick"
    )
    per_tick = (figures["worker_cpu"] + figures["fakes_cpu"]) / max(1, ticks)
    schedule = sum(1 / r["interval"] for r in rows)
    result.notes.append(
        f"CPU the schedule asks for: {schedule:.2f} ticks/s x {per_tick:.2f} s "
        f"(workers + fakes, per tick) = {schedule * per_tick:.2f} CPUs"
    )
    load = figures["load_average"]
    result.notes.append(
        f"load average {load[0]:.1f} at start, {load[1]:.1f} at end "
        f"({os.cpu_count()} CPUs); seeding took {figures['seeding_seconds']:.0f} s; after the "
        f"run, {figures['settle_seconds']:.0f} s until every new task had its tick"
    )
    result.notes.append(
        f"compressed time: production intervals {PRODUCTION_INTERVALS[0]}-"
        f"{PRODUCTION_INTERVALS[1]} s / {COMPRESSION}; the +{TOLERANCE_SECONDS:.0f} s "
        "tolerance is not compressed"
    )


def _targets(result: BenchResult, rows: list[dict[str, Any]], seconds: float, pages: int) -> None:
    worst = max(rows, key=lambda r: percentile(r["lateness"] or [0.0], 0.99))
    worst_late = percentile(worst["lateness"] or [0.0], 0.99)
    late = [x for r in rows for x in r["lateness"]]
    result.target(
        "tick within interval + 5 s",
        f"p99 per domain of start - slot <= {TOLERANCE_SECONDS:.0f} s",
        f"worst domain {worst['domain']}: {worst_late:.2f} s; all ticks p99 "
        f"{percentile(late, 0.99):.2f} s, max {max(late, default=float('nan')):.2f} s",
        worst_late <= TOLERANCE_SECONDS,
    )
    # A domain has floor(run / interval) slots or one more; the last may fall in the drain.
    starving = [r for r in rows if r["ticks"] < math.floor(seconds / r["interval"]) - 1]
    fewest = min(rows, key=lambda r: r["ticks"] * r["interval"])
    result.target(
        "no domain starves",
        "ticks >= floor(run / interval) - 1, none failed",
        f"min {min(r['ticks'] for r in rows)} ticks; fewest for its interval: domain "
        f"{fewest['domain']} ({fewest['ticks']} x {fewest['interval']} s)",
        not starving and all(r["outcomes_ok"] == r["ticks"] for r in rows),
    )
    pf_exact = all(r["pf_reads"] == r["ticks"] * pages and r["pf_writes"] == 0 for r in rows)
    result.target(
        "PeopleForce requests per domain",
        f"ticks x {pages} pages, no write",
        "exact" if pf_exact else _mismatches(rows, pages),
        pf_exact,
    )
    jira_exact = all(
        r["jira_creates"] == NEW_TASKS and r["jira_other_writes"] == 0 and r["synced"] == TASKS
        for r in rows
    )
    result.target(
        "Jira requests per domain",
        f"{NEW_TASKS} creates (the new tasks), no other write",
        "exact" if jira_exact else _mismatches(rows, pages),
        jira_exact,
    )


def _mismatches(rows: list[dict[str, Any]], pages: int) -> str:
    wrong = [
        f"d{r['domain']}: PF {r['pf_reads']}/{r['ticks'] * pages}, creates {r['jira_creates']}, "
        f"other {r['jira_other_writes']}"
        for r in rows
        if r["pf_reads"] != r["ticks"] * pages or r["jira_creates"] != NEW_TASKS
    ]
    return "; ".join(wrong[:3]) or "writes seen"
