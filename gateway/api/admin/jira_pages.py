"""Admin UI parts that ask PeopleForce or Jira: rule-check badges, pickers, routing preview.

Each loads after its page has rendered (htmx), so a slow or unreachable upstream
costs the admin a note in one corner of the page, never the page itself. Those that
wait on an upstream are ``async`` and read the domain through ``DomainSnapshotDep``,
holding no database connection while they wait.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gateway.admin import rules
from gateway.admin.catalog import CatalogUnavailable, Choice
from gateway.admin.preview import PreviewRow, preview_routing, sync_since_note
from gateway.admin.upstream import describe
from gateway.api.admin.deps import (
    CatalogDep,
    DomainDep,
    DomainSnapshotDep,
    EngineDep,
    PageUser,
    PageWriter,
    Principal,
    RuleDep,
    SettingsDep,
)
from gateway.api.admin.templating import render
from gateway.clients import UpstreamError

router = APIRouter(include_in_schema=False)


@router.get("/admin/rules/{rule_id}/check")
def rule_check(request: Request, principal: PageUser, rule: RuleDep) -> HTMLResponse:
    """One rule's Jira-check badge; it polls itself while the check is pending."""
    return render(
        request,
        "partials/rule_check.html",
        {"rule": rule, "check_status": rules.check_status},
        principal=principal,
    )


def _choices(
    request: Request,
    principal: Principal,
    *,
    list_id: str,
    what: str,
    choices: list[Choice],
    error: str | None,
) -> HTMLResponse:
    return render(
        request,
        "partials/jira_choices.html",
        {"list_id": list_id, "what": what, "choices": choices, "error": error},
        principal=principal,
    )


@router.get("/admin/domains/{domain}/jira/projects")
async def project_choices(
    request: Request, principal: PageUser, domain: DomainSnapshotDep, catalog: CatalogDep
) -> HTMLResponse:
    """A datalist of the Jira projects for the project input (cached)."""
    choices: list[Choice] = []
    error = None
    try:
        choices = await catalog.projects(domain)
    except UpstreamError as upstream:
        error = describe(upstream, domain)
    except CatalogUnavailable as unavailable:
        error = str(unavailable)
    return _choices(
        request, principal, list_id="jira-projects", what="projects", choices=choices, error=error
    )


@router.get("/admin/domains/{domain}/jira/issue-types")
async def issue_type_choices(
    request: Request,
    principal: PageUser,
    domain: DomainSnapshotDep,
    catalog: CatalogDep,
    target_project_key: str = "",
) -> HTMLResponse:
    """A datalist of the issue types of the chosen project (or the domain's fallback)."""
    project = target_project_key.strip() or (domain.fallback_project_key or "")
    choices: list[Choice] = []
    error = None
    if not project:
        error = "choose a project first"
    else:
        try:
            choices = await catalog.issue_types(domain, project)
        except UpstreamError as upstream:
            error = describe(upstream, domain)
        except CatalogUnavailable as unavailable:
            error = str(unavailable)
    return _choices(
        request,
        principal,
        list_id="jira-issue-types",
        what=f"issue types of {project}" if project else "issue types",
        choices=choices,
        error=error,
    )


@router.get("/admin/domains/{domain}/preview")
def preview_page(request: Request, principal: PageUser, domain: DomainDep) -> HTMLResponse:
    """The dry-run page; its table loads after rendering, from the POST below."""
    return render(
        request, "preview_page.html", {"domain": domain, "nav": "domains"}, principal=principal
    )


@router.post("/admin/domains/{domain}/rules/preview")
async def preview_rules(
    request: Request,
    principal: PageWriter,
    domain: DomainSnapshotDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    """Dry run of the current rules over the open PeopleForce tasks; writes nothing."""
    rows: list[PreviewRow] = []
    error: str | None = None
    try:
        rows = await preview_routing(engine, settings, domain.id or 0)
    except UpstreamError as upstream:
        error = f"Could not read PeopleForce tasks: {describe(upstream, domain)}"
    context = {"rows": rows, "error": error, "since": sync_since_note(domain.sync_since)}
    return render(request, "partials/preview.html", context, principal=principal)
