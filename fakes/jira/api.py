"""REST routes of the fake Jira (``/rest/api/2`` and ``/rest/api/3``, admin webhooks).

Thin handlers over ``FakeJira``: they parse parameters the way Jira does
(repeated or comma-separated ``fields``, JSON bodies that may be malformed) and
turn ``JiraError`` into Jira's error shape. Both API versions are served
because public clients (pycontribs ``jira``) default to v2; they differ only in
the description format.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from fakes.jira.errors import REMOVED_SEARCH, JiraError
from fakes.jira.fake import FakeJira
from fakes.jira.jql import JqlError
from fakes.jira.model import CATEGORIES, STATUSES
from fakes.jira.render import (
    category_json,
    createmeta_field_json,
    field_json,
    issuetype_json,
    priority_json,
    project_json,
    server_info_json,
    split_names,
    status_json,
    transition_json,
    user_json,
)
from fakes.jira.webhooks import DEFAULT_FILTER

__all__ = ["api_router", "read_json", "webhook_router"]


async def read_json(request: Request) -> Any:
    """The body as JSON (``None`` when empty); malformed JSON is Jira's 400."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise JiraError(400, [f"Unexpected character in the request body: {exc}"]) from None


def _multi(request: Request, name: str) -> list[str] | None:
    values = request.query_params.getlist(name)
    return values or None


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise JiraError(400, [f"'{name}' must be an integer, got '{raw}'."]) from None


