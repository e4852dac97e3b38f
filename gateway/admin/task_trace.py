"""The task trace: everything the gateway knows about one PeopleForce task, in one place.

This is where an operator answers "why did this task (not) sync?": the routing
decision the rules make for the task now (the preview's code, so it is the tick's
``route``), the ledger row (mapping, hash, status, last sync), its dead letters, the
Jira issue with a link, and every audit event, oldest first, plus one sentence that
puts them together. Read-only: PeopleForce is only listed (it has no
``GET /tasks/{id}``), the mapped issue is read once from Jira
(``issue_now``: deleted, moved, label removed, done), nothing is written. The CLI
(``gateway task show``), the admin UI's task page and the JSON API all call
``trace_task``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.admin.issue_now import IssueNow, read_issue_now
from gateway.admin.preview import PreviewRow, domain_and_rules, preview_row
from gateway.admin.schemas import DeadLetterOut, EventOut
from gateway.admin.upstream import describe, http_client, peopleforce_client
from gateway.clients import PFTask, UpstreamError
from gateway.db import in_session
from gateway.models import DeadLetter, DomainConfig, SyncEvent, SyncState, SyncStatus
from gateway.settings import Settings
from gateway.sync.hashing import state_hash
from gateway.sync.routing import DomainDefaults, RuleSpec

# Pages of each PeopleForce list read to find the task (50 tasks a page): a trace is
# an operator's one-off, but a listing that grows forever (completed) must stay bounded.
TRACE_MAX_PAGES = 100


@dataclass(frozen=True)
class SyncStateView:
    """The ledger row of the task, as the trace shows it."""

    status: str
    jira_issue_id: str | None
    jira_issue_key: str | None
    issue_url: str | None
    last_sync_hash: str | None
    hash_now: str | None
    changed_since_sync: bool | None
    is_completed: bool
    rule_id: int | None
    last_synced_at: str
    created_at: str
    intent_at: str | None
    completed_at: str | None


@dataclass(frozen=True)
class TaskTrace:
    """One task across PeopleForce, the rules, the ledger, Jira and the audit log."""

    domain_id: int
    domain_name: str
    domain_active: bool
    task_id: int
    verdict: str
    peopleforce: str
    task: dict[str, Any] | None
    routing: PreviewRow | None
    state: SyncStateView | None
    jira: IssueNow | None = None
    dead_letters: list[DeadLetterOut] = field(default_factory=list)
    events: list[EventOut] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Plain JSON types, for ``--json`` and the API."""
        data = asdict(self)
        data["dead_letters"] = [d.model_dump(mode="json") for d in self.dead_letters]
        data["events"] = [e.model_dump(mode="json") for e in self.events]
        return data


@dataclass(frozen=True)
class _Ledger:
    domain: DomainConfig
    specs: list[RuleSpec]
    state: SyncState | None
    dead_letters: list[DeadLetter]
    events: list[SyncEvent]


def _read_ledger(session: Session, domain_id: int, task_id: int) -> _Ledger:
    domain, specs = domain_and_rules(session, domain_id)
    state = session.exec(
        select(SyncState).where(SyncState.domain_id == domain_id, SyncState.pf_task_id == task_id)
    ).first()
    letters = session.exec(
        select(DeadLetter)
        .where(DeadLetter.domain_id == domain_id, DeadLetter.pf_task_id == task_id)
        .order_by(col(DeadLetter.id))
    )
    events = session.exec(
        select(SyncEvent)
        .where(SyncEvent.domain_id == domain_id, SyncEvent.pf_task_id == task_id)
        .order_by(col(SyncEvent.id))
    )
    return _Ledger(domain, specs, state, list(letters), list(events))


async def _find_task(
    http: httpx.AsyncClient, domain: DomainConfig, task_id: int, completed_first: bool
) -> tuple[PFTask | None, str]:
    """The task as PeopleForce lists it now, and where it was found (or why not)."""
    order = (True, False) if completed_first else (False, True)
    client = peopleforce_client(http, domain)
    try:
        for completed in order:
            pages = client.iter_task_pages(completed, max_pages=TRACE_MAX_PAGES)
            try:
                async for page in pages:
                    for task in page.tasks:
                        if task.id == task_id:
                            return task, "completed" if completed else "open"
            finally:
                await pages.aclose()
    except UpstreamError as error:
        return None, f"PeopleForce could not be read: {describe(error, domain)}"
    return None, (
        f"not in PeopleForce's open or completed lists (first {TRACE_MAX_PAGES} pages "
        "of each): deleted, or never existed"
    )


