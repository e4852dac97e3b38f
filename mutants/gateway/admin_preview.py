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

from gateway import admin_service
from gateway.admin_upstream import http_client, peopleforce_client
from gateway.clients import PFTask
from gateway.clock import as_utc
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


def _historical(domain: DomainConfig, task: PFTask) -> bool:
    since = as_utc(domain.sync_since)
    if since is None or not task.created_at:
        return False
    try:
        created = as_utc(datetime.fromisoformat(task.created_at.replace("Z", "+00:00")))
    except ValueError:
        return False
    return created < since


def _row(
    task: PFTask,
    specs: list[RuleSpec],
    defaults: DomainDefaults,
    domain: DomainConfig,
    state: SyncState | None,
) -> PreviewRow:
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


async def preview_routing(
    engine: Engine, settings: Settings, domain_id: int, limit: int = PREVIEW_TASK_LIMIT
) -> list[PreviewRow]:
    """Dry run: route up to ``limit`` open tasks through the current rules, writing nothing."""
    with Session(engine, expire_on_commit=False) as session:
        domain = admin_service.get_domain(session, domain_id)
        specs = [
            RuleSpec.from_models(rule, mappings)
            for rule, mappings in admin_service.rules_with_mappings(session, domain_id)
        ]
    defaults = DomainDefaults.from_model(domain)
    tasks = await _open_tasks(settings, domain, limit)
    with Session(engine) as session:
        query = select(SyncState).where(
            SyncState.domain_id == domain_id,
            col(SyncState.pf_task_id).in_([task.id for task in tasks]),
        )
        states = {state.pf_task_id: state for state in session.exec(query)}
    return [_row(task, specs, defaults, domain, states.get(task.id)) for task in tasks]
