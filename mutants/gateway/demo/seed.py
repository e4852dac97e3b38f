"""The demo's configuration: one domain, its routing rules and an admin account.

Two Jira projects with different workflows: IT (no direct path to Done, so the
gateway walks the workflow) for access and equipment work, HR (simple) as the
fallback, and a DROP rule for payroll tasks, which live in the payroll system.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.accounts import create_user
from gateway.db import session_scope
from gateway.demo.stack import ADMIN_USERNAME, JIRA_EMAIL, JIRA_TOKEN, PF_API_KEY, Stack
from gateway.models import DomainConfig, FieldMapping, MappingKind, RoutingRule, RuleAction

DOMAIN_NAME = "demo"
POLL_INTERVAL_SECONDS = 1
IT_PATTERN = r"(?i)laptop|vpn|sso|workspace|badge|slack"


def _rule(
    session: Session,
    domain_id: int,
    name: str,
    priority: int,
    conditions: list[dict[str, str]],
    action: RuleAction,
    project: str | None = None,
    mappings: tuple[tuple[str, MappingKind, str], ...] = (),
) -> None:
    rule = RoutingRule(
        domain_id=domain_id,
        name=name,
        priority=priority,
        conditions=conditions,
        action=action,
        target_project_key=project,
        target_issue_type="Task" if project else None,
    )
    session.add(rule)
    session.flush()
    assert rule.id is not None
    for jira_field, kind, value in mappings:
        session.add(FieldMapping(rule_id=rule.id, jira_field=jira_field, kind=kind, value=value))


def seed_domain(engine: Engine, stack: Stack) -> int:
    """Create the demo domain and its rules; returns the domain id."""
    with session_scope(engine) as session:
        domain = DomainConfig(
            name=DOMAIN_NAME,
            pf_base_url=stack.pf_server.url,
            pf_api_key=PF_API_KEY,
            jira_base_url=stack.jira_server.url,
            jira_email=JIRA_EMAIL,
            jira_api_token=JIRA_TOKEN,
            fallback_project_key="HR",
            poll_interval_seconds=POLL_INTERVAL_SECONDS,
        )
        session.add(domain)
        session.flush()
        assert domain.id is not None
        domain_id = domain.id
        _rule(
            session,
            domain_id,
            "Payroll is handled in the payroll system",
            10,
            [{"path": "title", "op": "contains", "value": "payroll"}],
            RuleAction.DROP,
        )
        _rule(
            session,
            domain_id,
            "Access and equipment go to IT",
            20,
            [{"path": "title", "op": "regex", "value": IT_PATTERN}],
            RuleAction.SYNC,
            project="IT",
            mappings=(("summary", MappingKind.TEMPLATE, "[IT] {{title}}"),),
        )
    return domain_id


def create_admin(engine: Engine, password: str) -> str:
    """The admin account printed at start; returns its username."""
    with session_scope(engine) as session:
        create_user(session, ADMIN_USERNAME, password)
    return ADMIN_USERNAME
