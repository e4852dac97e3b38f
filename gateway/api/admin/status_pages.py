"""A domain's live status: the tick now (queued, running and how far), the last
tick's report, errors, lag, and the circuit breaker where the domain has one.

The domain page polls the fragment every two seconds, so "Run tick now" is followed
by the tick's progress and then its report without a reload; the dashboard's cards
poll the one-line form for a running tick's progress.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, func, select

from gateway.api.admin.deps import DomainSnapshotDep, EngineDep, PageUser, RedisDep
from gateway.api.admin.templating import render
from gateway.clock import utcnow
from gateway.db import in_session
from gateway.models import SyncState, SyncStatus
from gateway.monitoring.tick_status import read_tick_status
from gateway.observe import sync_lag_seconds

router = APIRouter(include_in_schema=False)

# Circuit-breaker fields a domain may carry; shown when present, nothing otherwise.
BREAKER_FIELDS = ("breaker_opened_at", "breaker_reason", "breaker_next_probe_at")


def _oldest_pending_create(session: Session, domain_id: int) -> datetime | None:
    query = select(func.min(SyncState.intent_at)).where(
        SyncState.domain_id == domain_id, col(SyncState.status) == SyncStatus.PENDING_CREATE
    )
    return session.exec(query).one()


@router.get("/admin/domains/{domain}/status")
async def domain_status(
    request: Request,
    principal: PageUser,
    domain: DomainSnapshotDep,
    engine: EngineDep,
    redis: RedisDep,
    compact: bool = False,
) -> HTMLResponse:
    """The live status card (``compact``: the running tick's progress line alone)."""
    domain_id = domain.id or 0
    status = await read_tick_status(redis, domain_id)
    oldest = await in_session(engine, lambda s: _oldest_pending_create(s, domain_id))
    breaker = {
        name.removeprefix("breaker_"): getattr(domain, name)
        for name in BREAKER_FIELDS
        if getattr(domain, name, None) is not None
    }
    context = {
        "domain": domain,
        "status": status,
        "lag": sync_lag_seconds(domain, oldest, utcnow()) if domain.is_active else None,
        "breaker": breaker,
    }
    template = "partials/tick_progress.html" if compact else "partials/domain_status.html"
    return render(request, template, context, principal=principal)
