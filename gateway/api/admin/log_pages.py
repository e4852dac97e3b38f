"""Admin UI pages for what happened: the audit log, one task's trace and the dead letters.

Replay and Discard call the same functions as the JSON API and the CLI, so a letter
that is already closed is refused here too, with the same message (shown in its
row, answered 409).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from gateway.admin import actions, audit, dead_letters, domains, task_trace
from gateway.admin.errors import Conflict
from gateway.api.admin.deps import (
    DomainSnapshotDep,
    EngineDep,
    PageUser,
    PageWriter,
    Principal,
    RedisDep,
    SessionDep,
    SettingsDep,
)
from gateway.api.admin.templating import is_htmx, render
from gateway.db import in_session
from gateway.models import EventType

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/admin/domains/{domain}/tasks/{task_id}")
async def task_page(
    request: Request,
    principal: PageUser,
    domain: DomainSnapshotDep,
    task_id: int,
    engine: EngineDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """One task's trace: the answer to "why did this task (not) sync?"."""
    trace = await task_trace.trace_task(engine, settings, domain.id or 0, task_id)
    return render(request, "task.html", {"trace": trace, "nav": "audit"}, principal=principal)


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


def _event_filter(request: Request, errors: list[str]) -> audit.EventFilter:
    """The audit filters from the query string; bad values are listed in ``errors``."""
    query = request.query_params
    try:
        since, until = _when(query.get("since")), _when(query.get("until"))
    except ValueError:
        since = until = None
        errors.append("Dates must look like 2026-01-31T14:00.")
    task_raw = query.get("pf_task_id", "").strip()
    if task_raw and _int(task_raw) is None:
        errors.append("The PeopleForce task id is a number.")
    return audit.EventFilter(
        domain_id=_int(query.get("domain_id")),
        pf_task_id=_int(task_raw),
        jira_issue_key=query.get("jira_issue_key", "").strip() or None,
        event_type=query.get("event_type") or None,
        actor=query.get("actor", "").strip() or None,
        since=since,
        until=until,
    )


@router.get("/admin/audit")
def audit_page(request: Request, principal: PageUser, db: SessionDep) -> HTMLResponse:
    """The audit log with filters, newest first."""
    errors: list[str] = []
    filters = _event_filter(request, errors)
    page = _int(request.query_params.get("page")) or 1
    collapse = request.query_params.get("collapse", "1") != "0"
    if collapse:
        rows, total = audit.list_event_groups(db, filters, page, PAGE_SIZE)
    else:
        events, total = audit.list_events(db, filters, page, PAGE_SIZE)
        rows = [audit.EventGroup(e, 1, e.created_at) for e in events]
    known = domains.list_domains(db)
    return render(
        request,
        "audit.html",
        {
            "rows": rows,
            "collapse": collapse,
            "filters": filters,
            "raw": {
                "since": request.query_params.get("since", ""),
                "until": request.query_params.get("until", ""),
            },
            "domains": known,
            "domain_names": {d.id: d.name for d in known},
            "event_types": [t.value for t in EventType],
            "error_types": {t.value for t in audit.ERROR_EVENTS},
            "errors": errors,
            "nav": "audit",
            **_pager(request, page, total),
        },
        principal=principal,
        status_code=422 if errors else 200,
    )


@router.get("/admin/dead-letters")
def dead_letters_page(request: Request, principal: PageUser, db: SessionDep) -> HTMLResponse:
    """Dead letters in one state (default: open), with Replay and Discard."""
    query = request.query_params
    state = query.get("state", dead_letters.OPEN)
    if state not in dead_letters.DEAD_LETTER_STATES:
        state = dead_letters.OPEN
    domain_id = _int(query.get("domain_id"))
    page = _int(query.get("page")) or 1
    letters, total = dead_letters.list_dead_letters(
        db, domain_id=domain_id, state=state, page=page, page_size=PAGE_SIZE
    )
    known = domains.list_domains(db)
    return render(
        request,
        "dead_letters.html",
        {
            "letters": letters,
            "domains": known,
            "domain_names": {d.id: d.name for d in known},
            "domain_id": domain_id,
            "state": state,
            "states": dead_letters.DEAD_LETTER_STATES,
            "dead_letter_state": dead_letters.dead_letter_state,
            "message": None,
            "nav": "dead-letters",
            **_pager(request, page, total),
        },
        principal=principal,
    )


def _row_context(session: Session, letter_id: int) -> dict[str, Any]:
    return {
        "letter": dead_letters.get_dead_letter(session, letter_id),
        "domain_names": {d.id: d.name for d in domains.list_domains(session)},
        "dead_letter_state": dead_letters.dead_letter_state,
    }


def _row(
    request: Request, principal: Principal, context: dict[str, Any], ok: bool, message: str
) -> Response:
    """The letter's row with the outcome (htmx); 409 when it was refused."""
    return render(
        request,
        "partials/dead_letter_row.html",
        {**context, "ok": ok, "message": message},
        principal=principal,
        status_code=200 if ok else 409,
    )


@router.post("/admin/dead-letters/{letter_id}/discard")
def discard_dead_letter(
    request: Request, principal: PageWriter, letter_id: int, db: SessionDep
) -> Response:
    """Close the letter without replaying it (audited), or say why it cannot be."""
    try:
        dead_letters.discard_dead_letter(db, letter_id)
    except Conflict as refused:
        if not is_htmx(request):
            raise
        db.rollback()
        return _row(request, principal, _row_context(db, letter_id), False, str(refused))
    if not is_htmx(request):
        return RedirectResponse("/admin/dead-letters", status_code=303)
    return _row(request, principal, _row_context(db, letter_id), True, "Discarded.")


@router.post("/admin/dead-letters/{letter_id}/replay")
async def replay_dead_letter(
    request: Request, principal: PageWriter, letter_id: int, engine: EngineDep, redis: RedisDep
) -> Response:
    """Queue a replay of the letter, or say why it cannot be."""
    try:
        result = await actions.replay_dead_letter(engine, redis, letter_id)
        ok, message = result.ok, result.message
    except Conflict as refused:
        if not is_htmx(request):
            raise
        ok, message = False, str(refused)
    if not is_htmx(request):
        return RedirectResponse("/admin/dead-letters", status_code=303)
    context = await in_session(engine, lambda s: _row_context(s, letter_id))
    return _row(request, principal, context, ok, message)
