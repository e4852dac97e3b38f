"""Admin UI pages for routing rules: list in evaluation order, editor, reorder, Jira check.

Saving a rule starts its check against Jira in the background, on the event loop, so
the saving routes are ``async`` and reach the database through the offload seam; the
rest are plain ``def`` routes (see ``deps``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.admin import domains, rules
from gateway.admin.errors import RuleInvalid
from gateway.admin.rule_checks import RuleChecks
from gateway.admin.schemas import RuleIn
from gateway.api.admin.deps import (
    DomainDep,
    DomainSnapshotDep,
    EngineDep,
    FormDep,
    PageAdmin,
    PageUser,
    PageWriter,
    Principal,
    RuleChecksDep,
    RuleDep,
    SessionDep,
)
from gateway.api.admin.forms import describe_errors, rule_form_values, rule_payload
from gateway.api.admin.templating import is_htmx, redirect, render
from gateway.db import in_session
from gateway.models import DomainConfig, FieldMapping, MappingKind, RoutingRule
from gateway.sync.routing import Op

router = APIRouter(include_in_schema=False)

OPS = [op.value for op in Op]
KINDS = [kind.value for kind in MappingKind]


def _rules_table(
    request: Request,
    principal: Principal,
    domain_id: int,
    listed: list[tuple[RoutingRule, list[FieldMapping]]] | None,
    message: str,
) -> Response:
    """The rules table alone (htmx), or a redirect to the rules page (plain form)."""
    if not is_htmx(request) or listed is None:
        return RedirectResponse(f"/admin/domains/{domain_id}/rules", status_code=303)
    return render(
        request,
        "partials/rules_table.html",
        {"rules": listed, "ok": True, "message": message, "check_status": rules.check_status},
        principal=principal,
    )


@router.get("/admin/domains/{domain}/rules")
def rules_page(
    request: Request, principal: PageUser, domain: DomainDep, db: SessionDep
) -> HTMLResponse:
    """A domain's rules in evaluation order, with their Jira-check badges."""
    return render(
        request,
        "rules.html",
        {
            "domain": domain,
            "rules": rules.rules_with_mappings(db, domain.id or 0),
            "message": None,
            "ok": True,
            "nav": "domains",
            "check_status": rules.check_status,
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


@router.get("/admin/domains/{domain}/rules/new")
def new_rule_page(request: Request, principal: PageUser, domain: DomainDep) -> HTMLResponse:
    """An empty rule editor."""
    return _rule_form(request, principal, domain=domain, rule=None, form=rule_form_values())


def _save_errors(error: ValidationError | RuleInvalid) -> list[str]:
    if isinstance(error, ValidationError):
        return describe_errors(error)[0]
    return error.problems


@dataclass(frozen=True)
class _RuleSaver:
    """What saving a rule from the editor needs besides the rule itself."""

    request: Request
    principal: Principal
    engine: Engine
    checks: RuleChecks

    async def save(
        self,
        save: Callable[[Session], int],
        shown: tuple[DomainConfig, RoutingRule | None],
        payload: dict[str, Any],
        notice: str,
    ) -> Response:
        """Run ``save``; a refused rule shows the form again with the problems (422), a saved
        one is checked against Jira in the background and the browser goes back to the list."""
        domain, rule = shown
        try:
            rule_id = await in_session(self.engine, save)
        except (ValidationError, RuleInvalid) as error:
            return _rule_form(
                self.request,
                self.principal,
                domain=domain,
                rule=rule,
                form=rule_form_values(payload),
                errors=_save_errors(error),
                status_code=422,
            )
        self.checks.schedule(rule_id)
        return redirect(self.request, f"/admin/domains/{domain.id}/rules?notice={notice}")


def _rule_saver(
    request: Request, principal: PageWriter, engine: EngineDep, checks: RuleChecksDep
) -> _RuleSaver:
    """The saver for a rule form post; an admin who may write, checked before anything else."""
    return _RuleSaver(request, principal, engine, checks)


RuleSaverDep = Annotated[_RuleSaver, Depends(_rule_saver)]


def _create_rule(session: Session, domain_id: int, payload: dict[str, Any]) -> int:
    domain = domains.get_domain(session, domain_id)
    rule = rules.create_rule(session, domain, RuleIn.model_validate(payload))
    rules.mark_check_pending(session, rule)
    return rule.id or 0


@router.post("/admin/domains/{domain}/rules")
async def create_rule(saver: RuleSaverDep, domain: DomainSnapshotDep, form: FormDep) -> Response:
    """Save a new rule (then check it against Jira in the background)."""
    payload = rule_payload(form)
    domain_id = domain.id or 0
    create = partial(_create_rule, domain_id=domain_id, payload=payload)
    return await saver.save(create, (domain, None), payload, "rule-created")


@router.get("/admin/rules/{rule_id}")
def edit_rule_page(
    request: Request, principal: PageUser, rule: RuleDep, db: SessionDep
) -> HTMLResponse:
    """The rule editor, filled in."""
    mappings = rules.rule_mappings(db, rule.id or 0)
    return _rule_form(
        request,
        principal,
        domain=domains.get_domain(db, rule.domain_id),
        rule=rule,
        form=rule_form_values(rule=rule, mappings=mappings),
    )


def _rule_and_domain(session: Session, rule_id: int) -> tuple[RoutingRule, DomainConfig]:
    rule = rules.get_rule(session, rule_id)
    return rule, domains.get_domain(session, rule.domain_id)


def _update_rule(session: Session, rule_id: int, payload: dict[str, Any]) -> int:
    rule = rules.get_rule(session, rule_id)
    rules.update_rule(session, rule, RuleIn.model_validate(payload))
    rules.mark_check_pending(session, rule)
    return rule_id


@router.post("/admin/rules/{rule_id}")
async def update_rule(saver: RuleSaverDep, rule_id: int, form: FormDep) -> Response:
    """Save the edited rule (then check it against Jira in the background)."""
    payload = rule_payload(form)
    rule, domain = await in_session(saver.engine, lambda s: _rule_and_domain(s, rule_id))
    update = partial(_update_rule, rule_id=rule_id, payload=payload)
    return await saver.save(update, (domain, rule), payload, "rule-saved")


def _listed(
    request: Request, db: Session, domain_id: int
) -> list[tuple[RoutingRule, list[FieldMapping]]] | None:
    """The rules again for an htmx table swap (after the change, in the same transaction)."""
    return rules.rules_with_mappings(db, domain_id) if is_htmx(request) else None


@router.post("/admin/rules/{rule_id}/delete")
def delete_rule(request: Request, principal: PageWriter, rule: RuleDep, db: SessionDep) -> Response:
    """Delete a rule; the table is shown again without it."""
    domain_id, name = rule.domain_id, rule.name
    rules.delete_rule(db, rule)
    listed = _listed(request, db, domain_id)
    return _rules_table(request, principal, domain_id, listed, f"Rule {name!r} deleted.")


def _move(
    request: Request, principal: Principal, rule: RoutingRule, db: Session, offset: int
) -> Response:
    rules.move_rule(db, rule, offset)
    where = "up" if offset < 0 else "down"
    listed = _listed(request, db, rule.domain_id)
    return _rules_table(request, principal, rule.domain_id, listed, f"Moved {rule.name!r} {where}.")


@router.post("/admin/rules/{rule_id}/move-up")
def move_rule_up(
    request: Request, principal: PageWriter, rule: RuleDep, db: SessionDep
) -> Response:
    """One place earlier in evaluation order."""
    return _move(request, principal, rule, db, -1)


@router.post("/admin/rules/{rule_id}/move-down")
def move_rule_down(
    request: Request, principal: PageWriter, rule: RuleDep, db: SessionDep
) -> Response:
    """One place later in evaluation order."""
    return _move(request, principal, rule, db, 1)


def _mark_pending(session: Session, rule_id: int) -> tuple[RoutingRule, list]:
    rule = rules.get_rule(session, rule_id)
    rules.mark_check_pending(session, rule)
    return rule, rules.rules_with_mappings(session, rule.domain_id)


@router.post("/admin/rules/{rule_id}/validate")
async def validate_rule(
    request: Request, principal: PageWriter, rule_id: int, engine: EngineDep, checks: RuleChecksDep
) -> Response:
    """Start a check against Jira's create screen; the badge polls for its outcome."""
    rule, listed = await in_session(engine, lambda s: _mark_pending(s, rule_id))
    checks.schedule(rule_id)
    message = f"Checking {rule.name!r} against Jira."
    shown = listed if is_htmx(request) else None
    return _rules_table(request, principal, rule.domain_id, shown, message)


# The empty row each "Add" button of the rule editor appends: its template and context.
_NEW_ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "condition": (
        "partials/condition_row.html",
        {"c": {"path": "", "op": Op.EQUALS.value, "value": ""}, "ops": OPS},
    ),
    "mapping": (
        "partials/mapping_row.html",
        {"m": {"jira_field": "", "kind": MappingKind.TEMPLATE.value, "value": ""}, "kinds": KINDS},
    ),
}


@router.get("/admin/fragments/{kind}-row")
def new_row(request: Request, principal: PageAdmin, kind: str) -> HTMLResponse:
    """One more condition or mapping row for the editor (a viewer's editor is read-only)."""
    if kind not in _NEW_ROWS:
        raise HTTPException(status_code=404)
    template, context = _NEW_ROWS[kind]
    return render(request, template, context, principal=principal)
