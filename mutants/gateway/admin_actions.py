"""On-demand actions the admin surface triggers: the seam between admin and sync.

Ticks, sweeps and replays are queued as ARQ jobs for the workers (the API never
syncs inline); connection tests, rule checks and previews call PeopleForce and
Jira directly, read-only, because the admin waits for their answer (or, for the
rule check after a save, watches its badge).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import Engine
from sqlmodel import Session

from gateway import admin_service
from gateway.admin_preview import PreviewRow, preview_routing
from gateway.admin_schemas import ActionResult
from gateway.admin_upstream import (
    VERDICT_LABELS,
    Verdict,
    describe,
    http_client,
    jira_client,
    peopleforce_client,
    verdict_of,
)
from gateway.clients import UpstreamError
from gateway.clients.models import FieldMeta
from gateway.clock import utcnow
from gateway.db import session_scope
from gateway.jobs import (
    REPLAY_JOB,
    SWEEP_JOB,
    TICK_JOB,
    replay_job_id,
    sweep_job_id,
    tick_job_id,
)
from gateway.models import DomainConfig, RoutingRule, RuleAction
from gateway.settings import Settings

__all__ = [
    "DEFAULT_FIELDS",
    "PreviewRow",
    "RuleChecks",
    "check_connection",
    "preview_routing",
    "replay_dead_letter",
    "run_sweep_now",
    "run_tick_now",
    "validate_rule_against_jira",
]

log = logging.getLogger("gateway.admin")

# What every create fills without a mapping (the reporter is Jira's own default).
DEFAULT_FIELDS = frozenset(
    {"summary", "description", "labels", "duedate", "project", "issuetype", "reporter"}
)


async def _enqueue(redis: ArqRedis, job: str, arg: int, job_id: str) -> bool:
    """True when queued; False when a job with that id is already queued or running."""
    return await redis.enqueue_job(job, arg, _job_id=job_id) is not None


async def run_tick_now(redis: ArqRedis, domain_id: int) -> ActionResult:
    """Queue a forward tick; the per-domain job id keeps it from doubling a running tick."""
    if await _enqueue(redis, TICK_JOB, domain_id, tick_job_id(domain_id)):
        return ActionResult(ok=True, message="Tick queued; a worker runs it within seconds.")
    return ActionResult(ok=True, message="A tick for this domain is already queued or running.")


async def run_sweep_now(redis: ArqRedis, domain_id: int) -> ActionResult:
    """Queue the zombie sweep (JQL repair of lost webhooks) for one domain."""
    if await _enqueue(redis, SWEEP_JOB, domain_id, sweep_job_id(domain_id)):
        return ActionResult(ok=True, message="Sweep queued; its result appears in the audit log.")
    return ActionResult(ok=True, message="A sweep for this domain is already queued or running.")


async def replay_dead_letter(redis: ArqRedis, dead_letter_id: int) -> ActionResult:
    """Queue a replay; the job records ``replayed_at`` (or a new dead letter) when it runs."""
    if await _enqueue(redis, REPLAY_JOB, dead_letter_id, replay_job_id(dead_letter_id)):
        return ActionResult(ok=True, message="Replay queued; the outcome appears in the audit log.")
    return ActionResult(ok=True, message="A replay of this item is already queued or running.")


def _load_domain(engine: Engine, domain_id: int) -> DomainConfig:
    with Session(engine, expire_on_commit=False) as session:
        return admin_service.get_domain(session, domain_id)


# --- connection test -------------------------------------------------------------------


async def _check_peopleforce(settings: Settings, domain: DomainConfig) -> tuple[Verdict, str]:
    if not domain.pf_api_key:
        return Verdict.AUTH_FAILED, "no API key is set"
    async with http_client(settings) as http:
        pages = peopleforce_client(http, domain).iter_task_pages(max_pages=1)
        try:
            page = await anext(pages)
        except UpstreamError as error:
            return verdict_of(error), describe(error, domain)
        finally:
            await pages.aclose()
    shown = page.count if page.count is not None else len(page.tasks)
    return Verdict.OK, f"{shown} open tasks"


async def _check_jira(
    settings: Settings, domain: DomainConfig
) -> tuple[Verdict, str, list[str] | None]:
    if not domain.jira_email or not domain.jira_api_token:
        return Verdict.AUTH_FAILED, "the account email or API token is not set", None
    async with http_client(settings) as http:
        try:
            projects = await jira_client(http, domain).list_projects()
        except UpstreamError as error:
            return verdict_of(error), describe(error, domain), None
    keys = sorted(p.key for p in projects)
    return Verdict.OK, f"{len(keys)} projects visible", keys


async def check_connection(engine: Engine, settings: Settings, domain_id: int) -> ActionResult:
    """Read one page of PeopleForce tasks and the Jira project list, writing nothing.

    Both sides are tried even when the first fails, so one click shows every problem;
    ``details`` carries each side's verdict for scripts.
    """
    domain = _load_domain(engine, domain_id)
    (pf_verdict, pf_text), (jira_verdict, jira_text, keys) = await asyncio.gather(
        _check_peopleforce(settings, domain), _check_jira(settings, domain)
    )
    details: dict[str, Any] = {
        "peopleforce": {"status": pf_verdict.value, "message": pf_text},
        "jira": {"status": jira_verdict.value, "message": jira_text},
    }
    if keys is not None:
        details["jira_projects"] = keys
    message = (
        f"PeopleForce: {VERDICT_LABELS[pf_verdict]} ({pf_text}). "
        f"Jira: {VERDICT_LABELS[jira_verdict]} ({jira_text})."
    )
    ok = pf_verdict == Verdict.OK and jira_verdict == Verdict.OK
    return ActionResult(ok=ok, message=message, details=details)


# --- rule check against Jira's create screen ---------------------------------------------


def _missing_required(metas: Sequence[FieldMeta], mapped: set[str]) -> list[str]:
    """Required fields without a default that neither the gateway nor a mapping fills."""
    missing = []
    for meta in metas:
        if not meta.required or meta.has_default_value:
            continue
        ids = {meta.field_id, meta.key} - {None}
        if ids & (DEFAULT_FIELDS | mapped):
            continue
        missing.append(f"{meta.name or meta.field_id} ({meta.field_id})")
    return sorted(missing)


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
    async with http_client(settings) as http:
        jira = jira_client(http, domain)
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
            return "error", f"Could not ask Jira: {describe(error, domain)}"
    problems: list[str] = []
    known = {m.field_id for m in metas} | {m.key for m in metas if m.key}
    unknown = sorted({f for f in fields if f not in known})
    if unknown:
        problems.append(f"not on the create screen: {', '.join(unknown)}")
    missing = _missing_required(metas, set(fields))
    if missing:
        problems.append(f"required but not filled (add a mapping): {', '.join(missing)}")
    if problems:
        return "invalid", f"{project}/{issue_type}: " + "; ".join(problems) + "."
    return "valid", f"{project}/{issue_type} accepts every mapped field and all required ones."


def _store_outcome(
    engine: Engine, rule_id: int, status: str, message: str, checked_version: datetime
) -> bool:
    """Store unless the rule changed meanwhile (its own, newer check will report)."""
    with session_scope(engine) as session:
        stored = session.get(RoutingRule, rule_id)
        if stored is None or stored.updated_at != checked_version:
            return False
        stored.validation_status = status
        stored.validation_message = message
        stored.validated_at = utcnow()
        session.add(stored)
    return True


async def validate_rule_against_jira(
    engine: Engine, settings: Settings, rule_id: int
) -> ActionResult:
    """Check a rule's project, issue type, required and mapped fields against createmeta.

    The outcome is stored on the rule (``validation_status``/``validation_message``) so
    the rules list shows it as a badge until the rule changes; "error" means Jira could
    not be asked, which says nothing about the rule.
    """
    with Session(engine, expire_on_commit=False) as session:
        rule = admin_service.get_rule(session, rule_id)
        mappings = admin_service.rule_mappings(session, rule_id)
        domain = admin_service.get_domain(session, rule.domain_id)
    version = rule.updated_at
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
    _store_outcome(engine, rule_id, status, message, version)
    return ActionResult(ok=status == "valid", message=message, details={"status": status})


class RuleChecks:
    """Rule checks running in the background of the API process after each save.

    A save marks the rule ``pending`` in its own transaction and then schedules the
    check here, so the admin never waits on Jira; the badge polls until the outcome is
    stored. If the process stops first the rule stays ``pending`` and the UI offers the
    check again once it is stale (see ``admin_service.PENDING_STALE``).
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, rule_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self._run(rule_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, rule_id: int) -> None:
        try:
            await validate_rule_against_jira(self._engine, self._settings, rule_id)
        except admin_service.NotFound:
            return  # deleted while queued
        except Exception as error:
            # The badge must not spin forever: record what stopped the check.
            log.warning("rule %s: check against Jira failed: %s", rule_id, error)
            with session_scope(self._engine) as session:
                rule = session.get(RoutingRule, rule_id)
                if rule is not None and rule.validation_status == admin_service.PENDING:
                    rule.validation_status = "error"
                    rule.validation_message = f"The check stopped: {type(error).__name__}"
                    session.add(rule)

    async def wait(self) -> None:
        """Let every scheduled check finish (tests, and a graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
