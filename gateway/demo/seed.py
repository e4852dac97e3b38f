"""The demo's configuration: one domain, its routing rules and an admin account.

Two Jira projects with different workflows: IT (no direct path to Done, so the
gateway walks the workflow) for access and equipment work, HR (simple) as the
fallback, and a DROP rule for payroll tasks, which live in the payroll system.
"""

from __future__ import annotations

from sqlalchemy import Engine

from fakes.peopleforce import API_PREFIX
from gateway.admin.accounts import create_user
from gateway.db import session_scope
from gateway.demo.stack import GatewayStack
from gateway.models import MappingKind, RuleAction

DOMAIN_NAME = "demo"
ADMIN_USERNAME = "admin"
IT_PATTERN = r"(?i)laptop|vpn|sso|workspace|badge|slack"


def add_drop_then_it_rules(
    stack: GatewayStack,
    drop: tuple[str, str],
    it: tuple[str, dict[str, str]],
    issue_type: str = "Task",
) -> None:
    """The demo's two rules, also set up by tests: ``drop`` (name, word) drops the tasks whose
    title contains the word, at priority 10; ``it`` (name, title condition's op and value)
    sends its tasks to project IT with an "[IT] " summary, at priority 20."""
    name, word = drop
    stack.add_rule(
        name,
        [{"path": "title", "op": "contains", "value": word}],
        action=RuleAction.DROP,
        priority=10,
    )
    name, condition = it
    stack.add_rule(
        name,
        [{"path": "title", **condition}],
        project="IT",
        issue_type=issue_type,
        priority=20,
        mappings=(("summary", MappingKind.TEMPLATE, "[IT] {{title}}"),),
    )


def seed_domain(stack: GatewayStack) -> int:
    """Create the demo domain (ticking every second) and its rules; returns the domain id."""
    # The fake serves PeopleForce's real API path, so the demo domain is written as an
    # operator writes a real one (https://app.peopleforce.io/api/public/v3).
    domain_id = stack.add_domain(name=DOMAIN_NAME, pf_base_url=stack.pf_server.url + API_PREFIX)
    add_drop_then_it_rules(
        stack,
        ("Payroll is handled in the payroll system", "payroll"),
        ("Access and equipment go to IT", {"op": "regex", "value": IT_PATTERN}),
    )
    return domain_id


def create_admin(engine: Engine, password: str) -> str:
    """The admin account printed at start; returns its username."""
    with session_scope(engine) as session:
        create_user(session, ADMIN_USERNAME, password)
    return ADMIN_USERNAME
