"""Steps and measurements several scenarios share."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from fakes.faults import FaultPlane
from gateway.clients.retry import RetryPolicy
from gateway.models import SyncStatus
from scenarios.harness import Harness, HarnessConfig
from scenarios.result import Knobs, RunContext

_COMPLETE_PATH = re.compile(r"^/tasks/(\d+)/complete$")


async def sync_tasks(h: Harness, count: int, ctx: RunContext | None = None) -> list[int]:
    """HR creates ``count`` tasks and the gateway syncs them; returns their ids."""
    h.phase(f"syncing {count} new tasks")
    ids = [task["id"] for task in h.create_tasks(count)]
    await h.settle()
    if ctx is not None:
        synced = sum(1 for s in h.states().values() if s.status == SyncStatus.SYNCED)
        ctx.check("baseline synced", synced >= count, f"{synced} of {count} tasks synced")
    return ids


async def synced_halves(h: Harness, ctx: RunContext) -> tuple[list[int], list[int]]:
    """The run's tasks, created and synced, in two halves (the first one no larger)."""
    ids = await sync_tasks(h, ctx.tasks, ctx)
    first, second = split(ids, len(ids) // 2)
    return first, second


def quick_retries(seed: int, *, attempts: int, max_delay: float) -> HarnessConfig:
    """A run whose upstream calls give up after ``attempts`` short, jittered back-offs."""
    policy = RetryPolicy(
        max_attempts=attempts, base_delay=0.01, max_delay=max_delay, rng=random.Random(seed)
    )
    return HarnessConfig(seed=seed, retry_policy=policy)


def partition_config(seed: int, knobs: Knobs) -> HarnessConfig:
    """For partitions: a refused connection is retried a few times per call, then it gives up."""
    return quick_retries(seed, attempts=3, max_delay=0.05)


def finish_work(
    h: Harness,
    *,
    in_pf: Iterable[int] = (),
    in_jira: Iterable[int] = (),
    on_both_sides: Iterable[int] = (),
) -> None:
    """HR completes the ``in_pf`` tasks, people close the ``in_jira`` tasks' issues, and
    for ``on_both_sides`` both happen at once (the issue is closed, then the task completed)."""
    for task_id in on_both_sides:
        h.close_issue(task_id)
        h.complete_task(task_id)
    for task_id in in_pf:
        h.complete_task(task_id)
    for task_id in in_jira:
        h.close_issue(task_id)


async def through_partition(
    h: Harness, plane: FaultPlane, ticks: int, new_tasks: int, act: Callable[[], None]
) -> tuple[list[int], int]:
    """HR creates ``new_tasks`` tasks and ``act`` lets people change others while the upstream
    of ``plane`` refuses the gateway's connections for ``ticks`` rounds (back-offs run their
    course). Returns the new tasks' ids and how many issues appeared meanwhile."""
    issues_before = len(h.issues())
    plane.partition("refuse")
    new = [task["id"] for task in h.create_tasks(new_tasks)]
    act()
    for _ in range(ticks):
        await h.round(release_deferred=False)
    return new, len(h.issues()) - issues_before


def retitle(h: Harness, task_ids: Iterable[int], note: str) -> None:
    """HR appends ``note`` to each task's title: an edit the gateway must carry to Jira."""
    for task_id in task_ids:
        h.edit_task(task_id, title=f"{h.pf.get_task(task_id)['title']} {note}")


def stale_titles(h: Harness, task_ids: Iterable[int]) -> list[int]:
    """Tasks none of whose issues carries the task's current title."""
    issues = h.issues_by_task()
    return [
        t
        for t in task_ids
        if not any(i["summary"] == h.pf.get_task(t)["title"] for i in issues.get(t, []))
    ]


def not_synced_once(h: Harness, task_ids: Iterable[int]) -> list[int]:
    """Tasks that have no issue, or several."""
    issues = h.issues_by_task()
    return [t for t in task_ids if len(issues.get(t, [])) != 1]


def lost_issue_ids(h: Harness, issue_ids: Iterable[str]) -> set[str]:
    """Issues none of whose deliveries reached the gateway with a 2xx answer."""
    reached = {r.issue_id for r in h.webhooks.log if r.status is not None and 200 <= r.status < 300}
    return {issue_id for issue_id in issue_ids if issue_id not in reached}


def completion_writes(h: Harness) -> Counter[int]:
    """How often the gateway completed each PeopleForce task (answers that took effect)."""
    counts: Counter[int] = Counter()
    for r in h.requests("peopleforce"):
        match = _COMPLETE_PATH.match(r.path)
        if r.method == "PUT" and match and 200 <= r.status < 300:
            counts[int(match.group(1))] += 1
    return counts


def split(ids: list[int], *sizes: int) -> list[list[int]]:
    """Consecutive groups of the given sizes, then the rest."""
    groups, start = [], 0
    for size in sizes:
        groups.append(ids[start : start + size])
        start += size
    groups.append(ids[start:])
    return groups


async def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())


def chunks(items: list[int], parts: int) -> Iterator[list[int]]:
    """Split ``items`` into ``parts`` nearly equal consecutive groups."""
    size, extra = divmod(len(items), parts)
    start = 0
    for n in range(parts):
        end = start + size + (1 if n < extra else 0)
        yield items[start:end]
        start = end
