"""Lineage: how a Jira issue names the PeopleForce task it was made for.

Jira has no idempotency key, so every issue the gateway creates carries the tracking
label and an entity property naming its task. Orphan recovery, the return vector and
the sweeper find issues by these, and must read them the same way.
"""

from __future__ import annotations

from typing import Any

from gateway.models import DomainConfig


def lineage(domain: DomainConfig, pf_task_id: int) -> dict[str, Any]:
    """The entity property written on every issue: how an orphan finds its task again."""
    return {"pf_task_id": pf_task_id, "domain": domain.name, "domain_id": domain.id}


def lineage_matches(value: Any, domain: DomainConfig) -> int | None:
    """The task id in a lineage property that belongs to ``domain``, else None."""
    if not isinstance(value, dict):
        return None
    if value.get("domain_id") != domain.id and value.get("domain") != domain.name:
        return None
    task_id = value.get("pf_task_id")
    return task_id if isinstance(task_id, int) else None


def jql_string(value: str) -> str:
    """A JQL string literal (the tracking label is admin input and may hold quotes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def orphan_jql(domain: DomainConfig, minutes: int) -> str:
    """Issues the gateway may have made in the last ``minutes``: labelled, or created by
    its own account - a person may remove the label before the lost create is found,
    and a creator cannot be edited. The lineage property decides which task each is."""
    return (
        f"(labels = {jql_string(domain.tracking_label)} OR creator = currentUser()) "
        f'AND created >= "-{minutes}m" ORDER BY created DESC'
    )
