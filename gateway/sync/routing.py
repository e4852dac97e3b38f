"""Which Jira project a PeopleForce task goes to, and with which fields (pure, no I/O).

Rules are admin input evaluated on every tick, so evaluation never raises: a bad
regex or a malformed condition simply does not match, and ``validate_rule`` reports
the same problems when the rule is saved. Rules are evaluated as plain dataclasses
so this module can be tested, and reused by previews, without a database.

The parts live apart by concern: what a condition tests (``conditions``), what a
mapping writes into a field (``mappings``), and here the rule itself: which rule
wins and the create fields it produces.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from gateway.models import DOMAIN_DEFAULTS, DomainConfig, FieldMapping, RoutingRule, RuleAction
from gateway.sync.adf import html_to_adf
from gateway.sync.conditions import VALUELESS_OPS as VALUELESS_OPS  # the rule form's vocabulary
from gateway.sync.conditions import Condition, condition_matches, is_empty, validate_condition
from gateway.sync.conditions import Op as Op  # the rule form's vocabulary
from gateway.sync.mappings import (
    ASSIGNEE_FIELD,
    TARGET_FIELDS,
    MappingSpec,
    assignee_email,
    due_date,
    field_reference,
    mapping_value,
    shape_field_value,
    summary_text,
    validate_mapping,
)


class RouteAction(StrEnum):
    SYNC = "SYNC"
    DROP = "DROP"
    UNROUTABLE = "UNROUTABLE"


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
    fallback_issue_type: str = DOMAIN_DEFAULTS.fallback_issue_type
    tracking_label: str = DOMAIN_DEFAULTS.tracking_label

    @classmethod
    def from_model(cls, domain: DomainConfig) -> DomainDefaults:
        return cls(
            fallback_project_key=(domain.fallback_project_key or "").strip() or None,
            fallback_issue_type=domain.fallback_issue_type or DOMAIN_DEFAULTS.fallback_issue_type,
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
            return _decision(RouteAction.DROP, rule, f"dropped by rule {rule.name!r}")
        project = rule.target_project_key or defaults.fallback_project_key
        if not project:
            return _decision(
                RouteAction.UNROUTABLE,
                rule,
                f"rule {rule.name!r} matched but names no project and the domain "
                "has no fallback project",
            )
        issue_type = rule.target_issue_type or defaults.fallback_issue_type
        return _sync(task, rule, project, issue_type, defaults, f"matched rule {rule.name!r}")
    if not defaults.fallback_project_key:
        return _decision(
            RouteAction.UNROUTABLE, None, "no rule matched and the domain has no fallback project"
        )
    return _sync(
        task,
        None,
        defaults.fallback_project_key,
        defaults.fallback_issue_type,
        defaults,
        "no rule matched; domain fallback",
    )


def _decision(action: RouteAction, rule: RuleSpec | None, reason: str) -> RouteDecision:
    """A decision with no target yet: as it stands a DROP, or a task no project can take."""
    return RouteDecision(
        action=action,
        rule_id=rule.id if rule else None,
        rule_name=rule.name if rule else None,
        project_key=None,
        issue_type=None,
        fields={},
        reason=reason,
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
    decision = replace(
        _decision(RouteAction.SYNC, rule, reason),
        project_key=project,
        issue_type=issue_type,
        assignee_email=assignee_email(task, mappings),
    )
    fields = build_fields(task, decision, mappings, label=defaults.tracking_label)
    return replace(decision, fields=fields)


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
        "project": field_reference(project) or {"key": project},
        "issuetype": field_reference(issue_type) or {"name": issue_type},
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
        shaped = shape_field_value(name, value)
        if shaped is not None:
            fields[name] = shaped
    labels = [item for item in fields.get("labels") or [] if item != label]
    fields["labels"] = [label, *dict.fromkeys(labels)]
    return fields


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
