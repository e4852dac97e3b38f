"""Tasks that left PeopleForce's open list, and tasks that came back to it.

A task missing from the open list was completed or deleted. Which one is confirmed
against the completed list before anything is written: a completed task's issue
moves to a status in the ``done`` category, a deleted task follows the domain's
deletion policy, and a task found nowhere waits for the next tick. A task open
again after completion reopens its issue, so both sides agree.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from gateway.clients.errors import NotFoundError
from gateway.clients.jira import JiraClient
from gateway.clients.models import PFTask
from gateway.clients.peopleforce import COMPLETE_STOP_REASONS, PeopleForceClient
from gateway.clock import utcnow
from gateway.models import DeletionPolicy, EventType, SyncState, SyncStatus
from gateway.monitoring.tracing import traced
from gateway.sync.issue_writes import update_issue
from gateway.sync.ledger import PARKED_COMPLETE, settled
from gateway.sync.orphans import adopt_orphan
from gateway.sync.tick_context import TaskWork
from gateway.sync.write_log import NOTHING_WRITTEN

if TYPE_CHECKING:
    from gateway.sync.tick_context import TickContext

DONE_CATEGORY = "done"
ALREADY_AGREED_REASON = (
    "issue already done in Jira and task completed in PeopleForce; both sides agreed, "
    "nothing written"
)


async def handle_gone(tick: TickContext, gone: list[SyncState]) -> None:
    """Close out the rows of tasks that are no longer on the open list."""
    synced = {s.pf_task_id: s for s in gone if s.status == SyncStatus.SYNCED}
    # A create of unknown outcome may have made an issue: find it before closing the row.
    await tick.orphans.search([s for s in gone if s.status == SyncStatus.PENDING_CREATE])
    for state in gone:
        if state.pf_task_id in synced:
            continue
        if state.status == SyncStatus.PENDING_CREATE:
            if not tick.orphans.covers(state.pf_task_id):
                continue  # too early to tell (or the search failed): next tick
            orphan = tick.orphans.orphan_of(state.pf_task_id)
            if orphan is not None:
                synced[state.pf_task_id] = await adopt_orphan(tick, state, orphan)
                continue
        # Never reached Jira: nothing to transition, just stop tracking it as open.
        state.is_completed = True
        state.completed_at = utcnow()
        await tick.ledger.save(state)
    if synced:
        await _close_issues(tick, synced)


async def _close_issues(tick: TickContext, synced: dict[int, SyncState]) -> None:
    max_pages = completed_scan_pages(tick)
    completed, exhaustive = await confirm_completed(tick.pf, set(synced), max_pages)
    deleted: set[int] = set()
    if exhaustive:
        deleted = await confirm_deleted(tick.pf, set(synced) - completed, max_pages)
    for task_id, state in synced.items():
        if task_id not in completed and task_id not in deleted and not exhaustive:
            await hold_unconfirmed(tick, state, max_pages)
    closing = [
        (state, complete_issue if task_id in completed else task_deleted)
        for task_id, state in synced.items()
        if task_id in completed or task_id in deleted
    ]

    async def close_one(
        item: tuple[SyncState, Callable[[TickContext, SyncState], Awaitable[None]]],
    ) -> None:
        state, handler = item
        work = TaskWork(state.pf_task_id, PARKED_COMPLETE, payload={"pf_task_id": state.pf_task_id})
        await tick.guarded(work, handler, tick, state)

    await tick.bounded(closing, close_one)


def completed_scan_pages(tick: TickContext) -> int:
    """The hard cap of completed-list pages one confirmation may read (a setting)."""
    return tick.deps.settings.completed_scan_max_pages


async def confirm_deleted(pf: PeopleForceClient, suspects: set[int], max_pages: int) -> set[int]:
    """The suspects that are on no list: neither completed nor, read again, open.

    PeopleForce pages by page number, so a task completed between two page reads of
    the open list moves every later task back one place, and one open task is on no
    page of that listing. It is on neither list, yet it was not deleted: the open
    list is read once more (only when a deletion is suspected, which is rare) and a
    task found on it is left for the next tick. A second read cut short proves
    nothing, so nothing is concluded from it.
    """
    if not suspects:
        return set()
    still_open, exhaustive = await _find_listed(pf, suspects, max_pages, completed=False)
    return suspects - still_open if exhaustive else set()


async def confirm_completed(
    pf: PeopleForceClient, wanted: set[int], max_pages: int
) -> tuple[set[int], bool]:
    """Which wanted ids are on the completed list, and whether the whole list was read.

    The list is read until every wanted id was seen, or to its end: PeopleForce has
    no read by id and no documented order, so a task completed long after it was
    created may sit behind thousands of others. The cost is at most
    ``ceil(completed tasks / 50)`` requests, paid once: a task found is completed,
    one missing from a list read to its end was deleted, and either way it is not
    looked for again. Only a list cut short leaves tasks unconfirmed, and those
    back off (``hold_unconfirmed``) instead of costing a full read every tick.
    """
    return await _find_listed(pf, wanted, max_pages, completed=True)


async def _find_listed(
    pf: PeopleForceClient, wanted: set[int], max_pages: int, *, completed: bool
) -> tuple[set[int], bool]:
    """Which wanted ids one list holds, read until all are seen or to its end; and
    whether the list was read to its end."""
    found: set[int] = set()
    exhaustive = False
    async for page in pf.iter_task_pages(completed, max_pages=max_pages):
        found.update(task.id for task in page.tasks if task.id in wanted)
        if page.stop_reason is not None:
            exhaustive = page.stop_reason in COMPLETE_STOP_REASONS
        if found == wanted:
            break
    return found, exhaustive


async def hold_unconfirmed(tick: TickContext, state: SyncState, max_pages: int) -> None:
    """Neither found nor proven deleted: say so, and back the task off exponentially."""
    tick.report.failed += 1
    await tick.ledger.record(
        EventType.FAILED,
        "task left the open list but was not found in the first "
        f"{max_pages} pages of completed tasks; retried after a back-off",
        state=state,
    )
    settings = tick.deps.settings
    await tick.ledger.back_off(
        state.pf_task_id,
        base_seconds=settings.task_backoff_base_seconds,
        max_seconds=settings.task_backoff_max_seconds,
    )


@traced("tick.complete", attributes=lambda tick, state: {"gateway.pf_task_id": state.pf_task_id})
async def complete_issue(tick: TickContext, state: SyncState) -> None:
    """The task was completed in PeopleForce: move its issue to done (once)."""
    fresh = await tick.ledger.state(state.pf_task_id)
    if fresh is None or fresh.is_completed or fresh.jira_issue_id is None:
        return
    try:
        transition = await tick.jira.transition_to_done(fresh.jira_issue_id)
    except NotFoundError:
        fresh.is_completed = True
        fresh.completed_at = utcnow()
        await tick.ledger.save(fresh)
        await tick.ledger.record(
            EventType.ISSUE_DELETED,
            "task completed in PeopleForce; its Jira issue no longer exists",
            state=fresh,
        )
        return
    fresh.is_completed = True
    fresh.completed_at = utcnow()
    fresh.last_sync_hash = None
    settled(fresh)
    await tick.ledger.save(fresh)
    if transition is None:
        # Done on both sides before the tick wrote anything: the issue was closed in
        # Jira first (a webhook job that completed the task but could not record it, or
        # a person on both sides). Recording a transition would name the wrong origin.
        await tick.ledger.record(
            EventType.COMPLETED_FROM_JIRA,
            ALREADY_AGREED_REASON,
            state=fresh,
            details=dict(NOTHING_WRITTEN),
        )
        return
    reason = f"task completed in PeopleForce; issue moved via {transition.name!r}"
    tick.report.completed += 1
    await tick.ledger.record(EventType.TRANSITIONED, reason, state=fresh)


async def task_deleted(tick: TickContext, state: SyncState) -> None:
    """The task is gone from PeopleForce: apply the domain's deletion policy to its issue."""
    fresh = await tick.ledger.state(state.pf_task_id) or state
    policy = tick.domain.deletion_policy
    if policy == DeletionPolicy.CLOSE and fresh.jira_issue_id:
        with contextlib.suppress(NotFoundError):
            await tick.jira.transition_to_done(fresh.jira_issue_id)
    fresh.status = SyncStatus.DELETED
    settled(fresh)
    await tick.ledger.save(fresh)
    await tick.ledger.record(
        EventType.TASK_DELETED, f"task deleted in PeopleForce; policy {policy}", state=fresh
    )
    tick.report.deleted += 1


