"""worker-killed-anywhere: a worker SIGKILLed at any instant wedges nothing and loses nothing.

Guarantee (operations cannot wedge it; exactly one issue; nothing accepted is lost):
a worker killed in the middle of a tick, a webhook job or a sweep leaves ARQ's
in-progress marker (610 s) and its Redis locks behind. The surviving worker sees
the dead one's presence expire and hands its jobs and locks back, so the domain
ticks again within the bound (the compressed "max(poll interval, 60 s)"), the
killed webhook jobs and sweeps run again, and the tick lock still keeps two ticks
of the domain from ever running at once.

Faults: two real ``gateway worker`` processes with a 3 s presence TTL; every Jira
answer is delayed 50 ms (400 ms while webhook jobs are the target) so jobs take a
while. Twenty times (for 300 tasks), one
after another: HR creates a batch of tasks (a tick), people close issues in Jira
(webhook jobs), or issues are closed with their webhooks lost and a sweep is asked
for; the worker running that job is SIGKILLed at a random moment of it and a
replacement worker starts at once.

Checks: every kill landed in a running job; after every kill the domain ticked
again within the bound; the killed webhook jobs and sweeps finished within the
bound; no task had two writes in flight at once; every task synced and, after the
last kill, agrees with its issue; one issue per task; zero writes at rest. With
``recovery`` off (the ``recovery`` knob) the domain waits out ARQ's 610 s: FAIL.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from gateway.api.webhooks import JOB_ID_PREFIX
from gateway.demo.processes import ChildProcess
from gateway.jobs import SWEEP_JOB, sweep_job_id
from gateway.models import SyncStatus
from scenarios.checks import concurrent_writes, disagreeing_tasks
from scenarios.harness import Harness
from scenarios.operations import (
    RECOVERY_BOUND_SECONDS,
    all_synced,
    announced_jobs,
    checked_synced_and_agreeing,
    compressed_environment,
    in_progress,
    owner_of,
    release_leftovers,
    seconds_until,
    start_ops_worker,
    ticked_since,
    unfinished,
    wait_for_running,
    wait_ready,
)
from scenarios.result import RunContext

NAME = "worker-killed-anywhere"
DEFAULT_TASKS = 300
MAX_KILLS = 20
WORKERS = 2
JIRA_LATENCY_SECONDS = 0.05
WEBHOOK_JIRA_LATENCY_SECONDS = 0.4
KINDS = ("tick", "webhook", "sweep")
PREFIXES = {"tick": "tick:", "webhook": JOB_ID_PREFIX, "sweep": "sweep:"}
FIND_JOB_SECONDS = 20.0
KILL_DELAY_SECONDS = 0.3
KILL_ATTEMPTS = 5
SETTLE_SECONDS = 120.0


def kill_count(tasks: int) -> int:
    """Twenty kills for the default 300 tasks, fewer (at least three) for small runs."""
    return min(MAX_KILLS, max(len(KINDS), tasks // 15))


@dataclass
class Story:
    """The scenario's running account: what was killed and how long recovery took."""

    h: Harness
    ctx: RunContext
    batches: list[int]
    """How many tasks HR creates before each tick kill."""
    workers: list[ChildProcess] = field(default_factory=list)
    landed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    tick_recovery: list[float | None] = field(default_factory=list)
    job_recovery: list[float | None] = field(default_factory=list)
    uncompleted: list[int] = field(default_factory=list)
    """Tasks whose issue was closed with its webhook delivered, still open after the round."""
    deliveries: list[asyncio.Task[int]] = field(default_factory=list)
    started: int = 0

    def spawn(self) -> ChildProcess:
        self.started += 1
        extra = compressed_environment(recovery=self.ctx.knobs.recovery)
        return start_ops_worker(self.h, f"worker-{self.started}", extra)

    def synced_open(self) -> list[int]:
        """Tasks with an issue that are still open on both sides."""
        states = self.h.states()
        return sorted(
            task_id
            for task_id, state in states.items()
            if state.status == SyncStatus.SYNCED
            and not state.is_completed
            and not self.h.pf.tasks[task_id]["completed"]
        )