def _issue_url(domain: DomainConfig, key: str | None) -> str | None:
    return f"{domain.jira_base_url.rstrip('/')}/browse/{key}" if key else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _state_view(domain: DomainConfig, state: SyncState, task: PFTask | None) -> SyncStateView:
    # Only an open task's hash is compared by the tick; a completed one is handled by id.
    hash_now = state_hash(task.raw) if task is not None and not task.completed else None
    changed = None if hash_now is None else hash_now != state.last_sync_hash
    return SyncStateView(
        status=str(state.status),
        jira_issue_id=state.jira_issue_id,
        jira_issue_key=state.jira_issue_key,
        issue_url=_issue_url(domain, state.jira_issue_key),
        last_sync_hash=state.last_sync_hash,
        hash_now=hash_now,
        changed_since_sync=changed,
        is_completed=state.is_completed,
        rule_id=state.rule_id,
        last_synced_at=state.updated_at.isoformat(),
        created_at=state.created_at.isoformat(),
        intent_at=_iso(state.intent_at),
        completed_at=_iso(state.completed_at),
    )


_STATUS_VERDICTS = {
    SyncStatus.DROPPED: "dropped by a rule when it was first seen; rules decide only at "
    "creation (a rule change lets the next tick route it again)",
    SyncStatus.HISTORICAL: "created before the domain's sync_since, so it is recorded and "
    "not created in Jira; `gateway backfill` releases it",
    SyncStatus.PENDING_CREATE: "a create was started and its outcome is not recorded yet; "
    "the next tick finds the issue by label and property, or creates it",
    SyncStatus.DELETED: "the task was deleted in PeopleForce; the domain's deletion policy "
    "applied to its issue",
}


def _verdict(
    ledger: _Ledger,
    task: PFTask | None,
    routing: PreviewRow | None,
    found: str,
    jira: IssueNow | None,
) -> str:
    """One sentence that answers "why did this task (not) sync?", then what Jira shows
    that the ledger does not (a person deleted, moved or relabelled the issue)."""
    said = _ledger_verdict(ledger, task, routing, found)
    if jira is None or (jira.found == "found" and not jira.drift):
        return said
    seen = jira.drift if jira.found == "found" else [jira.found]
    return f"{said} In Jira now: {'; '.join(seen)}."


def _ledger_verdict(
    ledger: _Ledger, task: PFTask | None, routing: PreviewRow | None, found: str
) -> str:
    paused = "" if ledger.domain.is_active else "The domain is paused: nothing syncs. "
    state, open_letters = ledger.state, [d for d in ledger.dead_letters if not d.discarded_at]
    if open_letters and not open_letters[-1].replayed_at:
        letter = open_letters[-1]
        return (
            f"{paused}Failed permanently: dead letter {letter.id} ({letter.operation}, "
            f"{letter.error_status or 'no status'}: {letter.error_message}); fix the cause "
            "and replay it."
        )
    if state is None:
        if task is None:
            return f"{paused}Never seen by a tick, and {found}."
        if routing is not None and routing.tracked:
            return f"{paused}Not synced yet: {routing.tracked}."
        if routing is not None and routing.action == "SYNC":
            return (
                f"{paused}Not synced yet: the next tick creates it in "
                f"{routing.project_key}/{routing.issue_type} ({routing.reason})."
            )
        reason = routing.reason if routing is not None else "no rule applies"
        return f"{paused}Will not sync: {reason}."
    if state.status == SyncStatus.SYNCED and state.jira_issue_key:
        synced = f"{paused}Synced as {state.jira_issue_key}"
        if state.is_completed:
            return f"{synced}; completed on both sides."
        if task is not None and task.completed:
            return f"{synced}; completed in PeopleForce since: the next tick closes the issue."
        if task is not None and state_hash(task.raw) != state.last_sync_hash:
            return f"{synced}; changed since: the next tick updates it."
        return f"{synced}; in step with the task."
    text = _STATUS_VERDICTS.get(SyncStatus(state.status), f"recorded as {state.status}")
    return f"{paused}{text[0].upper()}{text[1:]}."


async def trace_task(engine: Engine, settings: Settings, domain_id: int, task_id: int) -> TaskTrace:
    """Everything known about ``task_id`` in the domain; reads PeopleForce and the mapped
    issue in Jira, writes nothing."""
    ledger = await in_session(engine, lambda s: _read_ledger(s, domain_id, task_id))
    domain = ledger.domain
    completed_first = ledger.state is not None and ledger.state.is_completed
    async with http_client(settings) as http:
        # Independent reads: PeopleForce's lists and the mapped issue in Jira, at once.
        (task, found), jira = await asyncio.gather(
            _find_task(http, domain, task_id, completed_first),
            read_issue_now(http, domain, ledger.state),
        )
    routing = None
    if task is not None:
        routing = preview_row(
            task, ledger.specs, DomainDefaults.from_model(domain), domain, ledger.state
        )
    state = _state_view(domain, ledger.state, task) if ledger.state is not None else None
    return TaskTrace(
        domain_id=domain_id,
        domain_name=domain.name,
        domain_active=domain.is_active,
        task_id=task_id,
        verdict=_verdict(ledger, task, routing, found, jira),
        peopleforce=f"found in the {found} list" if task is not None else found,
        task=task.raw if task is not None else None,
        routing=routing,
        state=state,
        jira=jira,
        dead_letters=[DeadLetterOut.of(d) for d in ledger.dead_letters],
        events=[EventOut.of(e) for e in ledger.events],
    )
