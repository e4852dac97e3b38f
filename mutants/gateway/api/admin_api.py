"""The JSON admin API (``/api/v1/admin``): bearer tokens for scripts, sessions for the UI."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session

from gateway import admin_actions, admin_service
from gateway.admin_schemas import (
    ActionResult,
    DeadLetterOut,
    DomainCreate,
    DomainOut,
    DomainUpdate,
    EventOut,
    Page,
    RuleIn,
    RuleOut,
    RuleReorder,
)
from gateway.api.admin_auth import (
    Principal,
    api_principal,
    api_writer,
    page_user,
    request_engine,
    request_rule_checks,
)
from gateway.api.templating import render
from gateway.db import session_scope

PREFIX = "/api/v1/admin"
router = APIRouter(prefix=PREFIX, tags=["admin"])
Reader = Annotated[Principal, Depends(api_principal)]
Writer = Annotated[Principal, Depends(api_writer)]


def _rule_out(db: Session, rule_id: int) -> RuleOut:
    rule = admin_service.get_rule(db, rule_id)
    return RuleOut.of(rule, admin_service.rule_mappings(db, rule_id))


@router.get("/me")
def me(principal: Reader) -> dict[str, str]:
    """Who the credentials belong to: a quick way to check a token."""
    return {"kind": principal.kind, "name": principal.name}


# --- domains ---------------------------------------------------------------------------


@router.get("/domains")
def list_domains(request: Request, _: Reader) -> list[DomainOut]:
    with Session(request_engine(request)) as db:
        return [DomainOut.of(d) for d in admin_service.list_domains(db)]


@router.post("/domains", status_code=status.HTTP_201_CREATED)
def create_domain(request: Request, body: DomainCreate, _: Writer) -> DomainOut:
    """Credentials are write-only: the response says whether each one is set."""
    with session_scope(request_engine(request)) as db:
        return DomainOut.of(admin_service.create_domain(db, body))


@router.get("/domains/{domain_id}")
def get_domain(request: Request, domain_id: int, _: Reader) -> DomainOut:
    with Session(request_engine(request)) as db:
        return DomainOut.of(admin_service.get_domain(db, domain_id))


@router.patch("/domains/{domain_id}")
def update_domain(request: Request, domain_id: int, body: DomainUpdate, _: Writer) -> DomainOut:
    """Only the fields sent change; send a secret as "" to remove it."""
    with session_scope(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
        return DomainOut.of(admin_service.update_domain(db, domain, body))


@router.post("/domains/{domain_id}/pause")
def pause_domain(request: Request, domain_id: int, _: Writer) -> DomainOut:
    with session_scope(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
        return DomainOut.of(admin_service.set_domain_active(db, domain, False))


@router.post("/domains/{domain_id}/resume")
def resume_domain(request: Request, domain_id: int, _: Writer) -> DomainOut:
    with session_scope(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
        return DomainOut.of(admin_service.set_domain_active(db, domain, True))


def _require_domain(request: Request, domain_id: int) -> None:
    with Session(request_engine(request)) as db:
        admin_service.get_domain(db, domain_id)


@router.post("/domains/{domain_id}/tick", status_code=status.HTTP_202_ACCEPTED)
async def tick_now(request: Request, domain_id: int, _: Writer) -> ActionResult:
    _require_domain(request, domain_id)
    return await admin_actions.run_tick_now(request.app.state.redis, domain_id)


@router.post("/domains/{domain_id}/sweep", status_code=status.HTTP_202_ACCEPTED)
async def sweep_now(request: Request, domain_id: int, _: Writer) -> ActionResult:
    _require_domain(request, domain_id)
    return await admin_actions.run_sweep_now(request.app.state.redis, domain_id)


@router.post("/domains/{domain_id}/test-connection")
async def test_connection(request: Request, domain_id: int, _: Writer) -> ActionResult:
    """Read-only calls to PeopleForce and Jira with the stored credentials."""
    return await admin_actions.check_connection(
        request_engine(request), request.app.state.settings, domain_id
    )


# --- rules -----------------------------------------------------------------------------


@router.get("/domains/{domain_id}/rules")
def list_rules(request: Request, domain_id: int, _: Reader) -> list[RuleOut]:
    """In evaluation order."""
    with Session(request_engine(request)) as db:
        admin_service.get_domain(db, domain_id)
        return [RuleOut.of(r, m) for r, m in admin_service.rules_with_mappings(db, domain_id)]


@router.post("/domains/{domain_id}/rules", status_code=status.HTTP_201_CREATED)
async def create_rule(request: Request, domain_id: int, body: RuleIn, _: Writer) -> RuleOut:
    """Without a priority the rule goes last. A check against Jira starts in the
    background: ``validation_status`` is "pending" until it reports."""
    with session_scope(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
        rule = admin_service.create_rule(db, domain, body)
        admin_service.mark_check_pending(db, rule)
        out = _rule_out(db, rule.id or 0)
    request_rule_checks(request).schedule(out.id)
    return out


@router.post("/domains/{domain_id}/rules/reorder")
def reorder_rules(request: Request, domain_id: int, body: RuleReorder, _: Writer) -> list[RuleOut]:
    with session_scope(request_engine(request)) as db:
        admin_service.get_domain(db, domain_id)
        admin_service.reorder_rules(db, domain_id, body.rule_ids)
        return [RuleOut.of(r, m) for r, m in admin_service.rules_with_mappings(db, domain_id)]


@router.post("/domains/{domain_id}/rules/preview")
async def preview_rules(request: Request, domain_id: int, _: Writer) -> list[dict[str, Any]]:
    """Dry run: how the open PeopleForce tasks would be routed now. Writes nothing."""
    _require_domain(request, domain_id)
    rows = await admin_actions.preview_routing(
        request_engine(request), request.app.state.settings, domain_id
    )
    return [asdict(row) for row in rows]


@router.get("/rules/{rule_id}")
def get_rule(request: Request, rule_id: int, _: Reader) -> RuleOut:
    with Session(request_engine(request)) as db:
        return _rule_out(db, rule_id)


@router.put("/rules/{rule_id}")
async def update_rule(request: Request, rule_id: int, body: RuleIn, _: Writer) -> RuleOut:
    """Replaces the rule's conditions and mappings; priority is kept unless given.
    The Jira check runs again in the background, as after a create."""
    with session_scope(request_engine(request)) as db:
        rule = admin_service.get_rule(db, rule_id)
        admin_service.update_rule(db, rule, body)
        admin_service.mark_check_pending(db, rule)
        out = _rule_out(db, rule_id)
    request_rule_checks(request).schedule(rule_id)
    return out


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(request: Request, rule_id: int, _: Writer) -> Response:
    with session_scope(request_engine(request)) as db:
        admin_service.delete_rule(db, admin_service.get_rule(db, rule_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/rules/{rule_id}/validate")
async def validate_rule(request: Request, rule_id: int, _: Writer) -> ActionResult:
    """Check target project, issue type and mapped fields against Jira's createmeta."""
    return await admin_actions.validate_rule_against_jira(
        request_engine(request), request.app.state.settings, rule_id
    )


