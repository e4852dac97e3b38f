"""REST routes of the fake PeopleForce API v3, as the gateway's polling client uses them.

They copy the documented quirks (see shared/api/peopleforce.md) because the
gateway must survive them: ``completed`` defaults to false, the page size is
fixed by the server, the request says ``name`` where the response says
``title``, a junk page number means page 1, 404 bodies are HTML and
``complete``/``incomplete`` answer with an empty body.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from fakes.peopleforce.errors import NOT_FOUND_HTML, PeopleForceError, error_body
from fakes.peopleforce.model import API_USER, human_name, parse_date
from fakes.peopleforce.state import PeopleForceAccount

__all__ = ["api_router"]

_TRUE_VALUES = frozenset({"true", "1", "t", "yes", "on"})


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE_VALUES


def _page_number(value: str | None) -> int:
    """Like Rails' ``to_i`` plus Kaminari: junk, zero and negatives mean page 1."""
    try:
        return max(1, int(value)) if value is not None else 1
    except ValueError:
        return 1


def _numeric_id(raw: str) -> int:
    if not raw.isdigit():
        raise PeopleForceError(404, NOT_FOUND_HTML)
    return int(raw)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        raise PeopleForceError(400, error_body("Request body is not valid JSON")) from None
    if not isinstance(body, dict):
        raise PeopleForceError(400, error_body("Request body must be a JSON object"))
    return body


def _validate_create(body: dict[str, Any], pf: PeopleForceAccount) -> dict[str, Any]:
    """Check a ``POST /tasks`` body; ``employee_id`` becomes the assignee (inference)."""
    problems: list[str] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("Name can't be blank")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        problems.append("Description must be a string")
    employee_id = body.get("employee_id")
    usable = isinstance(employee_id, int | str) and not isinstance(employee_id, bool)
    if usable and str(employee_id).isdigit() and int(str(employee_id)) in pf.employees:
        employee_id = int(str(employee_id))
    else:
        problems.append("Employee must exist")
    days: dict[str, date | None] = {}
    for key in ("starts_on", "ends_on"):
        try:
            days[key] = parse_date(body.get(key), key)
        except ValueError:
            problems.append(f"{human_name(key)} is not a valid date")
    start, end = days.get("starts_on"), days.get("ends_on")
    if start and end and end < start:
        problems.append("Ends on must be on or after starts on")
    if problems:
        raise PeopleForceError(422, error_body(*problems))
    return {
        "title": name,
        "description": description,
        "assigned_to": employee_id,
        "starts_on": start,
        "ends_on": end,
    }


_ENVELOPE_EXAMPLE = {
    "data": [],
    "metadata": {"pagination": {"page": 1, "pages": 1, "count": 0, "items": 50}},
}
_LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page in PeopleForce's envelope.",
        "content": {"application/json": {"example": _ENVELOPE_EXAMPLE}},
    },
    401: {"description": 'Missing or wrong X-API-KEY: {"message": "Bad Credentials"}.'},
    429: {"description": "Rate limited (when the fake has a limit); honour Retry-After."},
}
_CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["name", "employee_id"],
                    "properties": {
                        "name": {"type": "string", "description": "Returned as `title`."},
                        "employee_id": {
                            "type": "integer",
                            "description": "The assignee: an id from GET /employees.",
                        },
                        "description": {"type": "string", "description": "HTML allowed."},
                        "starts_on": {"type": "string", "format": "date"},
                        "ends_on": {"type": "string", "format": "date"},
                    },
                },
                "example": {"name": "Prepare laptop", "employee_id": 1},
            }
        },
    }
}


def api_router(pf: PeopleForceAccount) -> APIRouter:
    """Routes relative to the API's base path; every one checks rate limit and key first."""

    async def guard(request: Request) -> None:
        pf.admit(request.headers.get("x-api-key"))

    router = APIRouter(dependencies=[Depends(guard)])

    def mark(task_id: str, action: Callable[[int], object]) -> Response:
        """``complete``/``incomplete``: an empty 200, or Rails' HTML 404 for an unknown id."""
        try:
            action(_numeric_id(task_id))
        except KeyError:
            raise PeopleForceError(404, NOT_FOUND_HTML) from None
        return Response(status_code=200)

    @router.get("/tasks", responses=_LIST_RESPONSES)
    def list_tasks(request: Request) -> dict[str, Any]:
        """Open tasks, newest first; ``?completed=true`` lists the completed ones instead.

        ``completed`` defaults to false; ``page`` is 1-based and the page size is fixed
        by the server; any other query parameter is ignored.
        """
        query = request.query_params
        tasks = pf.list_tasks(completed=_truthy(query.get("completed")))
        return pf.page(tasks, _page_number(query.get("page")))

    @router.post("/tasks", openapi_extra=_CREATE_BODY)
    async def create_task(request: Request) -> dict[str, Any]:
        """Create a task: ``name`` and ``employee_id`` (the assignee) are required.

        Answers 200 with ``{"data": Task}``, where the name comes back as ``title``;
        422 with ``{"success": false, "errors": [...]}`` when a field is refused.
        """
        fields = _validate_create(await _json_object(request), pf)
        try:
            task = pf.create_task(fields.pop("title"), created_by=API_USER["id"], **fields)
        except KeyError:
            raise PeopleForceError(422, error_body("Employee must exist")) from None
        return {"data": task}

    @router.put("/tasks/{task_id}/complete")
    def complete(task_id: str) -> Response:
        """Mark a task completed: an empty 200 (HTML 404 for an unknown id)."""
        refusal = pf.repeat_complete_status
        if refusal is not None:
            with contextlib.suppress(KeyError):
                if pf.get_task(_numeric_id(task_id))["completed"]:
                    raise PeopleForceError(refusal, error_body("Task is already completed"))
        return mark(task_id, pf.complete_task)

    @router.put("/tasks/{task_id}/incomplete")
    def incomplete(task_id: str) -> Response:
        """Mark a completed task open again: an empty 200 (HTML 404 for an unknown id)."""
        return mark(task_id, pf.reopen_task)

    @router.get("/employees", responses=_LIST_RESPONSES)
    def list_employees(request: Request) -> dict[str, Any]:
        """Employees by id, in the same paged envelope as the tasks (``?page=N``).

        An ``id`` from here is what ``POST /tasks`` takes as ``employee_id``.
        """
        return pf.page(pf.list_employees(), _page_number(request.query_params.get("page")))

    @router.get("/employees/{employee_id}/tasks", responses=_LIST_RESPONSES)
    def employee_tasks(employee_id: str, request: Request) -> dict[str, Any]:
        """The tasks assigned to one employee (``completed`` and ``page`` as for ``/tasks``)."""
        person = _numeric_id(employee_id)
        if person not in pf.employees:
            raise PeopleForceError(404, NOT_FOUND_HTML)
        query = request.query_params
        tasks = pf.list_tasks(completed=_truthy(query.get("completed")), assigned_to=person)
        return pf.page(tasks, _page_number(query.get("page")))

    return router
