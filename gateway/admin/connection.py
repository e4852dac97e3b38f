"""``Test connection``: one read from PeopleForce and one from Jira with a domain's
stored credentials, writing nothing, with a verdict a person can act on."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.admin.base_urls import pf_base_url_warning
from gateway.admin.schemas import ActionResult
from gateway.admin.upstream import (
    VERDICT_LABELS,
    Verdict,
    describe,
    http_client,
    jira_client,
    peopleforce_client,
    verdict_of,
)
from gateway.clients import UpstreamError
from gateway.models import DomainConfig
from gateway.settings import Settings


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


async def check_connection(settings: Settings, domain: DomainConfig) -> ActionResult:
    """Read one page of PeopleForce tasks and the Jira project list, writing nothing.

    Both sides are tried even when the first fails, so one click shows every problem;
    ``details`` carries each side's verdict for scripts.
    """
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
    warning = pf_base_url_warning(domain.pf_base_url)
    if warning:
        details["warnings"] = [warning]
        message += f" Warning: {warning}."
    ok = pf_verdict == Verdict.OK and jira_verdict == Verdict.OK
    return ActionResult(ok=ok, message=message, details=details)