# --- audit log and dead letters ----------------------------------------------------------


@router.get("/events")
def list_events(
    request: Request,
    _: Reader,
    domain_id: int | None = None,
    pf_task_id: int | None = None,
    jira_issue_key: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=admin_service.MAX_PAGE_SIZE)] = 50,
) -> Page[EventOut]:
    """The audit log, newest first."""
    filters = admin_service.EventFilter(
        domain_id=domain_id,
        pf_task_id=pf_task_id,
        jira_issue_key=jira_issue_key,
        event_type=event_type,
        since=since,
        until=until,
    )
    with Session(request_engine(request)) as db:
        events, total = admin_service.list_events(db, filters, page, page_size)
    return Page[EventOut](
        items=[EventOut.of(e) for e in events], total=total, page=page, page_size=page_size
    )


@router.get("/dead-letters")
def list_dead_letters(
    request: Request,
    _: Reader,
    domain_id: int | None = None,
    state: Annotated[str, Query(pattern="^(open|replayed|discarded|all)$")] = "open",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=admin_service.MAX_PAGE_SIZE)] = 50,
) -> Page[DeadLetterOut]:
    with Session(request_engine(request)) as db:
        letters, total = admin_service.list_dead_letters(
            db, domain_id=domain_id, state=state, page=page, page_size=page_size
        )
    return Page[DeadLetterOut](
        items=[DeadLetterOut.of(x) for x in letters], total=total, page=page, page_size=page_size
    )


@router.get("/dead-letters/{letter_id}")
def get_dead_letter(request: Request, letter_id: int, _: Reader) -> DeadLetterOut:
    with Session(request_engine(request)) as db:
        return DeadLetterOut.of(admin_service.get_dead_letter(db, letter_id))


@router.post("/dead-letters/{letter_id}/discard")
def discard_dead_letter(request: Request, letter_id: int, _: Writer) -> DeadLetterOut:
    with session_scope(request_engine(request)) as db:
        letter = admin_service.get_dead_letter(db, letter_id)
        return DeadLetterOut.of(admin_service.discard_dead_letter(db, letter))


@router.post("/dead-letters/{letter_id}/replay", status_code=status.HTTP_202_ACCEPTED)
async def replay_dead_letter(request: Request, letter_id: int, _: Writer) -> ActionResult:
    with Session(request_engine(request)) as db:
        letter = admin_service.get_dead_letter(db, letter_id)
        if letter.discarded_at is not None:
            raise admin_service.Conflict("this dead letter was discarded; it cannot be replayed")
    return await admin_actions.replay_dead_letter(request.app.state.redis, letter_id)


# --- documentation (authenticated, unlike FastAPI's defaults) ------------------------------

docs_router = APIRouter(prefix=PREFIX, include_in_schema=False)


@docs_router.get("/openapi.json")
def openapi_schema(request: Request, _: Reader) -> JSONResponse:
    app = request.app
    schema = get_openapi(
        title=f"{app.title}: admin API",
        version=app.version,
        description="Authenticate with `Authorization: Bearer <token>` "
        "(create one with `gateway admin create-token NAME`).",
        routes=router.routes,
    )
    return JSONResponse(schema)


@docs_router.get("/docs")
def swagger_ui(
    request: Request, principal: Annotated[Principal, Depends(page_user)]
) -> HTMLResponse:
    response = render(request, "docs.html", principal=principal)
    # Swagger UI sets inline styles; everything else stays as strict as the rest of the UI.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return response
