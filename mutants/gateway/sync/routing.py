"""Which Jira project a PeopleForce task goes to, and with which fields (pure, no I/O).

Rules are admin input evaluated on every tick, so evaluation never raises: a bad
regex or a malformed condition simply does not match, and ``validate_rule`` reports
the same problems when the rule is saved. Rules are evaluated as plain dataclasses
so this module can be tested, and reused by previews, without a database.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from gateway.models import DomainConfig, FieldMapping, MappingKind, RoutingRule, RuleAction
from gateway.sync.adf import html_to_adf, to_adf
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


class Op(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    REGEX = "regex"
    IN = "in"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"


VALUELESS_OPS = frozenset({Op.IS_EMPTY, Op.IS_NOT_EMPTY})


class RouteAction(StrEnum):
    SYNC = "SYNC"
    DROP = "DROP"
    UNROUTABLE = "UNROUTABLE"


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    value: Any = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Condition:
        """Tolerant of whatever the JSON column holds; validation reports the problems."""
        if not isinstance(raw, Mapping):
            return cls(path="", op="")
        return cls(
            path=str(raw.get("path") or "").strip(),
            op=str(raw.get("op") or "").strip().lower(),
            value=raw.get("value"),
        )


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


@dataclass(frozen=True)
class RuleSpec:
    id: int | None
    name: str
    priority: int
    enabled: bool
    conditions: list[Condition]
    action: RuleAction
    target_project_key: str | None = None
    target_issue_type: str | None = None
    mappings: list[MappingSpec] = field(default_factory=list)

    @classmethod
    def from_models(cls, rule: RoutingRule, mappings: Iterable[FieldMapping]) -> RuleSpec:
        return cls(
            id=rule.id,
            name=rule.name,
            priority=rule.priority,
            enabled=rule.enabled,
            conditions=[Condition.from_dict(c) for c in rule.conditions or []],
            action=RuleAction(rule.action),
            target_project_key=(rule.target_project_key or "").strip() or None,
            target_issue_type=(rule.target_issue_type or "").strip() or None,
            mappings=[MappingSpec.from_model(m) for m in mappings],
        )


@dataclass(frozen=True)
class DomainDefaults:
    fallback_project_key: str | None = None
    fallback_issue_type: str = "Task"
    tracking_label: str = "PeopleForce"

    @classmethod
    def from_model(cls, domain: DomainConfig) -> DomainDefaults:
        return cls(
            fallback_project_key=(domain.fallback_project_key or "").strip() or None,
            fallback_issue_type=domain.fallback_issue_type or "Task",
            tracking_label=domain.tracking_label,
        )


@dataclass(frozen=True)
class RouteDecision:
    """The routing outcome; for SYNC, ``fields`` is the create body minus the assignee."""

    action: RouteAction
    rule_id: int | None
    rule_name: str | None
    project_key: str | None
    issue_type: str | None
    fields: dict[str, Any]
    reason: str
    assignee_email: str | None = None


# --- conditions ----------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping | list | tuple | set):
        return len(value) == 0
    return False


def _norm(value: Any) -> str:
    return stringify(value).strip().casefold()


def values_equal(actual: Any, expected: Any) -> bool:
    """Admin-typed values: strings compare case-insensitively, "7" equals 7, true != 1."""
    if expected is None:
        return is_empty(actual)
    if actual is None:
        return False
    if isinstance(actual, bool) != isinstance(expected, bool):
        # "true" typed by an admin matches a JSON true, but the number 1 does not.
        if isinstance(actual, str) or isinstance(expected, str):
            return _norm(actual) == _norm(expected)
        return False
    if isinstance(actual, str) or isinstance(expected, str):
        return _norm(actual) == _norm(expected)
    return actual == expected


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


def condition_matches(task: Mapping[str, Any], condition: Condition) -> bool:
    """One condition against one task; unknown ops and bad values never match."""
    actual = get_path(task, condition.path) if condition.path else None
    expected = condition.value
    op = condition.op
    if op == Op.EQUALS:
        return values_equal(actual, expected)
    if op == Op.NOT_EQUALS:
        return not values_equal(actual, expected)
    if op == Op.IS_EMPTY:
        return is_empty(actual)
    if op == Op.IS_NOT_EMPTY:
        return not is_empty(actual)
    if op == Op.CONTAINS:
        if actual is None or expected is None:
            return False
        if isinstance(actual, list | tuple):
            return any(values_equal(item, expected) for item in actual)
        if isinstance(actual, Mapping):
            return False
        return _norm(expected) in _norm(actual)
    if op == Op.IN:
        options = expected if isinstance(expected, list | tuple) else [expected]
        candidates = actual if isinstance(actual, list | tuple) else [actual]
        return any(values_equal(a, o) for a in candidates for o in options if o is not None)
    if op == Op.REGEX:
        pattern = _compile(expected) if isinstance(expected, str) else None
        if pattern is None or actual is None:
            return False
        candidates = actual if isinstance(actual, list | tuple) else [actual]
        return any(pattern.search(stringify(item)) for item in candidates if item is not None)
    return False


def rule_matches(task: Mapping[str, Any], rule: RuleSpec) -> bool:
    """All conditions must hold; a rule without conditions matches every task."""
    return all(condition_matches(task, condition) for condition in rule.conditions)


def _order(rule: RuleSpec) -> tuple[int, int, str]:
    return (rule.priority, rule.id if rule.id is not None else sys.maxsize, rule.name)


def route(
    task: Mapping[str, Any], rules: Iterable[RuleSpec], defaults: DomainDefaults
) -> RouteDecision:
    """First enabled rule by priority (ties by id) that matches, else the domain fallback."""
    for rule in sorted((r for r in rules if r.enabled), key=_order):
        if not rule_matches(task, rule):
            continue
        if rule.action == RuleAction.DROP:
            return RouteDecision(
                action=RouteAction.DROP,
                rule_id=rule.id,
                rule_name=rule.name,
                project_key=None,
                issue_type=None,
                fields={},
                reason=f"dropped by rule {rule.name!r}",
            )
        project = rule.target_project_key or defaults.fallback_project_key
        if not project:
            return RouteDecision(
                action=RouteAction.UNROUTABLE,
                rule_id=rule.id,
                rule_name=rule.name,
                project_key=None,
                issue_type=None,
                fields={},
                reason=f"rule {rule.name!r} matched but names no project and the domain "
                "has no fallback project",
            )
        issue_type = rule.target_issue_type or defaults.fallback_issue_type
        return _sync(task, rule, project, issue_type, defaults, f"matched rule {rule.name!r}")
    if not defaults.fallback_project_key:
        return RouteDecision(
            action=RouteAction.UNROUTABLE,
            rule_id=None,
            rule_name=None,
            project_key=None,
            issue_type=None,
            fields={},
            reason="no rule matched and the domain has no fallback project",
        )
    return _sync(
        task,
        None,
        defaults.fallback_project_key,
        defaults.fallback_issue_type,
        defaults,
        "no rule matched; domain fallback",
    )


def _sync(
    task: Mapping[str, Any],
    rule: RuleSpec | None,
    project: str,
    issue_type: str,
    defaults: DomainDefaults,
    reason: str,
) -> RouteDecision:
    mappings = rule.mappings if rule else []
    decision = RouteDecision(
        action=RouteAction.SYNC,
        rule_id=rule.id if rule else None,
        rule_name=rule.name if rule else None,
        project_key=project,
        issue_type=issue_type,
        fields={},
        reason=reason,
        assignee_email=assignee_email(task, mappings),
    )
    fields = build_fields(task, decision, mappings, label=defaults.tracking_label)
    return replace(decision, fields=fields)


# --- fields --------------------------------------------------------------------------


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


def _reference(value: str) -> dict[str, str]:
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


def _field_value(jira_field: str, value: Any) -> Any:
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


def build_fields(
    task: Mapping[str, Any],
    decision: RouteDecision,
    mappings: Sequence[MappingSpec],
    *,
    label: str,
) -> dict[str, Any]:
    """The ``fields`` of a Jira create for this task: defaults, then the rule's mappings.

    The assignee is left to the caller (it needs a Jira account lookup); the tracking
    label is always kept, since the sweeper and orphan recovery search by it.
    """
    if decision.project_key is None or decision.issue_type is None:
        raise ValueError(f"no fields for a {decision.action} decision")
    project, issue_type = decision.project_key, decision.issue_type
    fields: dict[str, Any] = {
        "project": _reference(project) or {"key": project},
        "issuetype": _reference(issue_type) or {"name": issue_type},
        "summary": summary_text(task.get("title"), task.get("id")),
        "description": html_to_adf(task.get("description")),
        "labels": [label],
    }
    due = due_date(task.get("ends_on"))
    if due:
        fields["duedate"] = due
    for mapping in mappings:
        name = mapping.jira_field
        if not name or name in TARGET_FIELDS or name == ASSIGNEE_FIELD:
            continue
        value = mapping_value(task, mapping)
        if is_empty(value):
            continue
        shaped = _field_value(name, value)
        if shaped is not None:
            fields[name] = shaped
    labels = [item for item in fields.get("labels") or [] if item != label]
    fields["labels"] = [label, *dict.fromkeys(labels)]
    return fields


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


# --- validation at save time ---------------------------------------------------------


def validate_condition(condition: Condition) -> list[str]:
    problems = []
    where = f"condition on {condition.path or '(no path)'!r}"
    if not condition.path:
        problems.append("a condition has no path")
    elif not VALID_PATH.match(condition.path):
        problems.append(f"{where}: invalid path (use dotted names like assigned_to.email)")
    if condition.op not in {op.value for op in Op}:
        problems.append(f"{where}: unknown operator {condition.op!r}")
        return problems
    if condition.op in VALUELESS_OPS:
        return problems
    if condition.value is None:
        problems.append(f"{where}: operator {condition.op!r} needs a value")
    elif condition.op == Op.IN and not isinstance(condition.value, list):
        problems.append(f"{where}: operator 'in' needs a list of values")
    elif condition.op == Op.REGEX:
        if not isinstance(condition.value, str):
            problems.append(f"{where}: regex must be a string")
        else:
            try:
                re.compile(condition.value)
            except re.error as exc:
                problems.append(f"{where}: invalid regex: {exc}")
    return problems


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


def validate_rule(spec: RuleSpec) -> list[str]:
    """Every problem that would make the rule misbehave at tick time; empty when fine."""
    problems = []
    if not spec.name.strip():
        problems.append("the rule needs a name")
    for condition in spec.conditions:
        problems.extend(validate_condition(condition))
    seen: set[str] = set()
    for mapping in spec.mappings:
        problems.extend(validate_mapping(mapping))
        if mapping.jira_field in seen:
            problems.append(f"field {mapping.jira_field!r} is mapped more than once")
        seen.add(mapping.jira_field)
    return problems
