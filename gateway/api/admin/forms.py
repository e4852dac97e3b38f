"""Turning HTML form posts into the admin models, and validation errors into messages."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from gateway.admin.schemas import SECRET_FIELDS, DomainOut
from gateway.models import DOMAIN_DEFAULTS, FieldMapping, MappingKind, RoutingRule, RuleAction
from gateway.sync.routing import VALUELESS_OPS, Op

DOMAIN_TEXT_FIELDS = (
    "name",
    "poll_interval_seconds",
    "max_concurrency",
    "pf_base_url",
    "jira_base_url",
    "jira_email",
    "tracking_label",
    "property_key",
    "fallback_project_key",
    "fallback_issue_type",
    "sync_since",
    "reopen_policy",
    "deletion_policy",
    "sweep_time",
    "sweep_window_hours",
    "reconcile_interval_minutes",
    "reopen_window_days",
    "deleted_issue_policy",
    "edited_field_policy",
)


def _form_text(value: object) -> str:
    """A default as the form shows it: booleans as the checkbox value, enums by value."""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value.value) if isinstance(value, StrEnum) else str(value)


# The new-domain form starts from the one set of defaults every surface uses.
NEW_DOMAIN_FORM = {name: _form_text(value) for name, value in asdict(DOMAIN_DEFAULTS).items()}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def domain_payload(form: FormData, *, updating: bool) -> dict[str, Any]:
    """The model input for a domain form; blank secret inputs keep the stored secret."""
    data: dict[str, Any] = {name: _text(form, name) for name in DOMAIN_TEXT_FIELDS}
    data["is_active"] = form.get("is_active") == "1"
    for name in SECRET_FIELDS:
        typed = form.get(name)
        typed = typed if isinstance(typed, str) else ""
        if updating and form.get(f"{name}_clear") == "1":
            data[name] = ""
        elif typed:
            data[name] = typed
        elif not updating:
            data[name] = None
    return data


def domain_form_values(
    form: FormData | None = None, domain: DomainOut | None = None
) -> dict[str, str]:
    """What the form fields show: the submitted text, the stored domain, or the defaults.

    Secrets are never included, so they cannot reach the page source.
    """
    if form is not None:
        values = {name: _text(form, name) for name in DOMAIN_TEXT_FIELDS}
        values["is_active"] = "1" if form.get("is_active") == "1" else ""
        return values
    if domain is not None:
        values = {}
        for name in DOMAIN_TEXT_FIELDS:
            value = getattr(domain, name)
            if isinstance(value, datetime):
                value = value.strftime("%Y-%m-%dT%H:%M")
            values[name] = "" if value is None else str(value)
        values["is_active"] = "1" if domain.is_active else ""
        return values
    return dict(NEW_DOMAIN_FORM)


def describe_errors(error: ValidationError) -> tuple[list[str], dict[str, str]]:
    """("Field: problem" lines, {field: problem}) for the form's summary and inline hints."""
    lines: list[str] = []
    by_field: dict[str, str] = {}
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        field = loc[0] if loc else "form"
        message = item["msg"].removeprefix("Value error, ")
        label = " ".join(loc).replace("_", " ")
        lines.append(f"{label}: {message}" if label else message)
        by_field.setdefault(field, message)
    return lines, by_field


def _condition_value(op: str, raw: str) -> Any:
    if op in VALUELESS_OPS:
        return None
    if op == Op.IN:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def rule_payload(form: FormData) -> dict[str, Any]:
    """The RuleIn input for a rule form; rows with an empty path or field are ignored."""
    paths, ops, values = (form.getlist(k) for k in ("cond_path", "cond_op", "cond_value"))
    conditions = [
        {"path": str(path).strip(), "op": str(op), "value": _condition_value(str(op), str(value))}
        for path, op, value in zip(paths, ops, values, strict=False)
        if str(path).strip()
    ]
    fields, kinds, mvalues = (form.getlist(k) for k in ("map_field", "map_kind", "map_value"))
    mappings = [
        {"jira_field": str(field).strip(), "kind": str(kind), "value": str(value)}
        for field, kind, value in zip(fields, kinds, mvalues, strict=False)
        if str(field).strip()
    ]
    return {
        "name": _text(form, "name"),
        "enabled": form.get("enabled") == "1",
        "conditions": conditions,
        "action": _text(form, "action") or RuleAction.SYNC.value,
        "target_project_key": _text(form, "target_project_key"),
        "target_issue_type": _text(form, "target_issue_type"),
        "mappings": mappings,
    }


def _condition_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def rule_form_values(
    payload: dict[str, Any] | None = None,
    rule: RoutingRule | None = None,
    mappings: list[FieldMapping] | None = None,
) -> dict[str, Any]:
    """Values for the rule editor, always with one blank condition and mapping row to fill."""
    if payload is None and rule is not None:
        payload = {
            "name": rule.name,
            "enabled": rule.enabled,
            "conditions": list(rule.conditions or []),
            "action": rule.action,
            "target_project_key": rule.target_project_key,
            "target_issue_type": rule.target_issue_type,
            "mappings": [
                {"jira_field": m.jira_field, "kind": m.kind, "value": m.value}
                for m in mappings or []
            ],
        }
    payload = payload or {"name": "", "enabled": True, "action": "SYNC"}
    conditions = [
        {"path": c.get("path", ""), "op": c.get("op", ""), "value": _condition_text(c.get("value"))}
        for c in payload.get("conditions") or []
    ]
    conditions.append({"path": "", "op": Op.EQUALS.value, "value": ""})
    mapping_rows = [
        {"jira_field": m["jira_field"], "kind": str(m["kind"]), "value": m["value"]}
        for m in payload.get("mappings") or []
    ]
    mapping_rows.append({"jira_field": "", "kind": MappingKind.TEMPLATE.value, "value": ""})
    return {
        "name": payload.get("name", ""),
        "enabled": bool(payload.get("enabled", True)),
        "action": str(payload.get("action") or "SYNC"),
        "target_project_key": payload.get("target_project_key") or "",
        "target_issue_type": payload.get("target_issue_type") or "",
        "conditions": conditions,
        "mappings": mapping_rows,
    }
