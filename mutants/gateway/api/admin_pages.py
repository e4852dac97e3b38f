"""Admin UI pages: dashboard, domains and their on-demand actions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from gateway import admin_actions, admin_service
from gateway.admin_schemas import ActionResult, DomainCreate, DomainOut, DomainUpdate
from gateway.api.admin_auth import Principal, page_user, page_writer, request_engine
from gateway.api.admin_forms import (
    describe_errors,
    domain_form_values,
    domain_payload,
)
from gateway.api.templating import is_htmx, redirect, render
from gateway.db import session_scope
from gateway.heartbeat import HEARTBEAT_TTL_SECONDS
from gateway.jobs import QUEUE_NAME
from gateway.observe import read_runtime
from gateway.settings import Settings

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root(_: Principal = Depends(page_user)) -> Response:
    return RedirectResponse("/admin", status_code=303)


@dataclass(frozen=True)
class WorkersPanel:
    """The dashboard's view of the queue and the workers, read from Redis alone."""

    workers: list[tuple[str, float]]
    queued: int | None
    window_seconds: int
    error: str | None = None

    @property
    def stale(self) -> bool:
        """No worker has beaten within the window (or Redis could not say)."""
        return not any(age <= self.window_seconds for _, age in self.workers)


async def _workers_panel(request: Request) -> WorkersPanel:
    settings: Settings = request.app.state.settings
    window = settings.ready_worker_max_age_seconds or HEARTBEAT_TTL_SECONDS
    try:
        runtime = await read_runtime(request.app.state.redis, QUEUE_NAME)
    except Exception as error:
        return WorkersPanel([], None, window, f"Redis unreachable: {type(error).__name__}")
    now = time.time()
    return WorkersPanel(
        [(w.worker_id, w.age(now)) for w in runtime.workers], runtime.queued, window
    )


def _stats(request: Request) -> list[admin_service.DomainStats]:
    with Session(request_engine(request)) as db:
        return admin_service.dashboard_stats(db)


async def _dashboard_context(request: Request) -> dict[str, object]:
    stats = await run_in_threadpool(_stats, request)
    return {"stats": stats, "runtime": await _workers_panel(request), "now": datetime.now(UTC)}


@router.get("/admin")
async def dashboard(request: Request, principal: Principal = Depends(page_user)) -> HTMLResponse:
    context = await _dashboard_context(request)
    return render(request, "dashboard.html", {**context, "nav": "dashboard"}, principal=principal)


@router.get("/admin/fragments/dashboard")
async def dashboard_fragment(
    request: Request, principal: Principal = Depends(page_user)
) -> HTMLResponse:
    """The cards alone, polled by the dashboard every few seconds."""
    context = await _dashboard_context(request)
    return render(request, "partials/dashboard_cards.html", context, principal=principal)


@router.get("/admin/domains")
def domains_page(request: Request, principal: Principal = Depends(page_user)) -> HTMLResponse:
    with Session(request_engine(request)) as db:
        domains = [DomainOut.of(d) for d in admin_service.list_domains(db)]
    return render(
        request, "domains.html", {"domains": domains, "nav": "domains"}, principal=principal
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


@router.get("/admin/domains/new")
def new_domain_page(request: Request, principal: Principal = Depends(page_user)) -> HTMLResponse:
    return _domain_form(request, principal, domain=None, form=domain_form_values())


@router.post("/admin/domains")
async def create_domain(request: Request, principal: Principal = Depends(page_writer)) -> Response:
    form = await request.form()
    try:
        data = DomainCreate.model_validate(domain_payload(form, updating=False))
        with session_scope(request_engine(request)) as db:
            domain_id = admin_service.create_domain(db, data).id
    except ValidationError as error:
        lines, by_field = describe_errors(error)
        return _domain_form(
            request,
            principal,
            domain=None,
            form=domain_form_values(form),
            errors=lines,
            errors_by_field=by_field,
            status_code=422,
        )
    except admin_service.Conflict as error:
        return _domain_form(
            request,
            principal,
            domain=None,
            form=domain_form_values(form),
            errors=[str(error)],
            errors_by_field={"name": str(error)},
            status_code=409,
        )
    return redirect(request, f"/admin/domains/{domain_id}?notice=domain-created")


@router.get("/admin/domains/{domain_id}")
def edit_domain_page(
    request: Request, domain_id: int, principal: Principal = Depends(page_user)
) -> HTMLResponse:
    with Session(request_engine(request)) as db:
        domain = DomainOut.of(admin_service.get_domain(db, domain_id))
    return _domain_form(request, principal, domain=domain, form=domain_form_values(domain=domain))


@router.post("/admin/domains/{domain_id}")
async def update_domain(
    request: Request, domain_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    form = await request.form()
    with session_scope(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
        current = DomainOut.of(domain)
        try:
            data = DomainUpdate.model_validate(domain_payload(form, updating=True))
            admin_service.update_domain(db, domain, data)
        except ValidationError as error:
            db.rollback()
            lines, by_field = describe_errors(error)
            return _domain_form(
                request,
                principal,
                domain=current,
                form=domain_form_values(form),
                errors=lines,
                errors_by_field=by_field,
                status_code=422,
            )
        except admin_service.Conflict as error:
            db.rollback()
            return _domain_form(
                request,
                principal,
                domain=current,
                form=domain_form_values(form),
                errors=[str(error)],
                errors_by_field={"name": str(error)},
                status_code=409,
            )
    return redirect(request, f"/admin/domains/{domain_id}?notice=domain-saved")


async def _set_active(
    request: Request, domain_id: int, active: bool, principal: Principal
) -> Response:
    with session_scope(request_engine(request)) as db:
        domain = admin_service.set_domain_active(
            db, admin_service.get_domain(db, domain_id), active
        )
        out = DomainOut.of(domain)
    if not is_htmx(request):
        return RedirectResponse(f"/admin/domains/{domain_id}", status_code=303)
    message = "Resumed: syncing on the next tick." if active else "Paused: no further ticks."
    return render(
        request,
        "partials/domain_state.html",
        {"domain": out, "state_message": message},
        principal=principal,
    )


@router.post("/admin/domains/{domain_id}/pause")
async def pause_domain(
    request: Request, domain_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    return await _set_active(request, domain_id, False, principal)


@router.post("/admin/domains/{domain_id}/resume")
async def resume_domain(
    request: Request, domain_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    return await _set_active(request, domain_id, True, principal)


def _action_result(
    request: Request, domain_id: int, result: ActionResult, principal: Principal
) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/admin/domains/{domain_id}", status_code=303)
    return render(
        request,
        "partials/notice.html",
        {"ok": result.ok, "message": result.message},
        principal=principal,
    )


def _require_domain(request: Request, domain_id: int) -> None:
    with Session(request_engine(request)) as db:
        admin_service.get_domain(db, domain_id)


@router.post("/admin/domains/{domain_id}/tick")
async def tick_now(
    request: Request, domain_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    _require_domain(request, domain_id)
    result = await admin_actions.run_tick_now(request.app.state.redis, domain_id)
    return _action_result(request, domain_id, result, principal)


@router.post("/admin/domains/{domain_id}/sweep")
async def sweep_now(
    request: Request, domain_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    _require_domain(request, domain_id)
    result = await admin_actions.run_sweep_now(request.app.state.redis, domain_id)
    return _action_result(request, domain_id, result, principal)


@router.post("/admin/domains/{domain_id}/test-connection")
async def test_connection(
    request: Request, domain_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    result = await admin_actions.check_connection(
        request_engine(request), request.app.state.settings, domain_id
    )
    return _action_result(request, domain_id, result, principal)
