"""crash-mid-create: a worker killed between Jira's create and its record leaves one issue.

Guarantee (exactly one issue per task): Jira has no idempotency key, so the
gateway records its intent before each create and, on recovery, finds the
issue a lost create made through the tracking label and the lineage property
instead of creating a second one.

Faults (``crash=sigkill``, the default): a real ``gateway worker`` process
ticks while every Jira answer is held back two seconds; once creates are in
flight the worker is SIGKILLed. Jira still creates those issues, the gateway
never hears of them. Fifteen simulated minutes pass (locks and ARQ's
in-progress markers of the dead worker expire) and a new worker process
starts. With ``crash=lost-response`` the same gap is made in-process: Jira
creates the issues and answers 502.

Checks: the crash left orphan issues; every orphan is adopted (one ``adopted``
audit event each); one issue per task, completion agrees, zero writes at rest.
Disabling the orphan search (negative test) must produce duplicates: FAIL.
"""

from __future__ import annotations

import asyncio

from gateway.models import SyncStatus
from scenarios.harness import Harness
from scenarios.processes import WorkerProcess
from scenarios.result import RunContext
from scenarios.steps import wait_until

NAME = "crash-mid-create"
DEFAULT_TASKS = 12
HELD_SECONDS = 2.0
DOWNTIME_SECONDS = 15 * 60


async def run(h: Harness, ctx: RunContext) -> None:
    ids = [task["id"] for task in h.create_tasks(ctx.tasks)]
    if ctx.knobs.crash == "sigkill":
        await _sigkill(h)
    else:
        await _lost_response(h)
    orphans = {t for t, issues in h.issues_by_task().items() if issues} - _synced(h)
    h.note(f"{len(orphans)} orphan issues left by the crash")
    ctx.check("the crash left orphan issues", bool(orphans), "no create was cut off")
    if ctx.knobs.crash == "sigkill":
        await _restart(h, len(ids))
    h.phase("settling")
    await h.settle()
    adopted = {e.pf_task_id for e in h.events("adopted")}
    ctx.check(
        "every orphan adopted",
        orphans <= adopted,
        f"adopted {len(orphans & adopted)} of {len(orphans)} orphans",
    )


def _synced(h: Harness) -> set[int]:
    return {t for t, s in h.states().items() if s.status == SyncStatus.SYNCED}


def _pending(h: Harness) -> int:
    return sum(1 for s in h.states().values() if s.status == SyncStatus.PENDING_CREATE)


async def _sigkill(h: Harness) -> None:
    h.phase("a worker process creates issues; it is killed mid-create")
    h.jira_faults.set_latency(HELD_SECONDS)
    h.fault(f"every Jira answer held {HELD_SECONDS:g} s")
    worker = WorkerProcess(h, "worker-1").start()
    try:
        await asyncio.to_thread(worker.wait_ready)
        if not await wait_until(lambda: _pending(h) > 0, timeout=30):
            raise TimeoutError(f"no create started: {worker.tail()}")
        await asyncio.sleep(HELD_SECONDS / 4)  # the creates have reached Jira
    finally:
        worker.kill()
        await h.after_processes_stopped()
    h.fault(f"worker SIGKILLed with {_pending(h)} creates in flight")
    # Jira finishes the creates whose answers nobody will read.
    await asyncio.sleep(HELD_SECONDS + 0.5)
    h.jira_faults.set_latency(0)


async def _lost_response(h: Harness) -> None:
    h.phase("Jira creates issues and the answers are lost")
    h.jira_faults.set_error_rate(1.0, status=502, after=True)
    h.fault("every Jira request processed, then answered 502, for one tick")
    await h.tick()
    h.jira_faults.clear()


async def _restart(h: Harness, total: int) -> None:
    h.phase("fifteen minutes later a new worker process starts")
    h.advance(DOWNTIME_SECONDS)
    expired = h.expire_redis_timers(DOWNTIME_SECONDS)
    h.note(f"{expired} Redis keys of the dead worker expired during the downtime")
    worker = WorkerProcess(h, "worker-2").start()
    try:
        await asyncio.to_thread(worker.wait_ready)
        done = await wait_until(lambda: len(_synced(h)) >= total, timeout=30, interval=0.2)
        if not done:
            h.note(f"the restarted worker synced {len(_synced(h))} of {total}: {worker.tail(5)}")
    finally:
        await asyncio.to_thread(worker.stop)
        await h.after_processes_stopped()
