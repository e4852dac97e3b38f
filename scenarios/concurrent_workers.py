"""concurrent-workers: three worker processes on one Redis and one database never collide.

Guarantees (exactly one issue, no concurrent processing): however jobs spread
over several workers - ticks, webhook jobs and a sweep - per-task work is
serialised by the Redis task lock and ticks by the per-domain job id and tick
lock, so no task is worked on by two workers at once and no issue is created
twice.

Faults: three real ``gateway worker`` processes (``workers=process``, the
default; ``inprocess`` runs three ARQ workers in this process instead) tick on
their own every second while people close issues in Jira, HR completes and
edits tasks, some tasks are completed on both sides at once, and every Jira
answer is delayed 20 ms. Collisions are not left to chance: every transition
request waits at the fake Jira (up to OVERLAP_WAIT_SECONDS) for a second one on
the same issue, and the two then go through together. With the locks in place
no second one comes while the first waits, so each is merely delayed; without
them two workers transitioning one issue are forced to overlap.

Checks: from the harness's request probe, no task ever had two writes in
flight at once; one issue per task; completion agrees; zero writes at rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from gateway.jobs import SWEEP_JOB
from gateway.models import SyncStatus
from scenarios.checks import concurrent_writes
from scenarios.harness import SCHEDULE_JOB, Harness
from scenarios.result import RunContext
from scenarios.steps import chunks, finish_work, retitle

NAME = "concurrent-workers"
DEFAULT_TASKS = 30
WORKERS = 3
QUIET_SECONDS = 3.0
TIMEOUT_SECONDS = 90.0
OVERLAP_WAIT_SECONDS = 2.0
TRANSITIONS = "/rest/api/3/issue/{issue_id_or_key}/transitions"


async def run(h: Harness, ctx: RunContext) -> None:
    h.jira_faults.set_latency(0.02)
    h.fault("every Jira answer delayed 20 ms")
    barrier = h.jira_faults.hold(
        "POST", TRANSITIONS, stage="before", parties=2, timeout=OVERLAP_WAIT_SECONDS
    )
    h.fault(f"each transition waits up to {OVERLAP_WAIT_SECONDS:g} s for a second one")
    ids = [task["id"] for task in h.create_tasks(ctx.tasks)]
    processes = ctx.knobs.workers == "process"
    h.fault(f"{WORKERS} {'worker processes' if processes else 'in-process workers'} at once")
    try:
        if processes:
            h.phase(f"starting {WORKERS} worker processes")
            await h.start_workers(*(f"worker-{n}" for n in range(1, WORKERS + 1)))
        pump = _pump_processes if processes else _pump_in_process
        h.phase("the workers sync the new tasks")
        await pump(h, lambda: _synced(h) >= len(ids))
        raced, closed, completed, edited = chunks(ids, 4)
        h.phase("people act on both sides while the workers run")
        finish_work(h, in_pf=completed, in_jira=closed, on_both_sides=raced)
        retitle(h, edited, "(moved)")
        await pump(h, None)
        await h.pool.enqueue_job(SWEEP_JOB, h.domain_id)
        await pump(h, None)
    finally:
        await h.stop_workers()
    h.jira_faults.set_latency(0)
    h.jira_faults.release_holds()
    paired = barrier.passed - barrier.timed_out
    h.note(f"transitions held {barrier.held}, met by a second one {paired}")
    overlaps = concurrent_writes(h.jira_probe.requests + h.pf_probe.requests)
    ctx.check("no task processed twice concurrently", not overlaps, f"{overlaps[:5]}")
    await h.settle()


def _synced(h: Harness) -> int:
    return sum(1 for s in h.states().values() if s.status == SyncStatus.SYNCED)


async def _pump_processes(h: Harness, done: Callable[[], bool] | None) -> None:
    """Deliver webhooks while the processes work, until ``done`` (or nothing changes)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    last, quiet_since = h.fingerprint(), time.monotonic()
    while time.monotonic() < deadline:
        await h.deliver()
        await asyncio.sleep(0.2)
        if done is not None and done():
            return
        now = h.fingerprint()
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif done is None and time.monotonic() - quiet_since >= QUIET_SECONDS:
            return
    h.note(f"workers did not settle within {TIMEOUT_SECONDS:.0f} s")


async def _pump_in_process(h: Harness, done: Callable[[], bool] | None) -> None:
    for _ in range(30):
        before = h.fingerprint()
        h.advance(h.config.round_seconds)
        await h.pool.enqueue_job(SCHEDULE_JOB)
        await h.deliver()
        await asyncio.gather(*(h.run_jobs() for _ in range(WORKERS)))
        if done is not None and done():
            return
        if done is None and h.fingerprint() == before:
            return