def _paged(request: Request, items: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Jira's offset paging: the slice ``startAt``/``maxResults`` ask for, and its envelope."""
    start = _int_param(request, "startAt", 0) or 0
    size = _int_param(request, "maxResults", 50) or 50
    if start < 0 or size < 0:
        raise JiraError(400, ["'startAt' and 'maxResults' must not be negative."])
    chunk = items[start : start + size]
    last = start + len(chunk) >= len(items)
    return chunk, {"maxResults": size, "startAt": start, "total": len(items), "isLast": last}


def api_router(jira: FakeJira, version: str, guard: Any) -> APIRouter:
    """Routes under ``/rest/api/{version}``."""
    router = APIRouter(prefix=f"/rest/api/{version}", dependencies=[Depends(guard)])

    def base() -> str:
        return jira.base_url

    # -- site -----------------------------------------------------------------

    @router.get("/serverInfo")
    def server_info() -> dict[str, Any]:
        return server_info_json(base(), jira.clock.now())

    @router.get("/myself")
    def myself() -> dict[str, Any]:
        body = user_json(base(), jira.bot, version)
        body["locale"] = "en_US"
        body["groups"] = {"size": 1, "items": []}
        return body

    @router.get("/field")
    def fields() -> list[dict[str, Any]]:
        return [field_json(f) for f in jira.fields.values()]

    @router.get("/status")
    def statuses() -> list[dict[str, Any]]:
        return [status_json(base(), s, version) for s in STATUSES.values()]

    @router.get("/statuscategory")
    def status_categories() -> list[dict[str, Any]]:
        return [category_json(base(), c, version) for c in CATEGORIES.values()]

    @router.get("/priority")
    def priorities() -> list[dict[str, Any]]:
        return [priority_json(base(), p, version) for p in jira.priorities.values()]

    @router.get("/issuetype")
    def issue_types() -> list[dict[str, Any]]:
        seen: dict[str, Any] = {}
        for project in jira.projects.values():
            for t in project.issue_types:
                seen.setdefault(t.id, issuetype_json(base(), t, version))
        return list(seen.values())

    # -- projects ---------------------------------------------------------------

    @router.get("/project")
    def projects() -> list[dict[str, Any]]:
        return [project_json(base(), p, version, full=True) for p in jira.projects.values()]

    @router.get("/project/search")
    def project_search(request: Request) -> dict[str, Any]:
        query = (request.query_params.get("query") or "").casefold()
        keys = {k.upper() for k in request.query_params.getlist("keys")}
        found = [
            p
            for p in jira.projects.values()
            if (not query or query in p.key.casefold() or query in p.name.casefold())
            and (not keys or p.key in keys)
        ]
        chunk, page = _paged(request, found)
        body: dict[str, Any] = {
            "self": str(request.url),
            **page,
            "values": [project_json(base(), p, version, full=True) for p in chunk],
        }
        if not page["isLast"]:
            start, size = page["startAt"], page["maxResults"]
            body["nextPage"] = (
                f"{base()}/rest/api/{version}/project/search?startAt={start + size}"
                f"&maxResults={size}"
            )
        return body

    @router.get("/project/{project_id_or_key}")
    def project(project_id_or_key: str) -> dict[str, Any]:
        return project_json(base(), jira.project(project_id_or_key), version, full=True)

    @router.get("/project/{project_id_or_key}/statuses")
    def project_statuses(project_id_or_key: str) -> list[dict[str, Any]]:
        p = jira.project(project_id_or_key)
        statuses = [status_json(base(), s, version) for s in p.workflow.statuses]
        return [
            {
                "self": f"{base()}/rest/api/{version}/issuetype/{t.id}",
                "id": t.id,
                "name": t.name,
                "subtask": t.subtask,
                "statuses": statuses,
            }
            for t in p.issue_types
        ]

    # -- users ------------------------------------------------------------------

    @router.get("/user/search")
    def user_search(request: Request) -> list[dict[str, Any]]:
        query = request.query_params.get("query")
        account_id = request.query_params.get("accountId")
        if not query and not account_id:
            raise JiraError(400, ["One of 'query' or 'accountId' must be provided."])
        users = ([jira.users[account_id]] if account_id in jira.users else []) + jira.find_user(
            query or ""
        )
        unique = list({u.account_id: u for u in users}.values())
        chunk, _ = _paged(request, unique)
        return [user_json(base(), u, version) for u in chunk]

    @router.get("/user")
    def user(request: Request) -> dict[str, Any]:
        account_id = request.query_params.get("accountId") or ""
        if account_id not in jira.users:
            raise JiraError(404, [f"Specified user does not exist: {account_id}"])
        return user_json(base(), jira.users[account_id], version)

    # -- createmeta -------------------------------------------------------------

    @router.get("/issue/createmeta/{project_id_or_key}/issuetypes")
    def createmeta_types(project_id_or_key: str, request: Request) -> dict[str, Any]:
        p = jira.project(project_id_or_key)
        chunk, page = _paged(request, p.issue_types)
        return {"issueTypes": [issuetype_json(base(), t, version) for t in chunk], **page}

    @router.get("/issue/createmeta/{project_id_or_key}/issuetypes/{issue_type_id}")
    def createmeta_fields(
        project_id_or_key: str, issue_type_id: str, request: Request
    ) -> dict[str, Any]:
        p = jira.project(project_id_or_key)
        itype = p.issue_type(issue_type_id)
        if itype is None:
            raise JiraError(404, [f"Issue type with id '{issue_type_id}' not found."])
        described = [
            createmeta_field_json(base(), jira.fields[fid], p, itype, version)
            for fid in jira.screen_fields()
        ]
        chunk, page = _paged(request, described)
        return {"fields": chunk, **page}

    # -- issues -------------------------------------------------------------------

    @router.post("/issue", status_code=201)
    async def create_issue(request: Request) -> dict[str, Any]:
        issue = jira.create_issue(await read_json(request), version=version)
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": f"{base()}/rest/api/{version}/issue/{issue.id}",
        }

    @router.get("/issue/{issue_id_or_key}")
    def get_issue(issue_id_or_key: str, request: Request) -> dict[str, Any]:
        return jira.get_issue_json(
            issue_id_or_key,
            fields=_multi(request, "fields"),
            properties=_multi(request, "properties"),
            version=version,
        )

    @router.put("/issue/{issue_id_or_key}", response_model=None)
    async def edit_issue(issue_id_or_key: str, request: Request) -> Response | dict[str, Any]:
        jira.edit_issue(issue_id_or_key, await read_json(request), version=version)
        if request.query_params.get("returnIssue") == "true":
            return jira.get_issue_json(issue_id_or_key, version=version)
        return Response(status_code=204)

    @router.delete("/issue/{issue_id_or_key}")
    def delete_issue(issue_id_or_key: str) -> Response:
        jira.delete_issue(issue_id_or_key)
        return Response(status_code=204)

    @router.get("/issue/{issue_id_or_key}/transitions")
    def transitions(issue_id_or_key: str, request: Request) -> dict[str, Any]:
        wanted = request.query_params.get("transitionId")
        available = [
            transition_json(base(), t, version)
            for t in jira.available_transitions(issue_id_or_key)
            if wanted is None or t.id == wanted
        ]
        return {"expand": "transitions", "transitions": available}

    @router.post("/issue/{issue_id_or_key}/transitions")
    async def do_transition(issue_id_or_key: str, request: Request) -> Response:
        jira.apply_transition(issue_id_or_key, await read_json(request))
        return Response(status_code=204)

    @router.get("/issue/{issue_id_or_key}/properties")
    def property_keys(issue_id_or_key: str) -> dict[str, Any]:
        issue = jira.resolve(issue_id_or_key)
        return {
            "keys": [
                {"self": f"{base()}/rest/api/{version}/issue/{issue.id}/properties/{k}", "key": k}
                for k in jira.property_keys(issue.id)
            ]
        }

    @router.get("/issue/{issue_id_or_key}/properties/{property_key}")
    def get_property(issue_id_or_key: str, property_key: str) -> dict[str, Any]:
        return {"key": property_key, "value": jira.get_property(issue_id_or_key, property_key)}

    @router.put("/issue/{issue_id_or_key}/properties/{property_key}")
    async def put_property(issue_id_or_key: str, property_key: str, request: Request) -> Response:
        created = jira.set_property(issue_id_or_key, property_key, await read_json(request))
        return Response(status_code=201 if created else 200)

    @router.delete("/issue/{issue_id_or_key}/properties/{property_key}")
    def delete_property(issue_id_or_key: str, property_key: str) -> Response:
        jira.delete_property(issue_id_or_key, property_key)
        return Response(status_code=204)

    # -- search ---------------------------------------------------------------------

    @router.api_route("/search", methods=["GET", "POST"])
    def removed_search() -> JSONResponse:
        return JSONResponse({"errorMessages": [REMOVED_SEARCH], "errors": {}}, status_code=410)

    def search_page(query: dict[str, Any]) -> dict[str, Any]:
        """One page of the enhanced search for a POST body (GET's parameters read into one)."""
        max_results = query.get("maxResults")
        if max_results is not None and not isinstance(max_results, int):
            raise JiraError(400, ["'maxResults' must be an integer."])
        reconcile = [int(x) for x in query.get("reconcileIssues") or [] if str(x).isdigit()]
        return jira.search(
            query.get("jql"),
            next_page_token=query.get("nextPageToken"),
            max_results=max_results,
            fields=_as_list(query.get("fields")),
            properties=_as_list(query.get("properties")),
            reconcile=reconcile,
            version=version,
        ).to_json()

    @router.get("/search/jql")
    def search_get(request: Request) -> dict[str, Any]:
        params = request.query_params
        return search_page(
            {
                "jql": params.get("jql"),
                "nextPageToken": params.get("nextPageToken"),
                "maxResults": _int_param(request, "maxResults", None),
                "fields": _multi(request, "fields"),
                "properties": _multi(request, "properties"),
                "reconcileIssues": split_names(_multi(request, "reconcileIssues")),
            }
        )

    @router.post("/search/jql")
    async def search_post(request: Request) -> dict[str, Any]:
        body = await read_json(request) or {}
        if not isinstance(body, dict):
            raise JiraError(400, ["The request body must be an object."])
        return search_page(body)

    @router.post("/search/approximate-count")
    async def approximate_count(request: Request) -> dict[str, Any]:
        body = await read_json(request) or {}
        jql = body.get("jql") if isinstance(body, dict) else None
        count = 0
        token: str | None = None
        while True:
            page = jira.search(jql, next_page_token=token, max_results=100)
            count += len(page.issues)
            token = page.next_page_token
            if token is None:
                return {"count": count}

    return router


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise JiraError(400, ["Expected a list of strings."])