async def run(h: Harness, ctx: RunContext) -> None:
    kills = kill_count(ctx.tasks)
    ticks = sum(1 for n in range(kills) if KINDS[n % len(KINDS)] == "tick")
    size, extra = divmod(ctx.tasks, ticks)
    story = Story(h, ctx, [size + (1 if n < extra else 0) for n in range(ticks)])
    h.jira_faults.set_latency(JIRA_LATENCY_SECONDS)
    h.fault(f"every Jira answer delayed {JIRA_LATENCY_SECONDS * 1000:.0f} ms")
    h.fault(f"{kills} SIGKILLs of {WORKERS} live worker processes")
    story.workers = [story.spawn() for _ in range(WORKERS)]
    try:
        await wait_ready(h, story.workers)
        for n in range(kills):
            kind = KINDS[n % len(KINDS)]
            h.phase(f"kill {n + 1} of {kills}, during a {kind}")
            recovered = await _kill_during(story, kind)
            if not recovered and not ctx.knobs.recovery:
                h.note("recovery is off: the story stops at the first wedged domain")
                break
        else:
            h.phase("the workers finish the story")
            await _finish(story)
    finally:
        await h.stop_workers()
        release_leftovers(h)
    h.jira_faults.set_latency(0)
    _verdict(story, kills)


async def _kill_during(story: Story, kind: str) -> bool:
    """Start work of ``kind``, SIGKILL the worker running it, replace it, time recovery."""
    h = story.h
    # Another worker is always alive: the replacement of the last victim is ready first.
    await wait_ready(h, story.workers)
    if kind != "tick":
        await seconds_until(lambda: all_synced(h), SETTLE_SECONDS)
    closed: list[int] = []
    if kind == "tick":
        h.create_tasks(story.batches.pop(0))
    elif kind == "webhook":
        closed = await _close_issues(story, lose_webhooks=False)
    else:
        await _close_issues(story, lose_webhooks=True)
        await h.pool.enqueue_job(SWEEP_JOB, h.domain_id, _job_id=sweep_job_id(h.domain_id))
    found = await _random_point_of(h, PREFIXES[kind])
    if found is None:
        h.note(f"no {kind} job seen running; a worker is killed anyway")
    owner, jobs = found or (owner_of(story.workers[0]), set())
    victim = next((w for w in story.workers if owner_of(w) == owner), story.workers[0])
    killed_at = h.now()
    victim.kill()
    h.jira_faults.set_latency(JIRA_LATENCY_SECONDS)
    if in_progress(h, {job for job in jobs if job.startswith(PREFIXES[kind])}):
        story.landed[kind] += 1  # ARQ had not finished it: the kill cut it short
    story.workers.remove(victim)
    story.workers.append(story.spawn())
    tick = seconds_until(lambda: ticked_since(h, killed_at), RECOVERY_BOUND_SECONDS)
    killed_jobs = {job for job in jobs if not job.startswith(PREFIXES["tick"])}
    job = seconds_until(lambda: not unfinished(h, killed_jobs), RECOVERY_BOUND_SECONDS)
    tick_seconds, job_seconds = await asyncio.gather(tick, job)
    story.tick_recovery.append(tick_seconds)
    if killed_jobs:
        story.job_recovery.append(job_seconds)
    await asyncio.gather(*story.deliveries)
    story.deliveries.clear()
    if closed:
        # The webhook jobs alone (no sweep has run since) complete these tasks: how soon
        # is the job check above; here, that none is lost (a task lock may hold them).
        done = await seconds_until(lambda: _completed(h, closed), SETTLE_SECONDS)
        if done is None:
            story.uncompleted += [t for t in closed if not h.pf.tasks[t]["completed"]]
    return tick_seconds is not None


