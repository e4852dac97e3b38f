"""The gateway's database as a scenario or test sets it up and reads it back.

One place for what an admin would configure (a domain, its rules) and for the
ledger a check inspects, shared by the scenario harness and the test world.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.models import (
    DeadLetter,
    DomainConfig,
    FieldMapping,
    MappingKind,
    RoutingRule,
    RuleAction,
    SyncEvent,
    SyncState,
)

PF_KEY = "pf-test-key"
JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "jira-test-token"
DOMAIN_NAME = "acme"


def domain_values(pf_url: str, jira_url: str, **overrides: Any) -> dict[str, Any]:
    """A domain linking the fakes at these URLs, ticking every second, falling back to HR."""
    values: dict[str, Any] = {
        "name": DOMAIN_NAME,
        "pf_base_url": pf_url,
        "pf_api_key": PF_KEY,
        "jira_base_url": jira_url,
        "jira_email": JIRA_EMAIL,
        "jira_api_token": JIRA_TOKEN,
        "fallback_project_key": "HR",
        "poll_interval_seconds": 1,
    }
    values.update(overrides)
    return values


def insert_domain(engine: Engine, values: dict[str, Any]) -> int:
    with Session(engine) as session:
        domain = DomainConfig(**values)
        session.add(domain)
        session.commit()
        session.refresh(domain)
        assert domain.id is not None
        return domain.id


def update_domain(engine: Engine, domain_id: int, **changes: Any) -> None:
    with Session(engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None, f"no domain {domain_id}"
        for name, value in changes.items():
            setattr(domain, name, value)
        session.add(domain)
        session.commit()


def insert_rule(
    engine: Engine,
    domain_id: int,
    name: str,
    conditions: list[dict[str, Any]],
    *,
    action: RuleAction = RuleAction.SYNC,
    project: str | None = None,
    issue_type: str | None = None,
    priority: int = 100,
    mappings: Sequence[tuple[str, MappingKind, str]] = (),
) -> int:
    """What the admin does in the UI: an enabled rule with optional field mappings."""
    with Session(engine) as session:
        rule = RoutingRule(
            domain_id=domain_id,
            name=name,
            priority=priority,
            conditions=conditions,
            action=action,
            target_project_key=project,
            target_issue_type=issue_type,
        )
        session.add(rule)
        session.commit()
        session.refresh(rule)
        assert rule.id is not None
        for jira_field, kind, value in mappings:
            session.add(
                FieldMapping(rule_id=rule.id, jira_field=jira_field, kind=kind, value=value)
            )
        session.commit()
        return rule.id


def read_domain(engine: Engine, domain_id: int) -> DomainConfig:
    with Session(engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None, f"no domain {domain_id}"
        return domain


def read_states(engine: Engine, domain_id: int) -> dict[int, SyncState]:
    """The ledger rows of one domain, by PeopleForce task id."""
    with Session(engine) as session:
        rows = session.exec(select(SyncState).where(SyncState.domain_id == domain_id))
        return {row.pf_task_id: row for row in rows}


def read_events(engine: Engine, event_type: str | None = None) -> list[SyncEvent]:
    """Audit events, oldest first."""
    with Session(engine) as session:
        query = select(SyncEvent).order_by(col(SyncEvent.id))
        if event_type:
            query = query.where(SyncEvent.event_type == event_type)
        return list(session.exec(query))


def read_dead_letters(engine: Engine) -> list[DeadLetter]:
    with Session(engine) as session:
        return list(session.exec(select(DeadLetter).order_by(col(DeadLetter.id))))
