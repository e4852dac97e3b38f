"""Steps and measurements several scenarios share."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable

from gateway.models import SyncStatus
from scenarios.harness import Harness
from scenarios.result import RunContext

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
