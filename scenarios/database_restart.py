"""database-restart: the database goes away twice mid-story; ticks fail cleanly and resume.

Guarantee (operations cannot wedge it; nothing accepted is lost): while the
database cannot be used, the tick in flight fails and releases its lock, the
next schedule tries again, webhook jobs are retried instead of dropped, the
admin surface answers 503 (not 500) and the ingress answers 503 so Jira retries;
once the database is back the API and the workers carry on without a restart.

Faults: two real ``gateway worker`` processes; Jira answers 300 ms late around the
outages. Twice, right after webhooks of closed issues were accepted (their jobs
in flight) and while more issues are closed: on SQLite (the default) another process holds the write
lock for longer than the busy timeout (10 s), so every write fails after
waiting; on PostgreSQL (``--database-url``, or GATEWAY_TEST_DATABASE_URL in the
test suite) every connection to the database is terminated and new ones are
refused for a few seconds, which is what clients see of a server restart (the
scenario's role must own the database).

Checks: the admin API answered 503 naming the database during each outage; no
worker exited; the domain ticked again within the bound after each outage;
every delivery answered 2xx completed its task before any sweep; every task
synced; after one sweep every pair agrees; one issue per task; zero writes at
rest. Without the API's outage handlers (negative test) the admin API answers
500: FAIL; on PostgreSQL, with workers that do not retry a webhook job meeting
the outage (``Knobs(recovery=False)``), deliveries answered 202 are left to the
sweep: FAIL.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gateway.admin.accounts import create_api_token
from gateway.db import SQLITE_BUSY_TIMEOUT_MS, session_scope
from scenarios.checks import check_every_recovery
from scenarios.harness import Harness
from scenarios.operations import (
    GATEWAY_WORKER,
    RECOVERY_BOUND_SECONDS,
    check_accepted_deliveries,
    checked_synced_and_agreeing,
    compressed_environment,
    release_leftovers,
    seconds_until,
    start_ops_worker,
    sweep_and_wait,
    synced_open,
    ticked_since,
    wait_all_synced,
    wait_ready,
)
from scenarios.result import RunContext

NAME = "database-restart"
DEFAULT_TASKS = 24
OUTAGES = 2
WORKERS = 2
SQLITE_LOCK_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000 + 3
POSTGRES_OUTAGE_SECONDS = 5.0
JIRA_LATENCY_SECONDS = 0.3
PROBE_TIMEOUT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000 + 20
# Knobs(recovery=False): workers that drop a webhook job meeting the outage (negative test).
UNRETRIED_WORKER = ("scenarios.unretried_worker",)


async def run(h: Harness, ctx: RunContext) -> None:
    outage = _postgres_outage if h.storage.database_url.startswith("postgresql") else _sqlite_lock
    token = _api_token(h)
    command = GATEWAY_WORKER if ctx.knobs.recovery else UNRETRIED_WORKER
    workers = [
        start_ops_worker(h, f"worker-{n}", compressed_environment(), command=command)
        for n in range(1, WORKERS + 1)
    ]
    batch = max(1, ctx.tasks // (OUTAGES + 1))
    closed: dict[str, int] = {}
    probes: list[tuple[int, str]] = []
    recoveries: list[float | None] = []
    h.fault(f"the database unusable {OUTAGES} times: {outage.__doc__}")
    try:
        h.create_tasks(ctx.tasks - batch * OUTAGES)
        await wait_ready(h, workers)
        await wait_all_synced(h)
        for n in range(OUTAGES):
            h.phase(f"database outage {n + 1} of {OUTAGES}")
            h.create_tasks(batch)
            # Accepted just before the outage: their jobs are in flight when it starts.
            h.jira_faults.set_latency(JIRA_LATENCY_SECONDS)
            half = max(1, batch // 2)
            for task_id in synced_open(h)[:half]:
                closed[h.close_issue(task_id)] = task_id
            await h.deliver()
            for task_id in synced_open(h)[half:batch]:
                closed[h.close_issue(task_id)] = task_id
            probe = _admin_probe(h, token)
            probes.append(await outage(h, asyncio.gather(h.deliver(), probe)))
            h.jira_faults.set_latency(0)
            recoveries.append(await _ticks_resume(h))
            await wait_all_synced(h)
        exited = [w.name for w in workers if not w.alive]
        ctx.check("no worker exited", not exited, f"exited: {exited}")
        await check_accepted_deliveries(h, ctx, closed)
        h.phase("one sweep repairs what Jira gave up delivering")
        await sweep_and_wait(h)
    finally:
        await h.stop_workers()
        release_leftovers(h)
    _verdict(h, ctx, probes, recoveries)


def _verdict(
    h: Harness, ctx: RunContext, probes: list[tuple[int, str]], recoveries: list[float | None]
) -> None:
    wrong = [f"{status} {body[:80]}" for status, body in probes if status != 503]
    ctx.check(
        "admin API answered 503 during every outage",
        len(probes) == OUTAGES and not wrong and all("database" in b for _, b in probes),
        f"answers: {wrong or probes}",
    )
    check_every_recovery(
        h,
        ctx,
        recoveries,
        expected=OUTAGES,
        check="domain ticked within the bound after every outage",
        noted="ticks resumed (the database back)",
    )
    checked_synced_and_agreeing(h, ctx, "every pair agrees after one sweep")


async def _ticks_resume(h: Harness) -> float | None:
    """Seconds until a tick starts once the database is back (None: not within the bound)."""
    back = h.now()
    return await seconds_until(lambda: ticked_since(h, back), RECOVERY_BOUND_SECONDS)


def _api_token(h: Harness) -> str:
    with session_scope(h.engine) as session:
        _, token = create_api_token(session, "scenario")
    return token


async def _admin_probe(h: Harness, token: str) -> tuple[int, str]:
    """A write through the admin API while the database cannot take it (a no-op resume)."""
    assert h.api is not None
    async with httpx.AsyncClient(base_url=h.api.url, timeout=PROBE_TIMEOUT_SECONDS) as client:
        response = await client.post(
            f"/api/v1/admin/domains/{h.domain_id}/resume",
            headers={"Authorization": f"Bearer {token}"},
        )
    return response.status_code, response.text


Probe = tuple[int, str]
Story = Awaitable[tuple[int, Probe]]


async def _sqlite_lock(h: Harness, story: Story) -> Probe:
    """a write lock held past SQLite's busy timeout"""
    path = make_url(h.storage.database_url).database
    assert path, "no SQLite file"
    holder = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        running = asyncio.ensure_future(story)
        await asyncio.sleep(SQLITE_LOCK_SECONDS)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _, probe = await running
    return probe


async def _postgres_outage(h: Harness, story: Story) -> Probe:
    """connections terminated and refused, as in a server restart"""
    url = make_url(h.storage.database_url)
    database = url.database
    admin = _maintenance_engine(h.storage.database_url)
    refuse = text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    terminate = text(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = :database AND pid <> pg_backend_pid()"
    )
    try:
        with admin.connect() as connection:
            connection.execute(refuse)
            connection.execute(terminate, {"database": database})
        running = asyncio.ensure_future(story)
        await asyncio.sleep(POSTGRES_OUTAGE_SECONDS)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    _, probe = await running
    return probe


def _maintenance_engine(database_url: str) -> Engine:
    """A connection to the server that does not go through the database being cut off."""
    url = make_url(database_url)
    for name in ("postgres", "template1"):
        engine = create_engine(url.set(database=name), isolation_level="AUTOCOMMIT", pool_size=1)
        try:
            with engine.connect():
                return engine
        except OperationalError:
            engine.dispose()
    raise RuntimeError("no maintenance database (postgres, template1) accepts this role")
