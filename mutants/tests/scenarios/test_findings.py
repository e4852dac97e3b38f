"""Gateway defects found by the scenarios and the state machine, kept as regression tests.

Each began as an ``xfail(strict=True)`` test that documented the defect; the
marker went away with the fix.
"""

from __future__ import annotations

from gateway.models import SyncStatus
from scenarios.checks import disagreeing_tasks
from scenarios.harness import Harness, HarnessConfig


async def test_task_completed_while_its_create_is_unconfirmed_closes_the_orphan() -> None:
    async with Harness(HarnessConfig(seed=1)) as h:
        task = h.create_task("Welcome lunch")
        h.jira_faults.set_error_rate(1.0, status=502, after=True)
        await h.tick()  # Jira creates the issue; the answer is lost
        h.jira_faults.set_error_rate(0.0)
        assert h.states()[task["id"]].status == SyncStatus.PENDING_CREATE
        h.complete_task(task["id"])  # HR finishes the task before the next tick

        await h.settle()
        await h.sweep()
        await h.settle()

        [issue] = h.issues()
        assert issue["status_category"] == "done", "the orphan issue is still open"
        assert disagreeing_tasks(h) == []


async def test_a_failed_orphan_search_defers_instead_of_creating_again() -> None:
    async with Harness(HarnessConfig(seed=2)) as h:
        task = h.create_task("Welcome lunch")
        h.jira_faults.set_error_rate(1.0, status=502, after=True)
        await h.tick()  # the issue exists in Jira, the gateway does not know it
        assert h.states()[task["id"]].status == SyncStatus.PENDING_CREATE

        await h.tick()  # Jira still failing: the orphan search fails too
        h.jira_faults.set_error_rate(0.0)
        await h.settle()

        assert len(h.issues()) == 1
        assert h.states()[task["id"]].status == SyncStatus.SYNCED
