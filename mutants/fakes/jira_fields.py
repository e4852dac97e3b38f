"""Field validation and change history for create/edit/transition.

Jira rejects a bad field with 400 and a per-field message in ``errors``; the
gateway dead-letters those, so the fake must be just as strict (ADF only in
v3, allowed values, required fields that appear later). Applying validated
values also yields the changelog items that webhooks carry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fakes.jira_model import FieldDef, Issue, Project, User
from fakes.jira_render import adf_error, adf_from_text, adf_to_text

__all__ = [
    "MAX_PROPERTY_BYTES",
    "FieldContext",
    "JiraError",
    "apply_values",
    "cannot_set",
    "changelog_item",
    "merge_update",
    "property_error",
    "validate_fields",
]

MAX_PROPERTY_BYTES = 32768
_LABEL_MAX = 255
_SUMMARY_MAX = 255
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class JiraError(Exception):
    """An answer Jira gives as ``{"errorMessages": [...], "errors": {...}}``."""

    def __init__(
        self,
        status: int,
        messages: Sequence[str] = (),
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {list(messages)} {errors or {}}")
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


@dataclass(frozen=True)
class FieldContext:
    """What validation needs from the site: its fields and users."""

    fields: dict[str, FieldDef]
    users: dict[str, User]


def cannot_set(field_id: str) -> str:
    return f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."


def property_error(key: Any, value: Any) -> str | None:
    """Why an entity property cannot be stored, or ``None``."""
    if not isinstance(key, str) or not key or len(key) > 255:
        return "The property key must be between 1 and 255 characters long."
    if value is None or value == "":
        return "The property value cannot be empty."
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PROPERTY_BYTES:
        return (
            f"The property '{key}' has a value of {size} bytes, which exceeds the "
            f"maximum of {MAX_PROPERTY_BYTES} bytes."
        )
    return None


def _valid_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _user_ref(value: Any, ctx: FieldContext) -> tuple[str | None, str | None]:
    """Account id from ``{accountId}`` / ``{id}`` (or null), and an error message."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        return None, "Specify a valid value for user: an object with 'accountId'."
    account_id = value.get("accountId", value.get("id"))
    if account_id is None:
        return None, None
    if not isinstance(account_id, str) or account_id not in ctx.users:
        return None, f"Specified user '{account_id}' does not exist."
    if not ctx.users[account_id].active:
        return None, f"User '{account_id}' is inactive and cannot be assigned."
    return account_id, None


def _validate_one(
    fid: str, fdef: FieldDef, value: Any, project: Project, ctx: FieldContext, version: str
) -> tuple[Any, str | None]:
    if fid == "summary":
        if not isinstance(value, str) or not value.strip():
            return None, "You must specify a summary of the issue."
        if len(value) > _SUMMARY_MAX:
            return None, f"Summary must be less than {_SUMMARY_MAX} characters."
        if "\n" in value or "\r" in value:
            return None, "The summary is invalid because it contains newline characters."
        return value, None
    if fid == "description":
        if value is None:
            return None, None
        if version == "3":
            error = adf_error(value)
            return (None, error) if error else (value, None)
        if not isinstance(value, str):
            return None, "Operation value must be a string"
        return adf_from_text(value), None
    if fid == "labels":
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            return None, "Labels must be a list of strings."
        for label in value:
            if not label or any(ch.isspace() for ch in label):
                return None, f"The label '{label}' contains spaces which is invalid."
            if len(label) > _LABEL_MAX:
                return None, f"The label '{label[:20]}...' exceeds {_LABEL_MAX} characters."
        return list(dict.fromkeys(value)), None
    if fid in ("duedate",) or fdef.schema.get("type") == "date":
        if value is None:
            return None, None
        if not _valid_date(value):
            return None, f"Error parsing date string: {value}"
        return value, None
    if fid in ("assignee", "reporter"):
        return _user_ref(value, ctx)
    if fid == "priority":
        if value is None:
            return None, None
        if not isinstance(value, dict) or not ({"name", "id"} & value.keys()):
            return None, "Specify the Priority (id or name) in the string format"
        for p in project.priorities:
            if value.get("name") == p.name or str(value.get("id")) == p.id:
                return p.name, None
        return None, "The priority selected is invalid."
    if fdef.allowed_values is not None:
        if value is None:
            return None, None
        options = fdef.allowed_values
        if isinstance(value, dict):
            if value.get("value") in options:
                return value["value"], None
            ids = {str(i + 10100): v for i, v in enumerate(options)}
            if str(value.get("id")) in ids:
                return ids[str(value.get("id"))], None
        return None, f"Specify a valid 'id' or 'name' for {fdef.name}"
    if fdef.schema.get("type") == "number":
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return value, None
        return None, f"Operation value must be a number for {fdef.name}"
    if value is None or isinstance(value, str):
        return value, None
    return None, f"Operation value must be a string for {fdef.name}"


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or value == ""


