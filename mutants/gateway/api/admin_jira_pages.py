"""Admin UI parts that ask PeopleForce or Jira: rule-check badges, pickers, routing preview.

Each loads after its page has rendered (htmx), so a slow or unreachable upstream
costs the admin a note in one corner of the page, never the page itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from gateway import admin_actions, admin_service
from gateway.admin_catalog import CatalogUnavailable, Choice
from gateway.admin_upstream import describe
from gateway.api.admin_auth import (
    Principal,
    page_user,
    page_writer,
    request_catalog,
    request_engine,
)
from gateway.api.templating import render
from gateway.clients import UpstreamError

router = APIRouter(include_in_schema=False)


@router.get("/admin/rules/{rule_id}/check")
def rule_check(
    request: Request, rule_id: int, principal: Principal = Depends(page_user)
) -> HTMLResponse:
    """One rule's Jira-check badge; it polls itself while the check is pending."""
    with Session(request_engine(request)) as db:
        rule = admin_service.get_rule(db, rule_id)
    return render(
        request,
        "partials/rule_check.html",
        {"rule": rule, "check_status": admin_service.check_status},
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


@router.get("/admin/domains/{domain_id}/jira/projects")
async def project_choices(
    request: Request, domain_id: int, principal: Principal = Depends(page_user)
) -> HTMLResponse:
    """A datalist of the Jira projects for the project input (cached)."""
    with Session(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
    choices: list[Choice] = []
    error = None
    try:
        choices = await request_catalog(request).projects(domain)
    except UpstreamError as upstream:
        error = describe(upstream, domain)
    except CatalogUnavailable as unavailable:
        error = str(unavailable)
    return _choices(
        request, principal, list_id="jira-projects", what="projects", choices=choices, error=error
    )


@router.get("/admin/domains/{domain_id}/jira/issue-types")
async def issue_type_choices(
    request: Request,
    domain_id: int,
    target_project_key: str = "",
    principal: Principal = Depends(page_user),
) -> HTMLResponse:
    """A datalist of the issue types of the chosen project (or the domain's fallback)."""
    with Session(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
    project = target_project_key.strip() or (domain.fallback_project_key or "")
    choices: list[Choice] = []
    error = None
    if not project:
        error = "choose a project first"
    else:
        try:
            choices = await request_catalog(request).issue_types(domain, project)
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


@router.get("/admin/domains/{domain_id}/preview")
def preview_page(
    request: Request, domain_id: int, principal: Principal = Depends(page_user)
) -> HTMLResponse:
    """The dry-run page; its table loads after rendering, from the POST below."""
    with Session(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
    return render(
        request, "preview_page.html", {"domain": domain, "nav": "domains"}, principal=principal
    )


@router.post("/admin/domains/{domain_id}/rules/preview")
async def preview_rules(
    request: Request, domain_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    """Dry run of the current rules over the open PeopleForce tasks; writes nothing."""
    with Session(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
    rows: list[admin_actions.PreviewRow] = []
    error: str | None = None
    try:
        rows = await admin_actions.preview_routing(
            request_engine(request), request.app.state.settings, domain_id
        )
    except UpstreamError as upstream:
        error = f"Could not read PeopleForce tasks: {describe(upstream, domain)}"
    return render(
        request, "partials/preview.html", {"rows": rows, "error": error}, principal=principal
    )
