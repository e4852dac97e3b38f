"""Field mappings: the values a rule writes into a Jira issue's fields (pure, no I/O).

Jira is strict about a few fields (a one-line summary of at most 255 characters,
rich text as ADF, labels without spaces, ``YYYY-MM-DD`` due dates), so every mapped
value is shaped for its field here rather than refused by Jira at create time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.models import FieldMapping, MappingKind
from gateway.sync.adf import to_adf
from gateway.sync.conditions import is_empty
from gateway.sync.hashing import canonical_json
from gateway.sync.templates import (
    VALID_PATH,
    get_path,
    render_template,
    stringify,
    validate_template,
)

ASSIGNEE_FIELD = "assignee"
ASSIGNEE_EMAIL_PATH = "assigned_to.email"
# Set from the rule's target, never by a mapping, and never changed by an update.
TARGET_FIELDS = frozenset({"project", "issuetype"})
RICH_TEXT_FIELDS = frozenset({"description", "environment"})
MAX_SUMMARY_CHARS = 255
_SPACE = re.compile(r"\s+")
_LABEL_SPLIT = re.compile(r"[,\s]+")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class MappingSpec:
    jira_field: str
    kind: MappingKind
    value: str

    @classmethod
    def from_model(cls, mapping: FieldMapping) -> MappingSpec:
        return cls(
            jira_field=mapping.jira_field.strip(),
            kind=MappingKind(mapping.kind),
            value=mapping.value,
        )


def summary_text(title: Any, task_id: Any = None) -> str:
    """Jira's summary is one line of at most 255 characters and may not be empty."""
    text = _SPACE.sub(" ", stringify(title)).strip()
    if not text:
        text = f"PeopleForce task {task_id}" if task_id is not None else "PeopleForce task"
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - 1].rstrip() + "\u2026"
    return text


def due_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` from a PeopleForce date or datetime string; None if it is not one."""
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        return None
    candidate = value.strip()[:10]
    try:
        date.fromisoformat(candidate)
    except ValueError:
        return None
    return candidate


def field_reference(value: str) -> dict[str, str]:
    """Project and issue type by id when numeric (ids from createmeta), otherwise by key/name."""
    return {"id": value} if value.isdigit() else {}


def static_value(raw: str) -> Any:
    """A STATIC mapping's value: a JSON object/array when it parses as one, else the text."""
    stripped = raw.strip()
    if stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            return raw
        if isinstance(parsed, dict | list):
            return parsed
    return raw


def mapping_value(task: Mapping[str, Any], mapping: MappingSpec) -> Any:
    """The raw value a mapping produces for this task (None when it produces nothing)."""
    if mapping.kind == MappingKind.STATIC:
        return static_value(mapping.value)
    if mapping.kind == MappingKind.PATH:
        return get_path(task, mapping.value.strip())
    if mapping.kind == MappingKind.TEMPLATE:
        return render_template(mapping.value, task)
    return None


def _labels(value: Any) -> list[str]:
    items = _LABEL_SPLIT.split(value) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        items = [items]
    return [_SPACE.sub("_", stringify(item).strip()) for item in items if not is_empty(item)]


def shape_field_value(jira_field: str, value: Any) -> Any:
    """Shape a mapped value for the fields Jira is strict about."""
    if jira_field == "summary":
        return summary_text(value)
    if jira_field in RICH_TEXT_FIELDS and isinstance(value, str):
        return to_adf(value)
    if jira_field == "labels":
        return _labels(value)
    if jira_field == "duedate":
        return due_date(value)
    return value


def assignee_email(task: Mapping[str, Any], mappings: Sequence[MappingSpec] = ()) -> str | None:
    """The email to look up as the Jira assignee: an ``assignee`` mapping, else the task's."""
    value: Any = None
    for mapping in mappings:
        if mapping.jira_field == ASSIGNEE_FIELD:
            value = mapping_value(task, mapping)
            break
    else:
        value = get_path(task, ASSIGNEE_EMAIL_PATH)
    if isinstance(value, str) and "@" in value:
        return value.strip()
    return None


def diff_fields(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an update must send: changed or new ones, and None for removed ones.

    Compared on canonical JSON so that 1, 1.0 and true are different values (Python's
    ``==`` says otherwise). Project and issue type are never updated.
    """
    old = old or {}
    changed: dict[str, Any] = {}
    for key, value in new.items():
        if key in TARGET_FIELDS:
            continue
        if key not in old or canonical_json(old[key]) != canonical_json(value):
            changed[key] = value
    for key in old:
        if key not in new and key not in TARGET_FIELDS:
            changed[key] = None
    return changed


def validate_mapping(mapping: MappingSpec) -> list[str]:
    name = mapping.jira_field
    if not name:
        return ["a field mapping has no Jira field"]
    if name in TARGET_FIELDS:
        return [f"mapping for {name!r}: set it through the rule's target instead"]
    if mapping.kind == MappingKind.TEMPLATE:
        return [f"mapping for {name!r}: {problem}" for problem in validate_template(mapping.value)]
    if mapping.kind == MappingKind.PATH and not VALID_PATH.match(mapping.value.strip()):
        return [f"mapping for {name!r}: invalid path {mapping.value!r}"]
    looks_json = mapping.value.strip()[:1] in ("{", "[")
    if (
        mapping.kind == MappingKind.STATIC
        and looks_json
        and isinstance(static_value(mapping.value), str)
    ):
        return [f"mapping for {name!r}: value looks like JSON but does not parse"]
    return []
