"""Replaying a dead letter: its operation again, with the rules as they are now.

An admin fixes what made Jira refuse (a rule, a required field), then replays; the
letter is closed only when the operation now succeeds, so a replay that fails again
leaves it open and visible.
"""

from __future__ import annotations

from typing import Any

from gateway.admin.dead_letters import open_dead_letter
from gateway.admin.errors import Conflict, NotFound
from gateway.clients.errors import UpstreamError
from gateway.clients.models import PFTask
from gateway.db import in_session
from gateway.models import DomainConfig, EventType, SyncStatus
from gateway.sync.completion import complete_issue
from gateway.sync.deps import SyncDeps
from gateway.sync.hashing import state_hash
from gateway.sync.inbound import process_issue_event
from gateway.sync.issue_writes import route_and_create
from gateway.sync.ledger import PARKED_COMPLETE, PARKED_UPDATE, Ledger, settled
from gateway.sync.locks import task_lock
from gateway.sync.tick import sync_open_task
from gateway.sync.tick_context import TaskWork, TickContext


async def replay_create(deps: SyncDeps, domain: DomainConfig, task_raw: dict[str, Any]) -> bool:
    """Route and create one dead-lettered task again with the current rules; True if synced."""
    tick = TickContext(deps, domain)
    tick.rules = await tick.ledger.rules()
    task = PFTask.from_raw(task_raw)
    async with task_lock(deps.redis, tick.domain_id, task.id):
        state = await tick.ledger.state(task.id)
        if state is not None and state.status == SyncStatus.SYNCED:
            return True
        await route_and_create(tick, task, state_hash(task.raw), state)
    final = await tick.ledger.state(task.id)
    return final is not None and final.status in (SyncStatus.SYNCED, SyncStatus.DROPPED)


async def replay_update(deps: SyncDeps, domain: DomainConfig, task_raw: dict[str, Any]) -> bool:
    """Send a parked task's changed fields again; True once Jira took them."""
    tick = TickContext(deps, domain)
    tick.rules = await tick.ledger.rules()
    task = PFTask.from_raw(task_raw)
    async with task_lock(deps.redis, tick.domain_id, task.id):
        state = await tick.ledger.state(task.id)
        if state is None:
            return False
        state.last_sync_hash = None  # as if changed: the fields Jira refused are sent again
        settled(state)
        await tick.ledger.save(state)
        try:
            await sync_open_task(tick, task, state_hash(task.raw))
        except UpstreamError as error:
            await tick.park(TaskWork(task.id, PARKED_UPDATE, state_hash(task.raw), task_raw), error)
    final = await tick.ledger.state(task.id)
    return final is not None and final.parked_operation is None


async def replay_complete(deps: SyncDeps, domain: DomainConfig, pf_task_id: int) -> bool:
    """Move a parked completed task's issue to done again; True once it is."""
    tick = TickContext(deps, domain)
    async with task_lock(deps.redis, tick.domain_id, pf_task_id):
        state = await tick.ledger.state(pf_task_id)
        if state is None:
            return False
        settled(state)
        await tick.ledger.save(state)
        try:
            await complete_issue(tick, state)
        except UpstreamError as error:
            work = TaskWork(pf_task_id, PARKED_COMPLETE, payload={"pf_task_id": pf_task_id})
            await tick.park(work, error)
    final = await tick.ledger.state(pf_task_id)
    return final is not None and final.parked_operation is None


async def _replay_operation(
    deps: SyncDeps, domain: DomainConfig, operation: str, payload: dict[str, Any]
) -> bool | None:
    """Run the letter's operation again; None when it cannot be replayed."""
    if operation in ("create", "route") and isinstance(payload.get("task"), dict):
        return await replay_create(deps, domain, payload["task"])
    if operation == PARKED_UPDATE and isinstance(payload.get("task"), dict):
        return await replay_update(deps, domain, payload["task"])
    if operation == PARKED_COMPLETE and isinstance(payload.get("pf_task_id"), int):
        return await replay_complete(deps, domain, payload["pf_task_id"])
    if operation == "complete_from_jira" and payload.get("issue_id"):
        await process_issue_event(deps, domain.id or 0, str(payload["issue_id"]))
        return True
    return None


async def replay(deps: SyncDeps, dead_letter_id: int) -> str:
    """Replay one dead letter; the outcome in a few words for the CLI, UI and job result."""
    try:
        # The same refusal of a missing or closed letter as the CLI, API and UI give.
        letter = await in_session(
            deps.engine, lambda session: open_dead_letter(session, dead_letter_id)
        )
    except (NotFound, Conflict) as refused:
        return str(refused)
    ledger = Ledger(deps.engine, letter.domain_id)
    domain = await ledger.domain()
    if domain is None:
        return "domain gone"
    ok = await _replay_operation(deps, domain, letter.operation, letter.payload or {})
    if ok is None:
        return f"cannot replay operation {letter.operation!r}"
    if not ok:
        return "failed again"
    await ledger.close_dead_letter(dead_letter_id)
    await ledger.record(
        EventType.REPLAYED, f"dead letter {dead_letter_id} replayed", pf_task_id=letter.pf_task_id
    )
    return "replayed"
