"""Admin UI pages: dashboard, domains and their on-demand actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from arq.connections import ArqRedis
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from gateway.admin import actions, domains
from gateway.admin.connection import check_connection
from gateway.admin.dashboard import dashboard_stats, database_panel, workers_panel
from gateway.admin.errors import Conflict, CredentialRequired
from gateway.admin.schemas import ActionResult, DomainCreate, DomainOut, DomainUpdate
from gateway.api.admin.deps import (
    DomainDep,
    DomainSnapshotDep,
    EngineDep,
    FormDep,
    PageAdmin,
    PageUser,
    PageWriter,
    Principal,
    RedisDep,
    SessionDep,
    SettingsDep,
)
from gateway.api.admin.forms import describe_errors, domain_form_values, domain_payload
from gateway.api.admin.templating import is_htmx, redirect, render
from gateway.db import in_session, run_blocking
from gateway.settings import Settings

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root(_: PageUser) -> Response:
    """The admin UI is the only page at the root."""
    return RedirectResponse("/admin", status_code=303)


async def _dashboard_context(
    engine: EngineDep, redis: RedisDep, settings: Settings
) -> dict[str, object]:
    stats = await in_session(engine, dashboard_stats)
    runtime = await workers_panel(redis, settings)
    database = await run_blocking(engine, database_panel, engine, settings)
    return {"stats": stats, "runtime": runtime, "database": database, "now": datetime.now(UTC)}


@router.get("/admin")
async def dashboard(
    request: Request, principal: PageUser, engine: EngineDep, redis: RedisDep, settings: SettingsDep
) -> HTMLResponse:
    """Per-domain cards, the workers and the queue."""
    context = await _dashboard_context(engine, redis, settings)
    return render(request, "dashboard.html", {**context, "nav": "dashboard"}, principal=principal)


@router.get("/admin/fragments/dashboard")
async def dashboard_fragment(
    request: Request, principal: PageUser, engine: EngineDep, redis: RedisDep, settings: SettingsDep
) -> HTMLResponse:
    """The cards alone, polled by the dashboard every few seconds."""
    context = await _dashboard_context(engine, redis, settings)
    return render(request, "partials/dashboard_cards.html", context, principal=principal)


@router.get("/admin/domains")
def domains_page(request: Request, principal: PageUser, db: SessionDep) -> HTMLResponse:
    """Every domain with its state."""
    found = [DomainOut.of(d) for d in domains.list_domains(db)]
    return render(
        request, "domains.html", {"domains": found, "nav": "domains"}, principal=principal
    )


def _domain_form(
    request: Request,
    principal: Principal,
    *,
    domain: DomainOut | None,
    form: dict[str, str],
    errors: list[str] | None = None,
    errors_by_field: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "domain_form.html",
        {
            "domain": domain,
            "form": form,
            "errors": errors or [],
            "errors_by_field": errors_by_field or {},
            "nav": "domains",
            "state_message": None,
        },
        principal=principal,
        status_code=status_code,
    )


def _refused_form(
    request: Request,
    principal: Principal,
    domain: DomainOut | None,
    form: FormDep,
    error: Exception,
) -> HTMLResponse:
    """The form again with what was typed and why it was refused (422 or 409)."""
    if isinstance(error, ValidationError):
        lines, by_field = describe_errors(error)
        status_code = 422
    elif isinstance(error, CredentialRequired):
        lines, by_field, status_code = [str(error)], {error.field: str(error)}, 422
    else:
        lines, by_field, status_code = [str(error)], {"name": str(error)}, 409
    return _domain_form(
        request,
        principal,
        domain=domain,
        form=domain_form_values(form),
        errors=lines,
        errors_by_field=by_field,
        status_code=status_code,
    )


@router.get("/admin/domains/new")
def new_domain_page(request: Request, principal: PageUser) -> HTMLResponse:
    """An empty domain form with the defaults filled in."""
    return _domain_form(request, principal, domain=None, form=domain_form_values())


@router.post("/admin/domains")
def create_domain(
    request: Request, principal: PageWriter, form: FormDep, db: SessionDep
) -> Response:
    """Create the domain, or show the form again with the problems."""
    try:
        data = DomainCreate.model_validate(domain_payload(form, updating=False))
        domain_id = domains.create_domain(db, data).id
    except (ValidationError, Conflict) as error:
        return _refused_form(request, principal, None, form, error)
    return redirect(request, f"/admin/domains/{domain_id}?notice=domain-created")


@router.get("/admin/domains/{domain}")
def edit_domain_page(request: Request, principal: PageUser, domain: DomainDep) -> HTMLResponse:
    """The domain's settings, state and actions."""
    shown = DomainOut.of(domain)
    return _domain_form(request, principal, domain=shown, form=domain_form_values(domain=shown))


