"""Checking a rule against Jira's create screen (createmeta), now or in the background.

The outcome is stored on the rule (``validation_status``/``validation_message``) so
the rules list shows it as a badge until the rule changes. Database work runs
through ``gateway.db.in_session``: the background checks share the API's event loop
with webhook ingress.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.admin.domains import get_domain
from gateway.admin.errors import NotFound
from gateway.admin.rules import PENDING, get_rule, rule_mappings
from gateway.admin.schemas import ActionResult
from gateway.admin.upstream import describe, http_client, jira_client
from gateway.clients import UpstreamError
from gateway.clients.models import FieldMeta
from gateway.clock import utcnow
from gateway.db import in_session
from gateway.models import DomainConfig, RoutingRule, RuleAction
from gateway.security.exposure import bounded_excerpt
from gateway.settings import Settings

log = logging.getLogger("gateway.admin")

# What every create fills without a mapping (the reporter is Jira's own default).
DEFAULT_FIELDS = frozenset(
    {"summary", "description", "labels", "duedate", "project", "issuetype", "reporter"}
)


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


def _verdict_on_fields(
    project: str, issue_type: str, metas: Sequence[FieldMeta], fields: Sequence[str]
) -> tuple[str, str]:
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
                answer = bounded_excerpt(error.message)
                return "invalid", f"Jira does not know project {project}: {answer}"
            return "error", f"Could not ask Jira: {describe(error, domain)}"
    return _verdict_on_fields(project, issue_type, metas, fields)


@dataclass(frozen=True)
class _RuleToCheck:
    rule: RoutingRule
    domain: DomainConfig
    fields: list[str]


def _load(session: Session, rule_id: int) -> _RuleToCheck:
    rule = get_rule(session, rule_id)
    fields = [m.jira_field for m in rule_mappings(session, rule_id)]
    return _RuleToCheck(rule, get_domain(session, rule.domain_id), fields)


def _store_outcome(
    session: Session, rule_id: int, status: str, message: str, checked_version: datetime
) -> bool:
    """Store unless the rule changed meanwhile (its own, newer check will report)."""
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

    "error" means Jira could not be asked, which says nothing about the rule.
    """
    loaded = await in_session(engine, lambda session: _load(session, rule_id))
    rule, domain = loaded.rule, loaded.domain
    version = rule.updated_at
    if rule.action == RuleAction.DROP:
        status, message = "valid", "DROP rules create nothing in Jira."
    else:
        status, message = await _check_createmeta(
            settings,
            domain,
            rule.target_project_key or domain.fallback_project_key,
            rule.target_issue_type or domain.fallback_issue_type,
            loaded.fields,
        )
    await in_session(
        engine, lambda session: _store_outcome(session, rule_id, status, message, version)
    )
    return ActionResult(ok=status == "valid", message=message, details={"status": status})


def _record_stopped_check(session: Session, rule_id: int, error: Exception) -> None:
    rule = session.get(RoutingRule, rule_id)
    if rule is not None and rule.validation_status == PENDING:
        rule.validation_status = "error"
        rule.validation_message = f"The check stopped: {type(error).__name__}"
        session.add(rule)


class RuleChecks:
    """Rule checks running in the background of the API process after each save.

    A save marks the rule ``pending`` in its own transaction and then schedules the
    check here, so the admin never waits on Jira; the badge polls until the outcome is
    stored. If the process stops first the rule stays ``pending`` and the UI offers the
    check again once it is stale (see ``gateway.admin.rules.PENDING_STALE``).
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, rule_id: int) -> None:
        """Start a check on the running loop; call it after the save is committed."""
        task = asyncio.get_running_loop().create_task(self._run(rule_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, rule_id: int) -> None:
        try:
            await validate_rule_against_jira(self._engine, self._settings, rule_id)
        except NotFound:
            return  # deleted while queued
        except Exception as error:
            # The badge must not spin forever: record what stopped the check.
            log.warning("rule %s: check against Jira failed: %s", rule_id, error)
            record = partial(_record_stopped_check, rule_id=rule_id, error=error)
            await in_session(self._engine, record)

    async def wait(self) -> None:
        """Let every scheduled check finish (tests, and a graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the checks still running (the API is stopping)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