def webhook_router(jira: FakeJira, guard: Any) -> APIRouter:
    """Admin webhook registration: ``/rest/webhooks/1.0/webhook``."""
    router = APIRouter(prefix="/rest/webhooks/1.0/webhook", dependencies=[Depends(guard)])

    @router.post("", status_code=201)
    async def register(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise JiraError(400, ["A webhook needs a 'url'."])
        filters = body.get("filters") or {}
        jql = filters.get("issue-related-events-section", DEFAULT_FILTER)
        try:
            hook = jira.webhooks.register(
                body["url"],
                name=str(body.get("name") or "webhook"),
                events=list(body.get("events") or ["jira:issue_updated"]),
                jql=jql or None,
                secret=body.get("secret"),
                exclude_body=bool(body.get("excludeBody", False)),
            )
        except JqlError as exc:
            raise JiraError(400, [str(exc)]) from None
        return hook.to_json(jira.base_url)

    @router.get("")
    def list_hooks() -> list[dict[str, Any]]:
        return [h.to_json(jira.base_url) for h in jira.webhooks.all()]

    @router.get("/{hook_id}")
    def get_hook(hook_id: int) -> dict[str, Any]:
        for h in jira.webhooks.all():
            if h.id == hook_id:
                return h.to_json(jira.base_url)
        raise JiraError(404, [f"Webhook {hook_id} does not exist."])

    @router.delete("/{hook_id}")
    def delete_hook(hook_id: int) -> Response:
        if not jira.webhooks.unregister(hook_id):
            raise JiraError(404, [f"Webhook {hook_id} does not exist."])
        return Response(status_code=204)

    return router
