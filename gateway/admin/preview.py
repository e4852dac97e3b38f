"""The routing dry run: what the current rules would do with the open PeopleForce tasks.

Read-only by construction: it lists tasks (GET only), routes them with the same pure
function a tick uses, and reads the ledger to say which tasks are already tracked.
Nothing is written to the database, PeopleForce or Jira.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.admin.domains import get_domain
from gateway.admin.rules import rules_with_mappings
from gateway.admin.upstream import http_client, peopleforce_client
from gateway.clients import PFTask
from gateway.clock import as_utc
from gateway.db import in_session
from gateway.models import DomainConfig, SyncState
from gateway.settings import Settings
from gateway.sync.routing import DomainDefaults, RouteAction, RuleSpec, route

PREVIEW_TASK_LIMIT = 50


@dataclass(frozen=True)
class PreviewRow:
    """How one open PeopleForce task would be routed right now, and what Jira would get."""

    task_id: int
    title: str
    action: str
    rule_name: str | None
    project_key: str | None
    issue_type: str | None
    reason: str
    fields: dict[str, Any] = field(default_factory=dict)
    assignee_email: str | None = None
    tracked: str | None = None


def _tracked(state: SyncState | None) -> str | None:
    """Rules decide only at creation: say when a task is already past that point."""
    if state is None:
        return None
    if state.jira_issue_key:
        return f"already synced as {state.jira_issue_key}"
    return f"already recorded as {state.status}"


def sync_since_note(sync_since: datetime | None) -> str:
    """What the domain's ``sync_since`` means for the preview, unset (the default) included."""
    since = as_utc(sync_since)
    if since is None:
        return "sync_since is unset (the default): every open task syncs, however old"
    return (
        f"sync_since is {since.isoformat()}: open tasks created earlier are recorded, "
        "not created in Jira (`gateway backfill` releases them)"
    )


def _historical(domain: DomainConfig, task: PFTask) -> bool:
    since = as_utc(domain.sync_since)
    if since is None or not task.created_at:
        return False
    try:
        created = as_utc(datetime.fromisoformat(task.created_at.replace("Z", "+00:00")))
    except ValueError:
        return False
    return created < since


def preview_row(
    task: PFTask,
    specs: list[RuleSpec],
    defaults: DomainDefaults,
    domain: DomainConfig,
    state: SyncState | None,
) -> PreviewRow:
    """How the rules route ``task`` now (the tick's own ``route``), and whether the task
    is past the point where rules decide; shared by the preview and the task trace."""
    decision = route(task.raw, specs, defaults)
    tracked = _tracked(state)
    if tracked is None and _historical(domain, task):
        tracked = "created before sync_since: a tick records it and creates nothing"
    return PreviewRow(
        task_id=task.id,
        title=task.title,
        action=RouteAction(decision.action).value,
        rule_name=decision.rule_name,
        project_key=decision.project_key,
        issue_type=decision.issue_type,
        reason=decision.reason,
        fields=decision.fields,
        assignee_email=decision.assignee_email,
        tracked=tracked,
    )


async def _open_tasks(settings: Settings, domain: DomainConfig, limit: int) -> list[PFTask]:
    tasks: list[PFTask] = []
    async with http_client(settings) as http:
        pages = peopleforce_client(http, domain).iter_task_pages()
        try:
            async for page in pages:
                tasks.extend(page.tasks)
                if len(tasks) >= limit:
                    break
        finally:
            await pages.aclose()
    return tasks[:limit]


def domain_and_rules(session: Session, domain_id: int) -> tuple[DomainConfig, list[RuleSpec]]:
    """The domain and its rules in evaluation form, read in one session."""
    specs = [
        RuleSpec.from_models(rule, mappings)
        for rule, mappings in rules_with_mappings(session, domain_id)
    ]
    return get_domain(session, domain_id), specs


def _states(session: Session, domain_id: int, task_ids: list[int]) -> dict[int, SyncState]:
    query = select(SyncState).where(
        SyncState.domain_id == domain_id, col(SyncState.pf_task_id).in_(task_ids)
    )
    return {state.pf_task_id: state for state in session.exec(query)}


async def preview_routing(
    engine: Engine, settings: Settings, domain_id: int, limit: int = PREVIEW_TASK_LIMIT
) -> list[PreviewRow]:
    """Dry run: route up to ``limit`` open tasks through the current rules, writing nothing.

    The database reads run through ``gateway.db.in_session``, off the API's loop.
    """
    domain, specs = await in_session(engine, lambda s: domain_and_rules(s, domain_id))
    defaults = DomainDefaults.from_model(domain)
    tasks = await _open_tasks(settings, domain, limit)
    task_ids = [task.id for task in tasks]
    states = await in_session(engine, lambda s: _states(s, domain_id, task_ids))
    return [preview_row(task, specs, defaults, domain, states.get(task.id)) for task in tasks]
