"""The JSON admin API (``/api/v1/admin``): bearer tokens for scripts, sessions for the UI.

A path's ``{domain}`` is a domain id or name (see ``gateway.admin.domains.find_domain``).
Routes that only touch the database are plain ``def`` (run in the thread pool); the
others await Redis or the upstreams and reach the database through the offload seam
(see ``deps``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session

from gateway.admin import actions, audit, dead_letters, domains, rules, task_trace
from gateway.admin.connection import check_connection
from gateway.admin.paging import MAX_PAGE_SIZE
from gateway.admin.preview import preview_routing
from gateway.admin.rule_checks import validate_rule_against_jira
from gateway.admin.schemas import (
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
from gateway.api.admin.deps import (
    DeadLetterDep,
    DomainDep,
    DomainSnapshotDep,
    EngineDep,
    PageUser,
    Reader,
    RedisDep,
    RuleChecksDep,
    RuleDep,
    SessionDep,
    SettingsDep,
    Writer,
)
from gateway.api.admin.templating import render
from gateway.db import in_session

PREFIX = "/api/v1/admin"
router = APIRouter(prefix=PREFIX, tags=["admin"])
PageNumber = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


def _rule_out(db: Session, rule_id: int) -> RuleOut:
    rule = rules.get_rule(db, rule_id)
    return RuleOut.of(rule, rules.rule_mappings(db, rule_id))


def _rules_out(db: Session, domain_id: int) -> list[RuleOut]:
    return [RuleOut.of(r, m) for r, m in rules.rules_with_mappings(db, domain_id)]


@router.get("/me")
def me(principal: Reader) -> dict[str, str]:
    """Who the credentials belong to and their role: a quick way to check a token."""
    return {"kind": principal.kind, "name": principal.name, "role": principal.role.value}


# --- domains ---------------------------------------------------------------------------


@router.get("/domains")
def list_domains(_: Reader, db: SessionDep) -> list[DomainOut]:
    """Every domain, by name; credentials only as ``*_set`` flags."""
    return [DomainOut.of(d) for d in domains.list_domains(db)]


@router.post("/domains", status_code=status.HTTP_201_CREATED)
def create_domain(_: Writer, body: DomainCreate, db: SessionDep) -> DomainOut:
    """Credentials are write-only: the response says whether each one is set."""
    return DomainOut.of(domains.create_domain(db, body))


@router.get("/domains/{domain}")
def get_domain(_: Reader, domain: DomainDep) -> DomainOut:
    """One domain by id or name."""
    return DomainOut.of(domain)


@router.patch("/domains/{domain}")
def update_domain(_: Writer, domain: DomainDep, body: DomainUpdate, db: SessionDep) -> DomainOut:
    """Only the fields sent change; send a secret as "" to remove it."""
    return DomainOut.of(domains.update_domain(db, domain, body))


@router.delete("/domains/{domain}")
def delete_domain(_: Writer, domain: DomainDep, db: SessionDep) -> dict[str, Any]:
    """Delete the domain with its rules, mappings (sync state) and dead letters.

    The issues in Jira and the tasks in PeopleForce are left alone; the audit log
    is kept and records the deletion. The answer counts what was removed.
    """
    summary = domains.delete_domain(db, domain)
    return {"deleted": True, **asdict(summary), "consequences": summary.consequences()}


@router.post("/domains/{domain}/pause")
def pause_domain(_: Writer, domain: DomainDep, db: SessionDep) -> DomainOut:
    """No further ticks until resumed (from the scheduler's next pass)."""
    return DomainOut.of(domains.set_domain_active(db, domain, False))


@router.post("/domains/{domain}/resume")
def resume_domain(_: Writer, domain: DomainDep, db: SessionDep) -> DomainOut:
    """Ticks start again on the scheduler's next pass."""
    return DomainOut.of(domains.set_domain_active(db, domain, True))


@router.post("/domains/{domain}/tick", status_code=status.HTTP_202_ACCEPTED)
async def tick_now(_: Writer, domain: DomainSnapshotDep, redis: RedisDep) -> ActionResult:
    """Queue a forward tick now (also of a paused domain)."""
    return await actions.run_tick_now(redis, domain.id or 0)


@router.post("/domains/{domain}/sweep", status_code=status.HTTP_202_ACCEPTED)
async def sweep_now(_: Writer, domain: DomainSnapshotDep, redis: RedisDep) -> ActionResult:
    """Queue the zombie sweep now."""
    return await actions.run_sweep_now(redis, domain.id or 0)


@router.post("/domains/{domain}/test-connection")
async def test_connection(
    _: Writer, domain: DomainSnapshotDep, settings: SettingsDep
) -> ActionResult:
    """Read-only calls to PeopleForce and Jira with the stored credentials."""
    return await check_connection(settings, domain)


@router.get("/domains/{domain}/tasks/{task_id}")
async def trace_task(
    _: Reader, domain: DomainSnapshotDep, task_id: int, engine: EngineDep, settings: SettingsDep
) -> dict[str, Any]:
    """Why a task did (not) sync: routing now, sync state, Jira issue, event history.

    Lists PeopleForce's tasks to find it (there is no single-task endpoint); writes nothing.
    """
    trace = await task_trace.trace_task(engine, settings, domain.id or 0, task_id)
    return trace.as_json()


# --- rules -----------------------------------------------------------------------------


@router.get("/domains/{domain}/rules")
def list_rules(_: Reader, domain: DomainDep, db: SessionDep) -> list[RuleOut]:
    """In evaluation order."""
    return _rules_out(db, domain.id or 0)


def _create_rule(db: Session, domain_id: int, body: RuleIn) -> RuleOut:
    rule = rules.create_rule(db, domains.get_domain(db, domain_id), body)
    rules.mark_check_pending(db, rule)
    return _rule_out(db, rule.id or 0)


@router.post("/domains/{domain}/rules", status_code=status.HTTP_201_CREATED)
async def create_rule(
    _: Writer,
    domain: DomainSnapshotDep,
    body: RuleIn,
    engine: EngineDep,
    checks: RuleChecksDep,
) -> RuleOut:
    """Without a priority the rule goes last. A check against Jira starts in the
    background once the rule is saved: ``validation_status`` is "pending" until it
    reports."""
    domain_id = domain.id or 0
    out = await in_session(engine, lambda db: _create_rule(db, domain_id, body))
    checks.schedule(out.id)
    return out


@router.post("/domains/{domain}/rules/reorder")
def reorder_rules(_: Writer, domain: DomainDep, body: RuleReorder, db: SessionDep) -> list[RuleOut]:
    """Renumber the priorities in the order given; every rule must be listed once."""
    rules.reorder_rules(db, domain.id or 0, body.rule_ids)
    return _rules_out(db, domain.id or 0)


@router.post("/domains/{domain}/rules/preview")
async def preview_rules(
    _: Writer, domain: DomainSnapshotDep, engine: EngineDep, settings: SettingsDep
) -> list[dict[str, Any]]:
    """Dry run: how the open PeopleForce tasks would be routed now. Writes nothing."""
    rows = await preview_routing(engine, settings, domain.id or 0)
    return [asdict(row) for row in rows]


@router.get("/rules/{rule_id}")
def get_rule(_: Reader, rule: RuleDep, db: SessionDep) -> RuleOut:
    """One rule with its conditions, mappings and the state of its Jira check."""
    return RuleOut.of(rule, rules.rule_mappings(db, rule.id or 0))


def _update_rule(db: Session, rule_id: int, body: RuleIn) -> RuleOut:
    rule = rules.get_rule(db, rule_id)
    rules.update_rule(db, rule, body)
    rules.mark_check_pending(db, rule)
    return _rule_out(db, rule_id)


@router.put("/rules/{rule_id}")
async def update_rule(
    _: Writer, rule_id: int, body: RuleIn, engine: EngineDep, checks: RuleChecksDep
) -> RuleOut:
    """Replaces the rule's conditions and mappings; priority is kept unless given.
    The Jira check runs again in the background, as after a create."""
    out = await in_session(engine, lambda db: _update_rule(db, rule_id, body))
    checks.schedule(rule_id)
    return out


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(_: Writer, rule: RuleDep, db: SessionDep) -> Response:
    """Delete a rule and its mappings."""
    rules.delete_rule(db, rule)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/rules/{rule_id}/validate")
async def validate_rule(
    _: Writer, rule_id: int, engine: EngineDep, settings: SettingsDep
) -> ActionResult:
    """Check target project, issue type and mapped fields against Jira's createmeta."""
    return await validate_rule_against_jira(engine, settings, rule_id)


# --- audit log and dead letters ----------------------------------------------------------


@router.get("/events")
def list_events(
    _: Reader,
    db: SessionDep,
    filters: Annotated[audit.EventFilter, Depends()],
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[EventOut]:
    """The audit log, newest first."""
    found, total = audit.list_events(db, filters, page, page_size)
    return Page[EventOut](
        items=[EventOut.of(e) for e in found], total=total, page=page, page_size=page_size
    )


@router.get("/dead-letters")
def list_dead_letters(
    _: Reader,
    db: SessionDep,
    domain_id: int | None = None,
    state: Annotated[str, Query(pattern="^(open|replayed|discarded|all)$")] = "open",
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[DeadLetterOut]:
    """Dead letters in one state (default: open), newest first."""
    letters, total = dead_letters.list_dead_letters(
        db, domain_id=domain_id, state=state, page=page, page_size=page_size
    )
    return Page[DeadLetterOut](
        items=[DeadLetterOut.of(x) for x in letters], total=total, page=page, page_size=page_size
    )


@router.get("/dead-letters/{letter_id}")
def get_dead_letter(_: Reader, letter: DeadLetterDep) -> DeadLetterOut:
    """One dead letter with its payload and the upstream's error."""
    return DeadLetterOut.of(letter)


@router.post("/dead-letters/{letter_id}/discard")
def discard_dead_letter(_: Writer, letter_id: int, db: SessionDep) -> DeadLetterOut:
    """Close an open letter without replaying it (audited); 409 if it is already closed."""
    return DeadLetterOut.of(dead_letters.discard_dead_letter(db, letter_id))


@router.post("/dead-letters/{letter_id}/replay", status_code=status.HTTP_202_ACCEPTED)
async def replay_dead_letter(
    _: Writer, letter_id: int, engine: EngineDep, redis: RedisDep
) -> ActionResult:
    """Queue a replay of an open letter; 409 if it is already closed."""
    return await actions.replay_dead_letter(engine, redis, letter_id)


# --- documentation (authenticated, unlike FastAPI's defaults) ------------------------------

docs_router = APIRouter(prefix=PREFIX, include_in_schema=False)


@docs_router.get("/openapi.json")
def openapi_schema(request: Request, _: Reader) -> JSONResponse:
    """The admin API's OpenAPI schema, for signed-in admins and token holders."""
    app = request.app
    schema = get_openapi(
        title=f"{app.title}: admin API",
        version=app.version,
        description="Authenticate with `Authorization: Bearer <token>` "
        "(create one with `gateway admin create-token NAME`).",
        routes=app.routes,
    )
    # Every admin API route the app serves, not only this module's: routers elsewhere
    # (webhook secrets, ...) share the prefix. The webhook ingress is not admin API.
    schema["paths"] = {
        path: item for path, item in schema.get("paths", {}).items() if path.startswith(PREFIX)
    }
    return JSONResponse(schema)


@docs_router.get("/docs")
def swagger_ui(request: Request, principal: PageUser) -> HTMLResponse:
    """Swagger UI over the schema above."""
    response = render(request, "docs.html", principal=principal)
    # Swagger UI sets inline styles; everything else stays as strict as the rest of the UI.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return response
