"""Admin operations on the database, shared by the JSON API, the UI and the CLI.

Every function takes an open session and leaves committing to the caller
(``session_scope``), so one request is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.admin_schemas import (
    NULLABLE_DOMAIN_FIELDS,
    SECRET_FIELDS,
    DomainCreate,
    DomainUpdate,
    RuleIn,
)
from gateway.models import (
    DeadLetter,
    DomainConfig,
    EventType,
    FieldMapping,
    RoutingRule,
    SyncEvent,
    SyncState,
    SyncStatus,
    utcnow,
)
from gateway.sync.routing import RuleSpec, validate_rule

PRIORITY_STEP = 10
MAX_PAGE_SIZE = 200

# Rule check states: "unknown" until checked, "pending" while a background check runs.
UNKNOWN = "unknown"
PENDING = "pending"
# A check takes seconds; one pending this long died with its process.
PENDING_STALE = timedelta(minutes=2)

# Event types that wrote to PeopleForce or Jira, and those that report a failure.
WRITE_EVENTS = frozenset(
    {
        EventType.CREATED,
        EventType.ADOPTED,
        EventType.UPDATED,
        EventType.TRANSITIONED,
        EventType.COMPLETED_FROM_JIRA,
        EventType.REOPENED_FROM_JIRA,
        EventType.REPAIRED_BY_SWEEPER,
    }
)
ERROR_EVENTS = frozenset({EventType.FAILED, EventType.TICK_FAILED, EventType.DEAD_LETTERED})


class NotFound(LookupError):
    """The named object does not exist; the message names it for the admin."""


class Conflict(ValueError):
    """The change would break a uniqueness rule (e.g. two domains with one name)."""


class RuleInvalid(ValueError):
    """The rule would misbehave at tick time; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --- domains ---------------------------------------------------------------------------


def get_domain(session: Session, domain_id: int) -> DomainConfig:
    domain = session.get(DomainConfig, domain_id)
    if domain is None:
        raise NotFound(f"no domain with id {domain_id}")
    return domain


def find_domain(session: Session, ref: str) -> DomainConfig:
    """A domain by id or by name: the CLI accepts either."""
    if ref.isdigit():
        domain = session.get(DomainConfig, int(ref))
        if domain is not None:
            return domain
    domain = session.exec(select(DomainConfig).where(DomainConfig.name == ref)).first()
    if domain is None:
        raise NotFound(f"no domain named or numbered {ref!r}")
    return domain


def list_domains(session: Session) -> list[DomainConfig]:
    return list(session.exec(select(DomainConfig).order_by(col(DomainConfig.name))))


def _check_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    existing = session.exec(select(DomainConfig).where(DomainConfig.name == name)).first()
    if existing is not None and existing.id != own_id:
        raise Conflict(f"a domain named {name!r} already exists")


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def create_domain(session: Session, data: DomainCreate) -> DomainConfig:
    _check_name_free(session, data.name)
    values = data.model_dump(exclude=set(SECRET_FIELDS))
    domain = DomainConfig(
        **values,
        pf_api_key=_secret(data.pf_api_key),
        jira_api_token=_secret(data.jira_api_token),
    )
    session.add(domain)
    session.flush()
    return domain


def update_domain(session: Session, domain: DomainConfig, data: DomainUpdate) -> DomainConfig:
    """Apply the fields the caller sent; a secret is replaced only when one is given."""
    changes = data.model_dump(exclude_unset=True, exclude=set(SECRET_FIELDS))
    if "name" in changes and changes["name"] is not None:
        _check_name_free(session, changes["name"], domain.id)
    for name, value in changes.items():
        if value is None and name not in NULLABLE_DOMAIN_FIELDS:
            continue
        setattr(domain, name, value)
    for name in SECRET_FIELDS:
        secret = getattr(data, name)
        if secret is not None:
            setattr(domain, name, secret.get_secret_value())
    domain.updated_at = utcnow()
    session.add(domain)
    session.flush()
    return domain


def set_domain_active(session: Session, domain: DomainConfig, active: bool) -> DomainConfig:
    """Pause or resume; the scheduler reads ``is_active`` on its next pass, no restart."""
    domain.is_active = active
    domain.updated_at = utcnow()
    session.add(domain)
    session.flush()
    return domain


# --- rules -----------------------------------------------------------------------------


def get_rule(session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"no routing rule with id {rule_id}")
    return rule


def rule_mappings(session: Session, rule_id: int) -> list[FieldMapping]:
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
    check_rule(data)
    if data.priority is not None:
        rule.priority = data.priority
    _apply_rule(session, rule, data)
    return rule


def delete_rule(session: Session, rule: RoutingRule) -> None:
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


# --- audit log and dead letters ----------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    domain_id: int | None = None
    pf_task_id: int | None = None
    jira_issue_key: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _paginate(page: int, page_size: int) -> tuple[int, int]:
    page = max(1, page)
    page_size = max(1, min(MAX_PAGE_SIZE, page_size))
    return page, page_size