async def _random_point_of(h: Harness, prefix: str) -> tuple[str, set[str]] | None:
    """A worker running a job named ``prefix...``, a random moment into that job."""
    delay = KILL_DELAY_SECONDS
    for _ in range(KILL_ATTEMPTS):
        found = await wait_for_running(h, lambda job: job.startswith(prefix), FIND_JOB_SECONDS)
        if found is None:
            return None
        await asyncio.sleep(h.rng.uniform(0, delay))
        owner, _ = found
        jobs = announced_jobs(h).get(owner, set())
        if any(job.startswith(prefix) for job in jobs):
            return owner, jobs
        delay /= 2  # the job ended first: aim earlier into the next one
    return None


def _completed(h: Harness, task_ids: list[int]) -> bool:
    return all(h.pf.tasks[task_id]["completed"] for task_id in task_ids)


async def _close_issues(story: Story, *, lose_webhooks: bool) -> list[int]:
    """People close a few issues in Jira; their webhooks are delivered, or all lost."""
    h = story.h
    candidates = story.synced_open()
    chosen = candidates[: max(1, min(len(candidates) // 3, 12))]
    if lose_webhooks:
        h.webhooks.set_faults(drop_rate=1.0)
    else:
        # Webhook jobs are short and run side by side: slower answers keep them running
        # long enough for a kill to land inside one.
        h.jira_faults.set_latency(WEBHOOK_JIRA_LATENCY_SECONDS)
    for task_id in chosen:
        h.close_issue(task_id)
    if lose_webhooks:
        await h.deliver()
        h.webhooks.clear_faults()
    else:
        # Delivered while the scenario looks for the job to kill.
        story.deliveries.append(asyncio.get_running_loop().create_task(h.deliver()))
    return chosen


async def _finish(story: Story) -> None:
    """Let the surviving workers sync what is left and repair the lost webhooks."""
    h = story.h
    h.jira_faults.set_latency(0)
    await h.deliver()
    sweep = sweep_job_id(h.domain_id)
    await h.pool.enqueue_job(SWEEP_JOB, h.domain_id, _job_id=sweep)
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        await h.deliver()
        if all_synced(h) and not disagreeing_tasks(h) and not unfinished(h, {sweep}):
            return
        await asyncio.sleep(0.25)
    h.note(f"the workers did not finish within {SETTLE_SECONDS:.0f} s")


def _verdict(story: Story, kills: int) -> None:
    h, ctx = story.h, story.ctx
    slow_ticks = [n + 1 for n, s in enumerate(story.tick_recovery) if s is None]
    slow_jobs = [n + 1 for n, s in enumerate(story.job_recovery) if s is None]
    timed = [s for s in story.tick_recovery if s is not None]
    jobs_timed = [s for s in story.job_recovery if s is not None]
    if timed:
        h.note(f"the domain ticked again {min(timed):.1f}-{max(timed):.1f} s after a kill")
    if jobs_timed:
        h.note(f"killed webhook jobs and sweeps ended {max(jobs_timed):.1f} s after at most")
    h.note(f"kills landed in: {story.landed}")
    ctx.check(
        "every kill landed in a running job",
        sum(story.landed.values()) == kills,
        f"{sum(story.landed.values())} of {kills}: {story.landed}",
    )
    ctx.check(
        "domain ticked within the bound after every kill",
        len(story.tick_recovery) == kills and not slow_ticks,
        f"no tick within {RECOVERY_BOUND_SECONDS:g} s after kills {slow_ticks}"
        if slow_ticks
        else f"{len(story.tick_recovery)} of {kills} kills ran",
    )
    ctx.check(
        "killed webhook jobs and sweeps ran again within the bound",
        not slow_jobs,
        f"still unfinished {RECOVERY_BOUND_SECONDS:g} s after kills {slow_jobs}",
    )
    ctx.check(
        "webhook jobs of killed workers completed their tasks",
        not story.uncompleted,
        f"tasks still open after their issue closed: {story.uncompleted[:10]}",
    )
    overlaps = concurrent_writes(h.jira_probe.requests + h.pf_probe.requests)
    ctx.check("no task processed twice concurrently", not overlaps, f"{overlaps[:5]}")
    checked_synced_and_agreeing(h, ctx, "every pair agrees after the kills")