@router.post("/admin/domains/{domain}")
def update_domain(
    request: Request, principal: PageWriter, domain: DomainDep, form: FormDep, db: SessionDep
) -> Response:
    """Save the form; blank secrets keep the stored ones."""
    current = DomainOut.of(domain)
    try:
        data = DomainUpdate.model_validate(domain_payload(form, updating=True))
        domains.update_domain(db, domain, data)
    except (ValidationError, Conflict) as error:
        db.rollback()
        return _refused_form(request, principal, current, form, error)
    return redirect(request, f"/admin/domains/{current.id}?notice=domain-saved")


@router.get("/admin/domains/{domain}/delete")
def delete_domain_page(
    request: Request, principal: PageAdmin, domain: DomainDep, db: SessionDep
) -> HTMLResponse:
    """What deleting the domain removes and keeps, with the button that does it."""
    summary = domains.describe_deletion(db, domain)
    return render(
        request,
        "domain_delete.html",
        {"summary": summary, "nav": "domains"},
        principal=principal,
    )


@router.post("/admin/domains/{domain}/delete")
def delete_domain(
    request: Request, principal: PageWriter, domain: DomainDep, db: SessionDep
) -> Response:
    """Delete the domain (the confirmation page's button); Jira is not touched."""
    domains.delete_domain(db, domain)
    return redirect(request, "/admin/domains?notice=domain-deleted")


def _set_active(
    request: Request, principal: Principal, domain: DomainDep, db: SessionDep, active: bool
) -> Response:
    out = DomainOut.of(domains.set_domain_active(db, domain, active))
    if not is_htmx(request):
        return RedirectResponse(f"/admin/domains/{out.id}", status_code=303)
    message = "Resumed: syncing on the next tick." if active else "Paused: no further ticks."
    return render(
        request,
        "partials/domain_state.html",
        {"domain": out, "state_message": message},
        principal=principal,
    )


@router.post("/admin/domains/{domain}/pause")
def pause_domain(
    request: Request, principal: PageWriter, domain: DomainDep, db: SessionDep
) -> Response:
    """Stop ticking this domain."""
    return _set_active(request, principal, domain, db, False)


@router.post("/admin/domains/{domain}/resume")
def resume_domain(
    request: Request, principal: PageWriter, domain: DomainDep, db: SessionDep
) -> Response:
    """Tick this domain again."""
    return _set_active(request, principal, domain, db, True)


def _action_result(
    request: Request, domain_id: int | None, result: ActionResult, principal: Principal
) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/admin/domains/{domain_id}", status_code=303)
    return render(
        request,
        "partials/notice.html",
        {"ok": result.ok, "message": result.message},
        principal=principal,
    )


def _queue_now_route(job: str, queue: Callable[[ArqRedis, int], Awaitable[ActionResult]]) -> None:
    """The button that queues ``job`` for the domain now (a tick, the zombie sweep)."""

    async def queue_now(
        request: Request, principal: PageWriter, domain: DomainSnapshotDep, redis: RedisDep
    ) -> Response:
        result = await queue(redis, domain.id or 0)
        return _action_result(request, domain.id, result, principal)

    queue_now.__name__ = f"{job}_now"
    router.post(f"/admin/domains/{{domain}}/{job}")(queue_now)


_queue_now_route("tick", actions.run_tick_now)
_queue_now_route("sweep", actions.run_sweep_now)


@router.post("/admin/domains/{domain}/test-connection")
async def test_connection(
    request: Request, principal: PageWriter, domain: DomainSnapshotDep, settings: SettingsDep
) -> Response:
    """One read from each side with the stored credentials."""
    result = await check_connection(settings, domain)
    return _action_result(request, domain.id, result, principal)
