"""Admin UI pages for what happened: the audit log and the dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from gateway import admin_actions, admin_service
from gateway.admin_schemas import dead_letter_state
from gateway.api.admin_auth import Principal, page_user, page_writer, request_engine
from gateway.api.templating import is_htmx, render
from gateway.db import session_scope
from gateway.models import EventType

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _pager(request: Request, page: int, total: int) -> dict:
    params = dict(request.query_params)

    def query_for(number: int) -> str:
        return urlencode({**params, "page": number})

    return {
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "total": total,
        "query_for": query_for,
    }


@router.get("/admin/audit")
def audit_page(request: Request, principal: Principal = Depends(page_user)) -> HTMLResponse:
    query = request.query_params
    errors: list[str] = []
    try:
        since, until = _when(query.get("since")), _when(query.get("until"))
    except ValueError:
        since = until = None
        errors.append("Dates must look like 2026-01-31T14:00.")
    task_raw = query.get("pf_task_id", "").strip()
    if task_raw and _int(task_raw) is None:
        errors.append("The PeopleForce task id is a number.")
    filters = admin_service.EventFilter(
        domain_id=_int(query.get("domain_id")),
        pf_task_id=_int(task_raw),
        jira_issue_key=query.get("jira_issue_key", "").strip() or None,
        event_type=query.get("event_type") or None,
        since=since,
        until=until,
    )
    page = _int(query.get("page")) or 1
    with Session(request_engine(request)) as db:
        events, total = admin_service.list_events(db, filters, page, PAGE_SIZE)
        domains = admin_service.list_domains(db)
    return render(
        request,
        "audit.html",
        {
            "events": events,
            "filters": filters,
            "raw": {"since": query.get("since", ""), "until": query.get("until", "")},
            "domains": domains,
            "domain_names": {d.id: d.name for d in domains},
            "event_types": [t.value for t in EventType],
            "error_types": {t.value for t in admin_service.ERROR_EVENTS},
            "errors": errors,
            "nav": "audit",
            **_pager(request, page, total),
        },
        principal=principal,
        status_code=422 if errors else 200,
    )


@router.get("/admin/dead-letters")
def dead_letters_page(request: Request, principal: Principal = Depends(page_user)) -> HTMLResponse:
    query = request.query_params
    state = query.get("state", "open")
    if state not in admin_service.DEAD_LETTER_STATES:
        state = "open"
    domain_id = _int(query.get("domain_id"))
    page = _int(query.get("page")) or 1
    with Session(request_engine(request)) as db:
        letters, total = admin_service.list_dead_letters(
            db, domain_id=domain_id, state=state, page=page, page_size=PAGE_SIZE
        )
        domains = admin_service.list_domains(db)
    return render(
        request,
        "dead_letters.html",
        {
            "letters": letters,
            "domains": domains,
            "domain_names": {d.id: d.name for d in domains},
            "domain_id": domain_id,
            "state": state,
            "states": admin_service.DEAD_LETTER_STATES,
            "dead_letter_state": dead_letter_state,
            "message": None,
            "nav": "dead-letters",
            **_pager(request, page, total),
        },
        principal=principal,
    )


def _row(
    request: Request, letter_id: int, principal: Principal, ok: bool, message: str
) -> Response:
    if not is_htmx(request):
        return RedirectResponse("/admin/dead-letters", status_code=303)
    with Session(request_engine(request)) as db:
        letter = admin_service.get_dead_letter(db, letter_id)
        names = {d.id: d.name for d in admin_service.list_domains(db)}
    return render(
        request,
        "partials/dead_letter_row.html",
        {
            "letter": letter,
            "domain_names": names,
            "dead_letter_state": dead_letter_state,
            "ok": ok,
            "message": message,
        },
        principal=principal,
    )


@router.post("/admin/dead-letters/{letter_id}/discard")
async def discard_dead_letter(
    request: Request, letter_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    with session_scope(request_engine(request)) as db:
        admin_service.discard_dead_letter(db, admin_service.get_dead_letter(db, letter_id))
    return _row(request, letter_id, principal, True, "Discarded.")


@router.post("/admin/dead-letters/{letter_id}/replay")
async def replay_dead_letter(
    request: Request, letter_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    with Session(request_engine(request)) as db:
        admin_service.get_dead_letter(db, letter_id)
    result = await admin_actions.replay_dead_letter(request.app.state.redis, letter_id)
    return _row(request, letter_id, principal, result.ok, result.message)
