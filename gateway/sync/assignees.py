"""The Jira assignee of a new or changed issue, looked up by the task's email.

Jira assigns by account id, PeopleForce knows an email. Looking one up costs a Jira
request, so hits are cached in Redis for a day and misses for an hour (someone may
get a Jira account later); the cache is per domain, keyed by a digest of the email.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from gateway.clients.models import PFTask
from gateway.models import EventType
from gateway.sync.routing import RouteDecision

if TYPE_CHECKING:
    from gateway.sync.tick_context import TickContext

ACCOUNT_CACHE_TTL_SECONDS = 24 * 3600
ACCOUNT_MISS_TTL_SECONDS = 3600


async def fields_with_assignee(
    tick: TickContext, decision: RouteDecision, task: PFTask
) -> dict[str, Any]:
    """The decision's fields plus the assignee, when a Jira user has the task's email."""
    fields = dict(decision.fields)
    email = decision.assignee_email
    if not email or "assignee" in fields:
        return fields
    account_id = await cached_account_id(tick, email)
    if account_id:
        fields["assignee"] = {"accountId": account_id}
    else:
        await tick.ledger.record(
            EventType.ASSIGNEE_UNMATCHED,
            "no Jira user with the assignee's email; the issue stays unassigned",
            pf_task_id=task.id,
        )
    return fields


async def cached_account_id(tick: TickContext, email: str) -> str | None:
    """The Jira account id for ``email``, from the cache or one Jira lookup."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    key = f"gateway:jira:account:{tick.domain_id}:{digest}"
    redis = tick.deps.redis
    cached = await redis.get(key)
    if cached is not None:
        value = cached.decode() if isinstance(cached, bytes) else str(cached)
        return value or None
    account_id = await tick.jira.find_account_id(email)
    ttl = ACCOUNT_CACHE_TTL_SECONDS if account_id else ACCOUNT_MISS_TTL_SECONDS
    await redis.set(key, account_id or "", ex=ttl)
    return account_id
