"""The demo's configuration: one domain, its routing rules and an admin account.

Two Jira projects with different workflows: IT (no direct path to Done, so the
gateway walks the workflow) for access and equipment work, HR (simple) as the
fallback, and a DROP rule for payroll tasks, which live in the payroll system.
"""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.admin.accounts import create_user
from gateway.db import session_scope
from gateway.demo.stack import GatewayStack
from gateway.models import MappingKind, RuleAction

DOMAIN_NAME = "demo"
ADMIN_USERNAME = "admin"
IT_PATTERN = r"(?i)laptop|vpn|sso|workspace|badge|slack"


def seed_domain(stack: GatewayStack) -> int:
    """Create the demo domain (ticking every second) and its rules; returns the domain id."""
    domain_id = stack.add_domain(name=DOMAIN_NAME)
    stack.add_rule(
        "Payroll is handled in the payroll system",
        [{"path": "title", "op": "contains", "value": "payroll"}],
        action=RuleAction.DROP,
        priority=10,
    )
    stack.add_rule(
        "Access and equipment go to IT",
        [{"path": "title", "op": "regex", "value": IT_PATTERN}],
        project="IT",
        issue_type="Task",
        priority=20,
        mappings=(("summary", MappingKind.TEMPLATE, "[IT] {{title}}"),),
    )
    return domain_id


def create_admin(engine: Engine, password: str) -> str:
    """The admin account printed at start; returns its username."""
    with session_scope(engine) as session:
        create_user(session, ADMIN_USERNAME, password)
    return ADMIN_USERNAME