async def reopened_in_peopleforce(
    tick: TickContext, task: PFTask, digest: str, state: SyncState
) -> None:
    """Open again in PeopleForce: reopen a done issue so both sides agree."""
    if state.jira_issue_id and state.status == SyncStatus.SYNCED:
        try:
            issue = await tick.jira.get_issue(state.jira_issue_id, fields=["status"])
            if issue.is_done:
                await move_out_of_done(tick.jira, state.jira_issue_id)
        except NotFoundError:
            await tick.forget_deleted_issue(state)
            return
    state.is_completed = False
    state.completed_at = None
    await tick.ledger.save(state)
    await tick.ledger.record(
        EventType.REOPENED_IN_PEOPLEFORCE, "task reopened in PeopleForce", state=state
    )
    tick.report.reopened += 1
    refreshed = await tick.ledger.state(task.id)
    if refreshed is not None and refreshed.status == SyncStatus.SYNCED:
        await update_issue(tick, task, digest, refreshed)


async def move_out_of_done(jira: JiraClient, issue_id: str) -> None:
    """Take the first available transition to a status outside the done category."""
    transitions = [t for t in await jira.get_transitions(issue_id) if t.is_available]
    choices = [t for t in transitions if t.target_category and t.target_category != DONE_CATEGORY]
    if choices:
        await jira.transition_issue(issue_id, choices[0].id)
