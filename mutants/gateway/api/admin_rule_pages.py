"""Admin UI pages for routing rules: list in evaluation order, editor, reorder, Jira check."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from gateway import admin_service
from gateway.admin_schemas import RuleIn
from gateway.api.admin_auth import (
    Principal,
    page_user,
    page_writer,
    request_engine,
    request_rule_checks,
)
from gateway.api.admin_forms import describe_errors, rule_form_values, rule_payload
from gateway.api.templating import is_htmx, redirect, render
from gateway.db import session_scope
from gateway.models import DomainConfig, FieldMapping, MappingKind, RoutingRule
from gateway.sync.routing import Op

router = APIRouter(include_in_schema=False)

OPS = [op.value for op in Op]
KINDS = [kind.value for kind in MappingKind]


def _rules_table(
    request: Request,
    principal: Principal,
    domain_id: int,
    *,
    ok: bool = True,
    message: str | None = None,
) -> Response:
    """The rules table alone (htmx), or a redirect to the rules page (plain form)."""
    if not is_htmx(request):
        return RedirectResponse(f"/admin/domains/{domain_id}/rules", status_code=303)
    with Session(request_engine(request)) as db:
        rules = admin_service.rules_with_mappings(db, domain_id)
    return render(
        request,
        "partials/rules_table.html",
        {"rules": rules, "ok": ok, "message": message, "check_status": admin_service.check_status},
        principal=principal,
    )


@router.get("/admin/domains/{domain_id}/rules")
def rules_page(
    request: Request, domain_id: int, principal: Principal = Depends(page_user)
) -> HTMLResponse:
    with Session(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
        rules = admin_service.rules_with_mappings(db, domain_id)
    return render(
        request,
        "rules.html",
        {
            "domain": domain,
            "rules": rules,
            "message": None,
            "ok": True,
            "nav": "domains",
            "check_status": admin_service.check_status,
        },
        principal=principal,
    )


def _rule_form(
    request: Request,
    principal: Principal,
    *,
    domain: DomainConfig,
    rule: RoutingRule | None,
    form: dict,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "rule_form.html",
        {
            "domain": domain,
            "rule": rule,
            "form": form,
            "errors": errors or [],
            "ops": OPS,
            "kinds": KINDS,
            "nav": "domains",
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/admin/domains/{domain_id}/rules/new")
def new_rule_page(
    request: Request, domain_id: int, principal: Principal = Depends(page_user)
) -> HTMLResponse:
    with Session(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
    return _rule_form(request, principal, domain=domain, rule=None, form=rule_form_values())


def _save_errors(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return describe_errors(error)[0]
    if isinstance(error, admin_service.RuleInvalid):
        return error.problems
    return [str(error)]


@router.post("/admin/domains/{domain_id}/rules")
async def create_rule(
    request: Request, domain_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    payload = rule_payload(await request.form())
    with session_scope(request_engine(request)) as db:
        domain = admin_service.get_domain(db, domain_id)
        try:
            rule = admin_service.create_rule(db, domain, RuleIn.model_validate(payload))
            admin_service.mark_check_pending(db, rule)
        except (ValidationError, admin_service.RuleInvalid) as error:
            db.rollback()
            return _rule_form(
                request,
                principal,
                domain=domain,
                rule=None,
                form=rule_form_values(payload),
                errors=_save_errors(error),
                status_code=422,
            )
    request_rule_checks(request).schedule(rule.id or 0)
    return redirect(request, f"/admin/domains/{domain_id}/rules?notice=rule-created")


@router.get("/admin/rules/{rule_id}")
def edit_rule_page(
    request: Request, rule_id: int, principal: Principal = Depends(page_user)
) -> HTMLResponse:
    with Session(request_engine(request)) as db:
        rule = admin_service.get_rule(db, rule_id)
        mappings: list[FieldMapping] = admin_service.rule_mappings(db, rule_id)
        domain = admin_service.get_domain(db, rule.domain_id)
    return _rule_form(
        request,
        principal,
        domain=domain,
        rule=rule,
        form=rule_form_values(rule=rule, mappings=mappings),
    )


@router.post("/admin/rules/{rule_id}")
async def update_rule(
    request: Request, rule_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    payload = rule_payload(await request.form())
    with session_scope(request_engine(request)) as db:
        rule = admin_service.get_rule(db, rule_id)
        domain = admin_service.get_domain(db, rule.domain_id)
        try:
            admin_service.update_rule(db, rule, RuleIn.model_validate(payload))
            admin_service.mark_check_pending(db, rule)
        except (ValidationError, admin_service.RuleInvalid) as error:
            db.rollback()
            return _rule_form(
                request,
                principal,
                domain=domain,
                rule=rule,
                form=rule_form_values(payload),
                errors=_save_errors(error),
                status_code=422,
            )
        domain_id = domain.id
    request_rule_checks(request).schedule(rule_id)
    return redirect(request, f"/admin/domains/{domain_id}/rules?notice=rule-saved")


@router.post("/admin/rules/{rule_id}/delete")
async def delete_rule(
    request: Request, rule_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    with session_scope(request_engine(request)) as db:
        rule = admin_service.get_rule(db, rule_id)
        domain_id, name = rule.domain_id, rule.name
        admin_service.delete_rule(db, rule)
    return _rules_table(request, principal, domain_id, message=f"Rule {name!r} deleted.")


async def _move(request: Request, rule_id: int, offset: int, principal: Principal) -> Response:
    with session_scope(request_engine(request)) as db:
        rule = admin_service.get_rule(db, rule_id)
        domain_id, name = rule.domain_id, rule.name
        admin_service.move_rule(db, rule, offset)
    where = "up" if offset < 0 else "down"
    return _rules_table(request, principal, domain_id, message=f"Moved {name!r} {where}.")


@router.post("/admin/rules/{rule_id}/move-up")
async def move_rule_up(
    request: Request, rule_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    return await _move(request, rule_id, -1, principal)


@router.post("/admin/rules/{rule_id}/move-down")
async def move_rule_down(
    request: Request, rule_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    return await _move(request, rule_id, 1, principal)


@router.post("/admin/rules/{rule_id}/validate")
async def validate_rule(
    request: Request, rule_id: int, principal: Principal = Depends(page_writer)
) -> Response:
    """Start a check against Jira's create screen; the badge polls for its outcome."""
    with session_scope(request_engine(request)) as db:
        rule = admin_service.get_rule(db, rule_id)
        domain_id, name = rule.domain_id, rule.name
        admin_service.mark_check_pending(db, rule)
    request_rule_checks(request).schedule(rule_id)
    return _rules_table(request, principal, domain_id, message=f"Checking {name!r} against Jira.")


@router.get("/admin/fragments/condition-row")
def condition_row(request: Request, principal: Principal = Depends(page_user)) -> HTMLResponse:
    return render(
        request,
        "partials/condition_row.html",
        {"c": {"path": "", "op": Op.EQUALS.value, "value": ""}, "ops": OPS},
        principal=principal,
    )


@router.get("/admin/fragments/mapping-row")
def mapping_row(request: Request, principal: Principal = Depends(page_user)) -> HTMLResponse:
    return render(
        request,
        "partials/mapping_row.html",
        {"m": {"jira_field": "", "kind": MappingKind.TEMPLATE.value, "value": ""}, "kinds": KINDS},
        principal=principal,
    )
