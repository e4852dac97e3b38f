"""On-demand actions the admin surface triggers: the seam between admin and sync.

Ticks, sweeps and replays are queued as ARQ jobs for the workers (the API never
syncs inline); connection tests, rule checks and previews call PeopleForce and
Jira directly, read-only, because the admin waits for their answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy import Engine
from sqlmodel import Session

from gateway import admin_service
from gateway.admin_schemas import ActionResult
from gateway.clients import JiraClient, PeopleForceClient, UpstreamError
from gateway.clients.retry import NO_RETRY
from gateway.db import session_scope
from gateway.models import DomainConfig, RuleAction, utcnow
from gateway.settings import Settings
from gateway.sync.routing import DomainDefaults, RouteAction, RuleSpec, route

TICK_JOB = "sync_pf_to_jira_task"
SWEEP_JOB = "zombie_recovery_task"
REPLAY_JOB = "replay_dead_letter"
PREVIEW_TASK_LIMIT = 50


async def _enqueue(redis: ArqRedis, job: str, arg: int, job_id: str) -> bool:
    """True when queued; False when a job with that id is already queued or running."""
    return await redis.enqueue_job(job, arg, _job_id=job_id) is not None


async def run_tick_now(redis: ArqRedis, domain_id: int) -> ActionResult:
    """Queue a forward tick; the per-domain job id keeps it from doubling a running tick."""
    if await _enqueue(redis, TICK_JOB, domain_id, f"tick:{domain_id}"):
        return ActionResult(ok=True, message="Tick queued; a worker runs it within seconds.")
    return ActionResult(ok=True, message="A tick for this domain is already queued or running.")


async def run_sweep_now(redis: ArqRedis, domain_id: int) -> ActionResult:
    """Queue the zombie sweep (JQL repair of lost webhooks) for one domain."""
    if await _enqueue(redis, SWEEP_JOB, domain_id, f"sweep:{domain_id}"):
        return ActionResult(ok=True, message="Sweep queued; its result appears in the audit log.")
    return ActionResult(ok=True, message="A sweep for this domain is already queued or running.")


async def replay_dead_letter(redis: ArqRedis, dead_letter_id: int) -> ActionResult:
    """Queue a replay; the job records ``replayed_at`` (or a new dead letter) when it runs."""
    if await _enqueue(redis, REPLAY_JOB, dead_letter_id, f"replay:{dead_letter_id}"):
        return ActionResult(ok=True, message="Replay queued; the outcome appears in the audit log.")
    return ActionResult(ok=True, message="A replay of this item is already queued or running.")


def _http(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(settings.http_timeout_seconds))


def _load_domain(engine: Engine, domain_id: int) -> DomainConfig:
    with Session(engine, expire_on_commit=False) as session:
        return admin_service.get_domain(session, domain_id)


def _jira(http: httpx.AsyncClient, domain: DomainConfig) -> JiraClient:
    return JiraClient(
        http, domain.jira_base_url, domain.jira_email, domain.jira_api_token, policy=NO_RETRY
    )


def _peopleforce(http: httpx.AsyncClient, domain: DomainConfig) -> PeopleForceClient:
    return PeopleForceClient(http, domain.pf_base_url, domain.pf_api_key, policy=NO_RETRY)


def _describe(error: UpstreamError) -> str:
    """The client's message already has credentials redacted; add what to check."""
    hint = {
        401: "check the credentials",
        403: "the account lacks permission",
        404: "check the base URL",
    }.get(error.status or 0, "")
    return f"{error}" + (f" ({hint})" if hint else "")


async def check_connection(engine: Engine, settings: Settings, domain_id: int) -> ActionResult:
    """Read one page of PeopleForce tasks and the Jira projects, writing nothing.

    Both sides are tried even when the first fails, so one click shows every problem.
    """
    domain = _load_domain(engine, domain_id)
    lines: list[str] = []
    ok = True
    details: dict[str, Any] = {}
    async with _http(settings) as http:
        if not domain.pf_api_key:
            ok = False
            lines.append("PeopleForce: no API key is set.")
        else:
            try:
                pages = _peopleforce(http, domain).iter_task_pages(max_pages=1)
                page = await anext(pages)
                await pages.aclose()
                details["peopleforce_open_tasks"] = page.count
                shown = page.count if page.count is not None else len(page.tasks)
                lines.append(f"PeopleForce: connected ({shown} open tasks).")
            except UpstreamError as error:
                ok = False
                lines.append(f"PeopleForce: {_describe(error)}")
        if not domain.jira_email or not domain.jira_api_token:
            ok = False
            lines.append("Jira: the account email or API token is not set.")
        else:
            try:
                projects = await _jira(http, domain).list_projects()
                keys = sorted(p.key for p in projects)
                details["jira_projects"] = keys
                lines.append(f"Jira: connected ({len(keys)} projects visible).")
            except UpstreamError as error:
                ok = False
                lines.append(f"Jira: {_describe(error)}")
    return ActionResult(ok=ok, message=" ".join(lines), details=details)


