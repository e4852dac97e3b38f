"""Creating and updating the Jira issue of one open task.

A new task is routed, then created with the tracking label and the lineage property
in the same request, after its intent is recorded (so a lost answer is found again
by orphan recovery, never created twice). A changed task sends only the fields that
differ from what Jira was last given. What Jira refuses for good is dead-lettered.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from gateway.clients.errors import NotFoundError, PermanentUpstreamError, TransientUpstreamError
from gateway.clients.models import PFTask
from gateway.clock import as_utc, utcnow
from gateway.models import EventType, SyncEvent, SyncState, SyncStatus
from gateway.sync.assignees import fields_with_assignee
from gateway.sync.breaker import refused_credentials
from gateway.sync.ledger import settled
from gateway.sync.lineage import lineage
from gateway.sync.mappings import diff_fields
from gateway.sync.routing import RouteAction, RouteDecision
from gateway.sync.routing import route as route_task

if TYPE_CHECKING:
    from gateway.sync.tick_context import TickContext


def parse_pf_time(value: str | None) -> datetime | None:
    """A PeopleForce timestamp as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


async def route_and_create(
    tick: TickContext, task: PFTask, digest: str, state: SyncState | None
) -> None:
    """Route the task with the current rules, then drop it, dead-letter it or create it."""
    decision = route_task(task.raw, tick.rules, tick.defaults)
    state = state or SyncState(
        domain_id=tick.domain_id,
        pf_task_id=task.id,
        pf_created_at=parse_pf_time(task.created_at),
    )
    if decision.action == RouteAction.DROP:
        state.status = SyncStatus.DROPPED
        state.rule_id = decision.rule_id
        state.last_sync_hash = digest
        await tick.ledger.save(state)
        await tick.ledger.record(EventType.DROPPED_BY_RULE, decision.reason, state=state)
        tick.report.dropped += 1
        return
    if decision.action == RouteAction.UNROUTABLE:
        await tick.dead_letter(task, digest, state, operation="route", message=decision.reason)
        return
    await create_issue(tick, task, digest, state, decision)


async def create_issue(
    tick: TickContext, task: PFTask, digest: str, state: SyncState, decision: RouteDecision
) -> None:
    """Create the task's issue; intent is recorded first, the outcome after."""
    fields = await fields_with_assignee(tick, decision, task)
    # Intent first: if we die after Jira created the issue, the next tick sees
    # pending_create and looks for the orphan instead of creating a second issue.
    state.status = SyncStatus.PENDING_CREATE
    state.intent_at = utcnow()
    state.rule_id = decision.rule_id
    state = await tick.ledger.save(state)
    properties = [{"key": tick.domain.property_key, "value": lineage(tick.domain, task.id)}]
    try:
        created = await tick.jira.create_issue(fields, properties)
    except TransientUpstreamError as error:
        tick.report.failed += 1
        await tick.ledger.record(
            EventType.FAILED,
            f"create outcome unknown ({error}); an orphan search runs before any retry",
            state=state,
        )
        return
    except PermanentUpstreamError as error:
        if refused_credentials(error):
            raise  # the breaker's business; the create is tried again once it closes
        if error.status == 400:
            tick.creates_refused += 1
        await tick.dead_letter(
            task,
            digest,
            state,
            operation="create",
            message=str(error),
            error_status=error.status,
            fields=fields,
        )
        return
    await tick.mark_synced(
        state,
        created,
        digest=digest,
        fields=fields,
        event_type=EventType.CREATED,
        reason=decision.reason,
        details={"project": decision.project_key, "issue_type": decision.issue_type},
    )
    await tick.count_create(task.id)


async def update_issue(tick: TickContext, task: PFTask, digest: str, state: SyncState) -> None:
    """Send Jira the mapped fields that changed since it was last written; none if none did."""
    decision = route_task(task.raw, tick.rules, tick.defaults)
    if decision.action != RouteAction.SYNC or state.jira_issue_id is None:
        state.last_sync_hash = digest
        settled(state)
        await tick.ledger.save(state)
        return
    fields = await fields_with_assignee(tick, decision, task)
    changed = diff_fields(state.last_synced_fields, fields)
    events: list[SyncEvent] = []
    if changed:
        try:
            edited = await tick.jira.edit_and_read(state.jira_issue_id, changed)
        except NotFoundError:
            await tick.forget_deleted_issue(state)
            return
        events.extend(follow_key(tick, state, edited.key))
        reason = f"changed: {', '.join(sorted(changed))}"
        events.append(tick.ledger.event(EventType.UPDATED, reason, state=state))
        tick.report.updated += 1
    state.last_sync_hash = digest
    state.last_synced_fields = fields
    parked = state.parked_operation
    settled(state)
    await tick.ledger.save(state, *events)
    if parked:
        await tick.resolve_parked(state, parked)


def follow_key(tick: TickContext, state: SyncState, key: str) -> list[SyncEvent]:
    """The edit answered the issue's current key: a new one means a person moved it to
    another project. The row follows (the write went by id either way), so the update
    is logged under the key the issue has now; the move is audited as the reconciler
    audits it, which then finds nothing left to record."""
    if not key or key == state.jira_issue_key:
        return []
    old, state.jira_issue_key = state.jira_issue_key, key
    return [tick.ledger.event(EventType.ISSUE_MOVED, f"moved in Jira: {old} -> {key}", state=state)]