def list_events(
    session: Session, filters: EventFilter, page: int = 1, page_size: int = 50
) -> tuple[list[SyncEvent], int]:
    """Newest first, with the total count for pagination."""
    page, page_size = _paginate(page, page_size)
    conditions: list[Any] = []
    if filters.domain_id is not None:
        conditions.append(SyncEvent.domain_id == filters.domain_id)
    if filters.pf_task_id is not None:
        conditions.append(SyncEvent.pf_task_id == filters.pf_task_id)
    if filters.jira_issue_key:
        conditions.append(SyncEvent.jira_issue_key == filters.jira_issue_key.strip().upper())
    if filters.event_type:
        conditions.append(SyncEvent.event_type == filters.event_type)
    if filters.since is not None:
        conditions.append(col(SyncEvent.created_at) >= filters.since)
    if filters.until is not None:
        conditions.append(col(SyncEvent.created_at) < filters.until)
    total = session.exec(select(func.count()).select_from(SyncEvent).where(*conditions)).one()
    query = (
        select(SyncEvent)
        .where(*conditions)
        .order_by(col(SyncEvent.created_at).desc(), col(SyncEvent.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(session.exec(query)), total


DEAD_LETTER_STATES = ("open", "replayed", "discarded", "all")


def list_dead_letters(
    session: Session,
    *,
    domain_id: int | None = None,
    state: str = "open",
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[DeadLetter], int]:
    page, page_size = _paginate(page, page_size)
    conditions: list[Any] = []
    if domain_id is not None:
        conditions.append(DeadLetter.domain_id == domain_id)
    if state == "open":
        conditions += [
            col(DeadLetter.replayed_at).is_(None),
            col(DeadLetter.discarded_at).is_(None),
        ]
    elif state == "replayed":
        conditions += [
            col(DeadLetter.replayed_at).is_not(None),
            col(DeadLetter.discarded_at).is_(None),
        ]
    elif state == "discarded":
        conditions.append(col(DeadLetter.discarded_at).is_not(None))
    total = session.exec(select(func.count()).select_from(DeadLetter).where(*conditions)).one()
    query = (
        select(DeadLetter)
        .where(*conditions)
        .order_by(col(DeadLetter.created_at).desc(), col(DeadLetter.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(session.exec(query)), total


def get_dead_letter(session: Session, letter_id: int) -> DeadLetter:
    letter = session.get(DeadLetter, letter_id)
    if letter is None:
        raise NotFound(f"no dead letter with id {letter_id}")
    return letter


def discard_dead_letter(session: Session, letter: DeadLetter) -> DeadLetter:
    """Mark it handled without replaying; kept for the audit trail, hidden from 'open'."""
    if letter.discarded_at is None:
        letter.discarded_at = utcnow()
        session.add(letter)
        session.flush()
    return letter


# --- dashboard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainStats:
    domain: DomainConfig
    tasks_tracked: int
    tasks_open: int
    tasks_completed: int
    writes_today: int
    errors_today: int
    dead_letters_open: int
    last_sweep_repaired: int | None = None


def _counts(session: Session, query: Any) -> dict[Any, int]:
    return {key: count for key, count in session.exec(query)}


def _last_sweep_repaired(session: Session) -> dict[int, int]:
    """Per domain, how many tasks its most recent recorded sweep repaired."""
    latest = (
        select(func.max(SyncEvent.id))
        .where(col(SyncEvent.event_type) == EventType.SWEEP.value)
        .group_by(col(SyncEvent.domain_id))
    )
    rows = session.exec(
        select(SyncEvent.domain_id, SyncEvent.details).where(col(SyncEvent.id).in_(latest))
    )
    repaired: dict[int, int] = {}
    for domain_id, details in rows:
        value = (details or {}).get("repaired")
        if domain_id is not None and isinstance(value, int) and not isinstance(value, bool):
            repaired[domain_id] = value
    return repaired


def dashboard_stats(session: Session, now: datetime | None = None) -> list[DomainStats]:
    """Per-domain figures from a handful of grouped queries, whatever the number of domains."""
    now = now or utcnow()
    midnight = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    tracked = _counts(
        session,
        select(SyncState.domain_id, func.count()).group_by(col(SyncState.domain_id)),
    )
    completed = _counts(
        session,
        select(SyncState.domain_id, func.count())
        .where(col(SyncState.is_completed).is_(True))
        .group_by(col(SyncState.domain_id)),
    )
    open_ = _counts(
        session,
        select(SyncState.domain_id, func.count())
        .where(
            col(SyncState.is_completed).is_(False),
            col(SyncState.status).in_([SyncStatus.SYNCED, SyncStatus.PENDING_CREATE]),
        )
        .group_by(col(SyncState.domain_id)),
    )
    writes = _counts(
        session,
        select(SyncEvent.domain_id, func.count())
        .where(
            col(SyncEvent.created_at) >= midnight,
            col(SyncEvent.event_type).in_([e.value for e in WRITE_EVENTS]),
        )
        .group_by(col(SyncEvent.domain_id)),
    )
    errors = _counts(
        session,
        select(SyncEvent.domain_id, func.count())
        .where(
            col(SyncEvent.created_at) >= midnight,
            col(SyncEvent.event_type).in_([e.value for e in ERROR_EVENTS]),
        )
        .group_by(col(SyncEvent.domain_id)),
    )
    letters = _counts(
        session,
        select(DeadLetter.domain_id, func.count())
        .where(col(DeadLetter.replayed_at).is_(None), col(DeadLetter.discarded_at).is_(None))
        .group_by(col(DeadLetter.domain_id)),
    )
    repaired = _last_sweep_repaired(session)
    return [
        DomainStats(
            domain=domain,
            tasks_tracked=tracked.get(domain.id, 0),
            tasks_open=open_.get(domain.id, 0),
            tasks_completed=completed.get(domain.id, 0),
            writes_today=writes.get(domain.id, 0),
            errors_today=errors.get(domain.id, 0),
            dead_letters_open=letters.get(domain.id, 0),
            last_sweep_repaired=repaired.get(domain.id) if domain.id is not None else None,
        )
        for domain in list_domains(session)
    ]
