"""What the operations scenarios share: worker processes with compressed timeouts, and
watching what the workers announce, the domain's ticks and the jobs of a killed worker.

ARQ's and Redis's timeouts are real seconds, so these scenarios shorten the
gateway's own ones through its settings (a three-second presence TTL instead of
thirty); every bound they check is stated in the same compressed terms.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime

import redis
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.demo.processes import ChildProcess
from gateway.jobs import SWEEP_JOB, sweep_job_id
from gateway.models import SyncStatus
from gateway.runtime.presence import read_presence
from gateway.runtime.recovery import release_orphaned_locks
from scenarios.checks import disagreeing_tasks
from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import lost_issue_ids

PRESENCE_TTL_SECONDS = 3
RECOVERY_INTERVAL_SECONDS = 0.5
STOP_GRACE_SECONDS = 5
RECONNECT_CAP_SECONDS = 1.0
SETTLE_SECONDS = 60.0
RECOVERY_BOUND_SECONDS = 15.0
"""The compressed counterpart of "within max(poll interval, 60 s)": a 3 s presence TTL,
two 0.5 s looks, a 1 s scheduler beat and a 1 s poll interval take about 6 s; the rest
is room for a machine shared with other jobs. Without recovery it is ARQ's 610 s."""
GATEWAY_WORKER = ("gateway.cli", "worker")


def compressed_environment(*, recovery: bool = True) -> dict[str, str]:
    """Settings that make a dead worker's leftovers visible within seconds, not minutes."""
    return {
        "GATEWAY_WORKER_PRESENCE_TTL_SECONDS": str(PRESENCE_TTL_SECONDS),
        "GATEWAY_WORKER_RECOVERY_INTERVAL_SECONDS": str(
            RECOVERY_INTERVAL_SECONDS if recovery else 0
        ),
        "GATEWAY_WORKER_STOP_GRACE_SECONDS": str(STOP_GRACE_SECONDS),
        "GATEWAY_REDIS_RECONNECT_MAX_DELAY_SECONDS": str(RECONNECT_CAP_SECONDS),
    }


def start_ops_worker(
    h: Harness,
    name: str,
    extra: dict[str, str],
    command: tuple[str, ...] = GATEWAY_WORKER,
) -> ChildProcess:
    """A ``gateway worker`` process (or ``command``) of the harness with extra settings."""
    return h.start_process(name, [sys.executable, "-m", *command], extra_env=extra)


async def wait_ready(h: Harness, workers: list[ChildProcess]) -> None:
    """Until every worker of ``workers`` has written its heartbeat."""
    await asyncio.gather(*(asyncio.to_thread(w.wait_heartbeat, h.redis_url) for w in workers))


def owner_of(worker: ChildProcess) -> str:
    """How its presence and lock tokens name it (``gateway.runtime.presence.process_id``)."""
    return f"{socket.gethostname()}:{worker.pid}"


def release_leftovers(h: Harness) -> list[str]:
    """Once the scenario's worker processes are gone, do what a live worker would do with
    their locks (``gateway.runtime.recovery``), so the harness's own workers can settle: a
    process SIGKILLed on its way out leaves them for up to two minutes otherwise."""
    client = redis.Redis.from_url(h.redis_url, socket_timeout=2)
    try:
        return release_orphaned_locks(client, set(read_presence(client)))
    finally:
        client.close()


def announced_jobs(h: Harness) -> dict[str, set[str]]:
    """Every live worker process and the job ids it says it runs."""
    client = redis.Redis.from_url(h.redis_url, socket_timeout=2)
    try:
        return read_presence(client)
    except redis.RedisError:
        return {}
    finally:
        client.close()


def unfinished(h: Harness, job_ids: set[str]) -> set[str]:
    """The jobs among ``job_ids`` ARQ still holds (queued, running or orphaned)."""
    if not job_ids:
        return set()
    client = redis.Redis.from_url(h.redis_url, socket_timeout=2)
    try:
        return {job for job in job_ids if client.exists(job_key_prefix + job)}
    finally:
        client.close()


