"""Routing rules of a domain: validate, save, order, and the state of their Jira check.

Every function takes an open session and leaves committing to the caller.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.admin.errors import Conflict, RuleInvalid, get_or_refuse
from gateway.admin.schemas import RuleIn
from gateway.clock import utcnow
from gateway.models import DomainConfig, FieldMapping, RoutingRule
from gateway.sync.routing import RuleSpec, validate_rule

PRIORITY_STEP = 10

# Rule check states: "unknown" until checked, "pending" while a background check runs.
UNKNOWN = "unknown"
PENDING = "pending"
# A check takes seconds; one pending this long died with its process.
PENDING_STALE = timedelta(minutes=2)


def get_rule(session: Session, rule_id: int) -> RoutingRule:
    """The rule with this id, or NotFound."""
    return get_or_refuse(session, RoutingRule, rule_id, "routing rule")


def rule_mappings(session: Session, rule_id: int) -> list[FieldMapping]:
    """A rule's field mappings in the order they were added."""
    query = (
        select(FieldMapping).where(FieldMapping.rule_id == rule_id).order_by(col(FieldMapping.id))
    )
    return list(session.exec(query))


def list_rules(session: Session, domain_id: int) -> list[RoutingRule]:
    """In evaluation order: priority, then id (as the router breaks ties)."""
    query = (
        select(RoutingRule)
        .where(RoutingRule.domain_id == domain_id)
        .order_by(col(RoutingRule.priority), col(RoutingRule.id))
    )
    return list(session.exec(query))


def rules_with_mappings(
    session: Session, domain_id: int
) -> list[tuple[RoutingRule, list[FieldMapping]]]:
    """Each rule with its mappings, in evaluation order."""
    return [(rule, rule_mappings(session, rule.id or 0)) for rule in list_rules(session, domain_id)]


def _spec(data: RuleIn, rule_id: int | None, priority: int) -> RuleSpec:
    rule = RoutingRule(
        id=rule_id,
        domain_id=0,
        name=data.name,
        priority=priority,
        enabled=data.enabled,
        conditions=[c.model_dump(mode="json") for c in data.conditions],
        action=data.action,
        target_project_key=data.target_project_key,
        target_issue_type=data.target_issue_type,
    )
    mappings = [FieldMapping(rule_id=0, **m.model_dump()) for m in data.mappings]
    return RuleSpec.from_models(rule, mappings)


def check_rule(data: RuleIn) -> None:
    """Raise RuleInvalid with every problem the router would trip over."""
    problems = validate_rule(_spec(data, None, data.priority or 0))
    if problems:
        raise RuleInvalid(problems)


def _apply_rule(session: Session, rule: RoutingRule, data: RuleIn) -> None:
    rule.name = data.name
    rule.enabled = data.enabled
    rule.conditions = [c.model_dump(mode="json") for c in data.conditions]
    rule.action = data.action
    rule.target_project_key = data.target_project_key
    rule.target_issue_type = data.target_issue_type
    # The target changed or may have: an earlier check against Jira no longer applies.
    rule.validation_status = UNKNOWN
    rule.validation_message = None
    rule.validated_at = None
    rule.updated_at = utcnow()
    session.add(rule)
    session.flush()
    for mapping in rule_mappings(session, rule.id or 0):
        session.delete(mapping)
    session.flush()
    for mapping in data.mappings:
        session.add(FieldMapping(rule_id=rule.id or 0, **mapping.model_dump()))
    session.flush()


def mark_check_pending(session: Session, rule: RoutingRule) -> None:
    """Flag a background check as started, so the badge polls for its outcome."""
    rule.validation_status = PENDING
    rule.validation_message = None
    rule.validated_at = utcnow()  # when the check started, until it stores its outcome
    session.add(rule)
    session.flush()


def check_status(rule: RoutingRule, now: datetime | None = None) -> str:
    """The badge to show: a pending check older than PENDING_STALE counts as never run."""
    if rule.validation_status != PENDING:
        return rule.validation_status
    started = rule.validated_at or rule.updated_at
    started = started if started.tzinfo else started.replace(tzinfo=UTC)
    return UNKNOWN if (now or utcnow()) - started > PENDING_STALE else PENDING


def create_rule(session: Session, domain: DomainConfig, data: RuleIn) -> RoutingRule:
    """Add a rule; without a priority it goes last."""
    check_rule(data)
    priority = data.priority
    if priority is None:
        highest = session.exec(
            select(func.max(RoutingRule.priority)).where(RoutingRule.domain_id == domain.id)
        ).one()
        priority = (highest or 0) + PRIORITY_STEP
    rule = RoutingRule(domain_id=domain.id or 0, name=data.name, priority=priority)
    _apply_rule(session, rule, data)
    return rule


def update_rule(session: Session, rule: RoutingRule, data: RuleIn) -> RoutingRule:
    """Replace a rule's conditions and mappings; its priority is kept unless given."""
    check_rule(data)
    if data.priority is not None:
        rule.priority = data.priority
    _apply_rule(session, rule, data)
    return rule


def delete_rule(session: Session, rule: RoutingRule) -> None:
    """Delete a rule with its mappings."""
    for mapping in rule_mappings(session, rule.id or 0):
        session.delete(mapping)
    session.delete(rule)
    session.flush()


def reorder_rules(session: Session, domain_id: int, rule_ids: list[int]) -> list[RoutingRule]:
    """Renumber priorities 10, 20, ... in the given order; every rule must be listed once."""
    rules = {rule.id or 0: rule for rule in list_rules(session, domain_id)}
    if sorted(rule_ids) != sorted(rules):
        raise Conflict(
            "rule_ids must list every rule of the domain exactly once "
            f"(the domain has {sorted(rules)})"
        )
    now = utcnow()
    for index, rule_id in enumerate(rule_ids, start=1):
        rule = rules[rule_id]
        rule.priority = index * PRIORITY_STEP
        rule.updated_at = now
        session.add(rule)
    session.flush()
    return list_rules(session, domain_id)


def move_rule(session: Session, rule: RoutingRule, offset: int) -> list[RoutingRule]:
    """Move a rule ``offset`` places (-1 up, +1 down) in evaluation order."""
    ordered = [r.id or 0 for r in list_rules(session, rule.domain_id)]
    index = ordered.index(rule.id or 0)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    return reorder_rules(session, rule.domain_id, ordered)
