"""The return vector's job: act on a Jira issue's CURRENT state (Jira -> PeopleForce).

Deliveries arrive late, twice and out of order, so the event's snapshot is only
a hint that something changed: the job re-reads the issue, finds its task
through SyncState (or the lineage property), and completes the PeopleForce task
if the issue is done and the task still open. Recording ``is_completed`` makes
the next forward tick see no change, so nothing echoes back to Jira.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from gateway.clients.errors import NotFoundError, PermanentUpstreamError
from gateway.clients.models import JiraIssue
from gateway.clients.peopleforce import PeopleForceClient
from gateway.clock import utcnow
from gateway.models import DomainConfig, EventType, ReopenPolicy, SyncState, SyncStatus
from gateway.sync.breaker import allows_writes
from gateway.sync.deps import SyncDeps
from gateway.sync.ledger import Ledger
from gateway.sync.lineage import lineage_matches
from gateway.sync.locks import task_lock

log = logging.getLogger("gateway.sync.inbound")

ISSUE_FIELDS = ["status", "labels", "project"]
COMPLETED_CONFIRM_MAX_PAGES = 2000
"""Pages of the completed list read to confirm an "already completed" refusal."""


class Source(StrEnum):
    WEBHOOK = "webhook"
    SWEEP = "sweep"
    RECONCILER = "reconciler"


# The audit event of a completion, by who noticed the issue was done without the task.
COMPLETION_EVENTS = {
    Source.WEBHOOK: EventType.COMPLETED_FROM_JIRA,
    Source.SWEEP: EventType.REPAIRED_BY_SWEEPER,
    Source.RECONCILER: EventType.REPAIRED_BY_RECONCILER,
}


class Outcome(StrEnum):
    COMPLETED = "completed"
    REOPENED = "reopened"
    ALREADY_AGREES = "already_agrees"
    NOT_TRACKED = "not_tracked"
    ISSUE_GONE = "issue_gone"
    TASK_GONE = "task_gone"
    DOMAIN_GONE = "domain_gone"
    DEAD_LETTERED = "dead_lettered"
    DOMAIN_PAUSED = "domain_paused"
    BREAKER_OPEN = "breaker_open"


def held_back(domain: DomainConfig | None) -> tuple[Outcome, str] | None:
    """Why a webhook job of ``domain`` must not act now (outcome, the log's reason), or None.

    Paused, nothing is written for the domain; with its breaker open a call would fail
    and dead-letter a delivery that is not lost. Either way the sweep, which waits too,
    covers the delivery's time afterwards.
    """
    if domain is None:
        return None
    if not domain.is_active:
        return Outcome.DOMAIN_PAUSED, "is paused; the sweep reconciles it after resume"
    if not allows_writes(domain):
        return (
            Outcome.BREAKER_OPEN,
            f"has its breaker open ({domain.breaker_reason}); the sweep reconciles it once "
            "the breaker closes",
        )
    return None


async def process_issue_event(
    deps: SyncDeps, domain_id: int, issue_id: str, *, source: Source = Source.WEBHOOK
) -> Outcome:
    """Make the PeopleForce task agree with the issue's current status."""
    ledger = Ledger(deps.engine, domain_id)
    domain = await ledger.domain()
    if domain is None:
        return Outcome.DOMAIN_GONE
    jira = deps.jira(domain)
    try:
        issue = await jira.get_issue(
            issue_id, fields=ISSUE_FIELDS, properties=[domain.property_key]
        )
    except NotFoundError:
        state = await ledger.state_by_issue(issue_id)
        await ledger.record(
            EventType.ISSUE_DELETED,
            f"{source} for an issue that no longer exists",
            state=state,
            issue_id=issue_id,
        )
        return Outcome.ISSUE_GONE
    state = await ledger.state_by_issue(issue.id) or await _adopt(ledger, domain, issue)
    if state is None:
        return Outcome.NOT_TRACKED
    return await apply_issue_state(deps, ledger, domain, issue, state.pf_task_id, source)


async def apply_issue_state(
    deps: SyncDeps,
    ledger: Ledger,
    domain: DomainConfig,
    issue: JiraIssue,
    pf_task_id: int,
    source: Source,
) -> Outcome:
    """Make the task agree with ``issue`` (freshly read), under the task's lock.

    The one completion and reopen path: webhook jobs, the sweep and the reconciler
    all end here, so the reopen policy and the audit are the same whoever noticed.
    """
    async with task_lock(deps.redis, ledger.domain_id, pf_task_id):
        # Re-read under the lock: a tick or another delivery may have acted meanwhile.
        current = await ledger.state(pf_task_id)
        if current is None or current.status != SyncStatus.SYNCED:
            return Outcome.NOT_TRACKED
        return await _reconcile(deps, ledger, domain, issue, current, source)


def status_name(issue: JiraIssue) -> str:
    status = issue.status
    return (status.name if status else None) or "done"


async def _adopt(ledger: Ledger, domain: DomainConfig, issue: JiraIssue) -> SyncState | None:
    """No row has this issue id: recover the lineage from the entity property."""
    value = issue.properties.get(domain.property_key)
    task_id = lineage_matches(value, domain)
    if task_id is None:
        return None
    state = await ledger.state(task_id) or SyncState(domain_id=domain.id or 0, pf_task_id=task_id)
    if state.jira_issue_id not in (None, issue.id):
        # The task maps to another issue (a duplicate made elsewhere): keep the mapping.
        return None
    state.jira_issue_id = issue.id
    state.jira_issue_key = issue.key
    if state.status in (SyncStatus.PENDING_CREATE, SyncStatus.DEAD):
        state.status = SyncStatus.SYNCED
    state = await ledger.save(state)
    await ledger.record(
        EventType.ADOPTED, "lineage recovered from the entity property", state=state
    )
    return state


async def _reconcile(
    deps: SyncDeps,
    ledger: Ledger,
    domain: DomainConfig,
    issue: JiraIssue,
    state: SyncState,
    source: Source,
) -> Outcome:
    pf = deps.peopleforce(domain)
    if issue.key and issue.key != state.jira_issue_key:
        state.jira_issue_key = issue.key  # moved to another project: keys change, ids do not
    if issue.is_done and not state.is_completed:
        return await _complete_task(pf, ledger, issue, state, source)
    if not issue.is_done and state.is_completed:
        outcome = await _reopened_in_jira(pf, ledger, domain, state)
        if outcome is not None:
            return outcome
    await ledger.save(state)
    return Outcome.ALREADY_AGREES


async def complete_in_peopleforce(pf: PeopleForceClient, task_id: int, max_pages: int) -> None:
    """Complete the task; a refusal because it is already completed counts as done.

    PeopleForce does not document a second ``complete`` (a retry after a lost answer,
    or someone completing it meanwhile): it may answer 200 or a 4xx. A 4xx is taken
    as success only once the completed list shows the task; otherwise it stands.
    """
    try:
        await pf.complete_task(task_id)
    except PermanentUpstreamError as error:
        if isinstance(error, NotFoundError) or error.status in (401, 403):
            raise
        found = await pf.find_completed([task_id], max_pages=max_pages)
        if task_id not in found:
            raise
        log.info("task %s was already completed (PeopleForce answered %s)", task_id, error.status)


async def _complete_task(
    pf: PeopleForceClient, ledger: Ledger, issue: JiraIssue, state: SyncState, source: Source
) -> Outcome:
    try:
        await complete_in_peopleforce(pf, state.pf_task_id, COMPLETED_CONFIRM_MAX_PAGES)
    except NotFoundError:
        state.status = SyncStatus.DELETED
        await ledger.save(state)
        await ledger.record(
            EventType.TASK_DELETED, "task no longer exists in PeopleForce", state=state
        )
        return Outcome.TASK_GONE
    state.is_completed = True
    state.completed_at = utcnow()
    await ledger.save(state)
    await ledger.record(
        COMPLETION_EVENTS[source], f"issue is {status_name(issue)}; task completed", state=state
    )
    return Outcome.COMPLETED


async def _reopened_in_jira(
    pf: PeopleForceClient, ledger: Ledger, domain: DomainConfig, state: SyncState
) -> Outcome | None:
    """The issue left done after the task was completed: the reopen policy decides.

    None when the policy leaves the task completed (the pair then already agrees).
    """
    if domain.reopen_policy != ReopenPolicy.INCOMPLETE:
        await ledger.record(
            EventType.REOPENED_FROM_JIRA,
            "issue reopened after the task was completed; policy leaves the task completed",
            state=state,
        )
        return None
    try:
        await pf.incomplete_task(state.pf_task_id)
    except NotFoundError:
        state.status = SyncStatus.DELETED
        await ledger.save(state)
        return Outcome.TASK_GONE
    state.is_completed = False
    state.completed_at = None
    await ledger.save(state)
    await ledger.record(
        EventType.REOPENED_FROM_JIRA, "issue reopened; task marked incomplete", state=state
    )
    return Outcome.REOPENED


async def dead_letter_issue_event(
    deps: SyncDeps, domain_id: int, issue_id: str, error: Exception, *, attempts: int
) -> Outcome:
    """A delivery that cannot succeed (retries spent, or a permanent upstream error)."""
    ledger = Ledger(deps.engine, domain_id)
    state = await ledger.state_by_issue(issue_id)
    await ledger.dead_letter(
        operation="complete_from_jira",
        pf_task_id=state.pf_task_id if state else None,
        payload={"issue_id": issue_id, "attempts": attempts},
        error_status=getattr(error, "status", None),
        error_message=str(error),
        issue_id=issue_id,
    )
    await ledger.record(EventType.DEAD_LETTERED, str(error), state=state, issue_id=issue_id)
    return Outcome.DEAD_LETTERED