def in_progress(h: Harness, job_ids: set[str]) -> bool:
    """Whether any of ``job_ids`` is marked in progress by ARQ (started, not finished)."""
    client = redis.Redis.from_url(h.redis_url, socket_timeout=2)
    try:
        return any(client.exists(in_progress_key_prefix + job) for job in job_ids)
    finally:
        client.close()


async def wait_for_running(
    h: Harness, matches: Callable[[str], bool], timeout: float
) -> tuple[str, set[str]] | None:
    """The first worker seen running a job ``matches`` accepts, with the jobs it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for owner, jobs in announced_jobs(h).items():
            if any(matches(job) for job in jobs):
                return owner, jobs
        await asyncio.sleep(0.02)
    return None


def ticked_since(h: Harness, moment: datetime) -> bool:
    """Whether a tick of the domain started after ``moment`` (gateway time)."""
    last = h.domain().last_poll_at
    if last is None:
        return False
    if last.tzinfo is None:
        last = last.replace(tzinfo=moment.tzinfo)
    return last > moment


async def seconds_until(predicate: Callable[[], bool], bound: float) -> float | None:
    """How long until ``predicate`` holds, or None if it does not within ``bound``."""
    started = time.monotonic()
    while time.monotonic() - started <= bound:
        if predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


def synced_open(h: Harness) -> list[int]:
    """Tasks with an issue that are still open in PeopleForce."""
    return sorted(
        task_id
        for task_id, state in h.states().items()
        if state.status == SyncStatus.SYNCED and not h.pf.tasks[task_id]["completed"]
    )


def all_synced(h: Harness) -> bool:
    synced = sum(1 for s in h.states().values() if s.status == SyncStatus.SYNCED)
    return synced >= len(h.pf.tasks)


async def wait_all_synced(h: Harness) -> None:
    """Until every task has its issue (a note when that takes longer than SETTLE_SECONDS)."""
    if await seconds_until(lambda: all_synced(h), SETTLE_SECONDS) is None:
        h.note(f"tasks not all synced within {SETTLE_SECONDS:.0f} s")


async def check_accepted_deliveries(h: Harness, ctx: RunContext, closed: dict[str, int]) -> None:
    """Every delivery the API answered 2xx completes its task, without a sweep."""
    lost = lost_issue_ids(h, closed)
    accepted = [task for issue, task in closed.items() if issue not in lost]
    h.note(f"{len(accepted)} deliveries accepted, {len(lost)} given up by Jira during outages")

    def completed() -> bool:
        return all(h.pf.tasks[task]["completed"] for task in accepted)

    await seconds_until(completed, SETTLE_SECONDS)
    open_tasks = [task for task in accepted if not h.pf.tasks[task]["completed"]]
    ctx.check(
        "every accepted delivery completed its task",
        not open_tasks,
        f"accepted but still open: {open_tasks[:10]}",
    )


async def sweep_and_wait(h: Harness) -> None:
    """Queue a sweep for the workers (the first command after a restart may meet a
    connection Redis closed) and wait for it to end."""
    job_id = sweep_job_id(h.domain_id)
    for _ in range(3):
        try:
            await h.pool.enqueue_job(SWEEP_JOB, h.domain_id, _job_id=job_id)
            break
        except RedisConnectionError:
            await asyncio.sleep(0.2)
    deadline = time.monotonic() + SETTLE_SECONDS
    while unfinished(h, {job_id}) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def checked_synced_and_agreeing(h: Harness, ctx: RunContext, agree: str) -> None:
    """The two checks every operations scenario ends with: all synced, all pairs agree."""
    synced = sum(1 for s in h.states().values() if s.status == SyncStatus.SYNCED)
    ctx.check("every task synced", synced == len(h.pf.tasks), f"{synced} of {len(h.pf.tasks)}")
    wrong = disagreeing_tasks(h)
    ctx.check(agree, not wrong, f"{wrong[:10]}")