def validate_fields(
    fields: dict[str, Any],
    *,
    project: Project,
    issue_type_id: str,
    ctx: FieldContext,
    version: str,
    creating: bool,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalised values and per-field errors for ``fields`` (project/issuetype excluded)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for fid, raw in fields.items():
        if fid in ("project", "issuetype"):
            if not creating:
                errors[fid] = cannot_set(fid)
            continue
        fdef = ctx.fields.get(fid)
        if fdef is None or not fdef.settable:
            errors[fid] = cannot_set(fid)
            continue
        value, error = _validate_one(fid, fdef, raw, project, ctx, version)
        if error is None and _is_empty(value) and project.is_required(issue_type_id, fid):
            error = (
                "You must specify a summary of the issue."
                if fid == "summary"
                else f"{fdef.name} is required."
            )
        if error is not None:
            errors[fid] = error
        else:
            values[fid] = value
    if creating:
        for fid, fdef in ctx.fields.items():
            if fid in ("project", "issuetype") or fid in errors or not fdef.settable:
                continue
            if project.is_required(issue_type_id, fid) and _is_empty(values.get(fid)):
                errors[fid] = (
                    "You must specify a summary of the issue."
                    if fid == "summary"
                    else f"{fdef.name} is required."
                )
    return values, errors


def changelog_item(
    fdef: FieldDef, old: Any, new: Any, old_str: str | None, new_str: str | None
) -> dict[str, Any]:
    return {
        "field": fdef.name if fdef.custom else fdef.id,
        "fieldtype": "custom" if fdef.custom else "jira",
        "fieldId": fdef.id,
        "from": old,
        "fromString": old_str,
        "to": new,
        "toString": new_str,
    }


def _display(fid: str, value: Any, ctx: FieldContext) -> tuple[Any, str | None]:
    """(``from``/``to``, ``fromString``/``toString``) of one field value."""
    if value is None:
        return None, None
    if fid in ("assignee", "reporter"):
        user = ctx.users.get(value)
        return value, user.display_name if user else value
    if fid == "labels":
        return None, " ".join(value)
    if fid == "description":
        return None, adf_to_text(value)
    if fid in ("summary",):
        return None, value
    return value, str(value)


def _current(issue: Issue, fid: str) -> Any:
    if fid in ("summary", "description", "labels", "duedate", "assignee", "reporter", "priority"):
        return getattr(issue, fid)
    return issue.custom.get(fid)


def apply_values(issue: Issue, values: dict[str, Any], ctx: FieldContext) -> list[dict[str, Any]]:
    """Write validated values into ``issue``; return changelog items for what changed."""
    items: list[dict[str, Any]] = []
    for fid, new in values.items():
        old = _current(issue, fid)
        if old == new:
            continue
        if fid in ("summary", "description", "labels", "duedate", "assignee", "reporter"):
            setattr(issue, fid, list(new) if fid == "labels" else new)
        elif fid == "priority":
            issue.priority = new
        elif new is None:
            issue.custom.pop(fid, None)
        else:
            issue.custom[fid] = new
        old_raw, old_str = _display(fid, old, ctx)
        new_raw, new_str = _display(fid, new, ctx)
        items.append(changelog_item(ctx.fields[fid], old_raw, new_raw, old_str, new_str))
    return items


def merge_update(labels: Sequence[str], fields: dict[str, Any], update: Any) -> dict[str, Any]:
    """Fold ``update`` operations into a ``fields`` dict (labels add/remove/set)."""
    if update is None:
        return fields
    if not isinstance(update, dict):
        raise JiraError(400, ["'update' must be an object."])
    merged = dict(fields)
    errors: dict[str, str] = {}
    for fid, ops in update.items():
        if fid in fields:
            errors[fid] = f"Field '{fid}' cannot be set in both 'fields' and 'update'."
            continue
        if not isinstance(ops, list):
            errors[fid] = f"Operations for field '{fid}' must be a list."
            continue
        if fid == "labels":
            current = list(labels)
            for op in ops:
                if not isinstance(op, dict) or len(op) != 1:
                    errors[fid] = "Each operation must be an object with one verb."
                    break
                ((verb, arg),) = op.items()
                if verb == "add" and arg not in current:
                    current.append(arg)
                elif verb == "remove":
                    current = [x for x in current if x != arg]
                elif verb == "set":
                    current = arg
                elif verb not in ("add",):
                    errors[fid] = f"Field 'labels' does not support operation '{verb}'."
            merged[fid] = current
        elif fid in ("comment", "worklog"):
            continue  # accepted and discarded, as a transition's comment would be
        else:
            for op in ops:
                if isinstance(op, dict) and set(op) == {"set"}:
                    merged[fid] = op["set"]
                else:
                    errors[fid] = f"Field '{fid}' supports only the 'set' operation here."
    if errors:
        raise JiraError(400, errors=errors)
    return merged
