"""``POST /rest/api/3/issue/bulkfetch``: read up to 100 issues by id or key in one request.

A reconciler reads every tracked issue this way, so the fake keeps Jira's semantics
exactly: ids and keys (former keys of a moved issue included) may be mixed, the
``fields`` selection works as in search (``*navigable`` when absent), an issue that
does not exist or that the caller may not see is simply absent from ``issues`` -
no error - and only ids Jira could not return for a passing reason are listed in
``issueErrors`` (the fake lists those a test put in ``JiraSite.bulkfetch_errors``).
More than 100 ids, or none, is a 400.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from fakes.jira.api import read_json
from fakes.jira.errors import JiraError
from fakes.jira.render import select_fields, split_names
from fakes.jira.state import JiraSite

__all__ = ["MAX_BULK_ISSUES", "bulk_fetch", "bulk_router"]

MAX_BULK_ISSUES = 100
BULK_ERROR_MESSAGE = "The issue could not be retrieved; try again later."


def _names(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise JiraError(400, [f"'{key}' must be a list of strings."])
    return value


def bulk_fetch(site: JiraSite, body: Any, *, version: str = "3") -> dict[str, Any]:
    """The answer Jira gives to one bulkfetch request body."""
    if not isinstance(body, dict):
        raise JiraError(400, ["The request body must be an object."])
    wanted = body.get("issueIdsOrKeys")
    if not isinstance(wanted, list) or not wanted:
        raise JiraError(400, ["'issueIdsOrKeys' must list at least one issue id or key."])
    if len(wanted) > MAX_BULK_ISSUES:
        raise JiraError(400, [f"At most {MAX_BULK_ISSUES} issues can be requested at once."])
    fields = _names(body, "fields")
    properties = split_names(_names(body, "properties"))
    issues: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[int] = set()
    with site.lock:
        names = select_fields(fields, navigable=site.navigable_fields(), default_all=True)
        for ref in wanted:
            try:
                issue = site.resolve(str(ref))
            except JiraError:
                continue  # missing or not visible: absent, never an error
            if issue.id in seen:
                continue
            seen.add(issue.id)
            if issue.id in site.bulkfetch_errors:
                errors.append({"id": str(issue.id), "errorMessage": BULK_ERROR_MESSAGE})
                continue
            issues.append(
                site.render(issue, fields=names, version=version, properties=properties or None)
            )
    return {"expand": "schema,names", "issues": issues, "issueErrors": errors}


def bulk_router(site: JiraSite, version: str, guard: Any) -> APIRouter:
    """The bulkfetch route under ``/rest/api/{version}``."""
    router = APIRouter(prefix=f"/rest/api/{version}", dependencies=[Depends(guard)])

    @router.post("/issue/bulkfetch")
    async def bulkfetch(request: Request) -> dict[str, Any]:
        return bulk_fetch(site, await read_json(request), version=version)

    return router
