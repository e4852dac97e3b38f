"""The gateway's database as a stack sets it up and reads it back.

One place for what an admin would configure (a domain, its rules) and for the
ledger a check inspects, shared by the demo, the scenario harness, the test
world and the benchmarks. The credentials are the ones the fakes started by
``gateway.demo.upstreams`` accept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypedDict, Unpack

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
LINEAGE_PROPERTY = "pf_sync_metadata"
"""The entity property the gateway writes on every issue it creates (the default key)."""


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
    """Store a domain as the admin UI would; returns its id."""
    with Session(engine) as session:
        domain = DomainConfig(**values)
        session.add(domain)
        session.commit()
        session.refresh(domain)
        assert domain.id is not None
        return domain.id


def update_domain(engine: Engine, domain_id: int, **changes: Any) -> None:
    """Change a domain's columns directly (e.g. ``last_poll_at=None`` to make a tick due)."""
    with Session(engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None, f"no domain {domain_id}"
        for name, value in changes.items():
            setattr(domain, name, value)
        session.add(domain)
        session.commit()


class RuleOptions(TypedDict, total=False):
    """How a rule acts: SYNC (default) or DROP, the target, priority (default 100), mappings."""

    action: RuleAction
    project: str | None
    issue_type: str | None
    priority: int
    mappings: Sequence[tuple[str, MappingKind, str]]
    """(Jira field, kind, value) triples."""


def insert_rule(
    engine: Engine,
    domain_id: int,
    name: str,
    conditions: list[dict[str, Any]],
    **options: Unpack[RuleOptions],
) -> int:
    """What the admin does in the UI: an enabled rule with optional field mappings."""
    with Session(engine) as session:
        rule = RoutingRule(
            domain_id=domain_id,
            name=name,
            priority=options.get("priority", 100),
            conditions=conditions,
            action=options.get("action", RuleAction.SYNC),
            target_project_key=options.get("project"),
            target_issue_type=options.get("issue_type"),
        )
        session.add(rule)
        session.commit()
        session.refresh(rule)
        assert rule.id is not None
        for jira_field, kind, value in options.get("mappings", ()):
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
    """Every dead letter, oldest first."""
    with Session(engine) as session:
        return list(session.exec(select(DeadLetter).order_by(col(DeadLetter.id))))


def lineage_task_id(issue: dict[str, Any]) -> int | None:
    """The PeopleForce task an issue's lineage property names (None: not the gateway's)."""
    value = (issue.get("properties") or {}).get(LINEAGE_PROPERTY)
    if isinstance(value, dict) and isinstance(value.get("pf_task_id"), int):
        return value["pf_task_id"]
    return None


def group_by_task(issues: Iterable[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Issues (as the fake Jira dumps them) grouped by the task their lineage names."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    for issue in issues:
        task_id = lineage_task_id(issue)
        if task_id is not None:
            grouped.setdefault(task_id, []).append(issue)
    return grouped