async def validate_rule_against_jira(
    engine: Engine, settings: Settings, rule_id: int
) -> ActionResult:
    """Check a SYNC rule's project, issue type and mapped fields against Jira's createmeta.

    The outcome is stored on the rule (``validation_status``/``validation_message``)
    so the rules list shows it as a badge until the rule changes.
    """
    with Session(engine, expire_on_commit=False) as session:
        rule = admin_service.get_rule(session, rule_id)
        mappings = admin_service.rule_mappings(session, rule_id)
        domain = admin_service.get_domain(session, rule.domain_id)
    if rule.action == RuleAction.DROP:
        status, message = "valid", "DROP rules create nothing in Jira."
    else:
        status, message = await _check_createmeta(
            settings,
            domain,
            rule.target_project_key or domain.fallback_project_key,
            rule.target_issue_type or domain.fallback_issue_type,
            [m.jira_field for m in mappings],
        )
    if status != "error":
        with session_scope(engine) as session:
            stored = admin_service.get_rule(session, rule_id)
            stored.validation_status = status
            stored.validation_message = message
            stored.validated_at = utcnow()
            session.add(stored)
    return ActionResult(ok=status == "valid", message=message, details={"status": status})


async def _check_createmeta(
    settings: Settings,
    domain: DomainConfig,
    project: str | None,
    issue_type: str,
    fields: Sequence[str],
) -> tuple[str, str]:
    """("valid" | "invalid" | "error", message); "error" means Jira could not be asked."""
    if not project:
        return "invalid", "No target project, and the domain has no fallback project."
    if not domain.jira_email or not domain.jira_api_token:
        return "error", "The domain's Jira email or API token is not set."
    async with _http(settings) as http:
        jira = _jira(http, domain)
        try:
            types = await jira.get_createmeta_issue_types(project)
            match = next((t for t in types if t.name.casefold() == issue_type.casefold()), None)
            if match is None:
                names = ", ".join(sorted(t.name for t in types)) or "none"
                return "invalid", (
                    f"Project {project} has no issue type {issue_type!r} (it has: {names})."
                )
            metas = await jira.get_createmeta_fields(project, match.id)
        except UpstreamError as error:
            if error.status in (400, 404):
                return "invalid", f"Jira does not know project {project}: {error.message}"
            return "error", f"Could not ask Jira: {_describe(error)}"
    known = {m.field_id for m in metas} | {m.key for m in metas if m.key}
    unknown = sorted(f for f in fields if f not in known)
    if unknown:
        return "invalid", (
            f"Not on the {project}/{issue_type} create screen: {', '.join(unknown)}."
        )
    return "valid", f"{project}/{issue_type} accepts every mapped field."


@dataclass(frozen=True)
class PreviewRow:
    """How one open PeopleForce task would be routed right now."""

    task_id: int
    title: str
    action: str
    rule_name: str | None
    project_key: str | None
    issue_type: str | None
    reason: str


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
    rows: list[PreviewRow] = []
    async with _http(settings) as http:
        pages = _peopleforce(http, domain).iter_task_pages()
        try:
            async for page in pages:
                for task in page.tasks:
                    decision = route(task.raw, specs, defaults)
                    rows.append(
                        PreviewRow(
                            task_id=task.id,
                            title=task.title,
                            action=RouteAction(decision.action).value,
                            rule_name=decision.rule_name,
                            project_key=decision.project_key,
                            issue_type=decision.issue_type,
                            reason=decision.reason,
                        )
                    )
                    if len(rows) >= limit:
                        return rows
        finally:
            await pages.aclose()
    return rows
