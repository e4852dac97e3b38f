"""The reconciler: read every tracked issue by id and repair what people did in Jira.

The sweep finds lost webhooks with one JQL query, but only for issues that still
carry the tracking label and reached done; people also strip labels, delete,
move, reopen and edit issues. On its own schedule (``reconcile_interval_minutes``,
hourly by default) a pass reads, by id and without any JQL, the issue of every
open mapping plus those of mappings completed within ``reopen_window_days``, 100
per ``POST /rest/api/3/issue/bulkfetch`` request and only the fields it compares
(status, labels, project and the fields the gateway wrote). That is
``ceil(mappings / 100)`` requests a pass, and no write anywhere when nothing
drifted; what did drift is repaired by ``reconcile_repairs``. The CLI's
``gateway reconcile`` and the worker's job run this same pass.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from gateway.clients.errors import UpstreamError
from gateway.clients.jira_bulk import MAX_BULK_FETCH
from gateway.clock import as_utc, utcnow
from gateway.db import offloaded
from gateway.models import DomainConfig, EventType, SyncState, SyncStatus
from gateway.sync.deps import SyncDeps
from gateway.sync.drift import fields_to_read
from gateway.sync.ledger import Ledger
from gateway.sync.locks import LockBusy, domain_job_lock, reconcile_lock_name
from gateway.sync.reconcile_repairs import ReconcileReport, RepairRun, TrackedRow, repair_issue

log = logging.getLogger("gateway.sync.reconciler")

RECONCILE_LOCK_TIMEOUT_SECONDS = 60

__all__ = [
    "ReconcileReport",
    "TrackedMappings",
    "reconcile_due",
    "reconcile_pass",
    "run_reconcile",
]


class TrackedMappings:
    """The mappings whose issues can still drift, read a batch at a time (keyset paging),
    so a pass over any number of mappings holds one batch in memory."""

    def __init__(self, engine: Engine, domain_id: int) -> None:
        self.engine = engine
        self.domain_id = domain_id

    @offloaded
    def page(self, after_id: int, completed_since: datetime, limit: int) -> list[TrackedRow]:
        """Synced rows with an issue, open or completed since ``completed_since``."""
        query = (
            sa_select(
                col(SyncState.id),
                col(SyncState.pf_task_id),
                col(SyncState.jira_issue_id),
                col(SyncState.jira_issue_key),
                col(SyncState.is_completed),
                col(SyncState.last_synced_fields),
                col(SyncState.acknowledged_drift),
            )
            .where(
                col(SyncState.domain_id) == self.domain_id,
                col(SyncState.status) == SyncStatus.SYNCED,
                col(SyncState.jira_issue_id).is_not(None),
                col(SyncState.id) > after_id,
                or_(
                    col(SyncState.is_completed).is_(False),
                    col(SyncState.completed_at) >= completed_since,
                ),
            )
            .order_by(col(SyncState.id))
            .limit(limit)
        )
        with Session(self.engine) as session:
            rows = session.connection().execute(query).all()
        # The query excludes null ids; the casts only tell the type checker.
        return [TrackedRow(int(r[0] or 0), r[1], str(r[2]), *r[3:]) for r in rows]

    async def batches(
        self, completed_since: datetime, size: int = MAX_BULK_FETCH
    ) -> AsyncIterator[list[TrackedRow]]:
        after = 0
        while True:
            rows = await self.page(after, completed_since, size)
            if not rows:
                return
            yield rows
            after = rows[-1].id


async def run_reconcile(deps: SyncDeps, domain_id: int) -> ReconcileReport | None:
    """The job body of ``reconcile_drift_task`` and ``gateway reconcile``: one pass,
    never two at once per domain; None when another pass holds the domain."""
    ledger = Ledger(deps.engine, domain_id)
    try:
        name = reconcile_lock_name(domain_id)
        async with domain_job_lock(deps.redis, name, RECONCILE_LOCK_TIMEOUT_SECONDS):
            domain = await ledger.domain()
            if domain is None:
                return None
            return await reconcile_pass(deps, domain)
    except LockBusy:
        log.info("domain %s: a reconcile pass is already running", domain_id)
        return None


async def reconcile_pass(deps: SyncDeps, domain: DomainConfig) -> ReconcileReport:
    """Read every tracked issue of ``domain`` in batches of 100 and repair its drift."""
    assert domain.id is not None
    started = utcnow()
    ledger = Ledger(deps.engine, domain.id)
    report = ReconcileReport(domain_id=domain.id, started_at=started)
    run = RepairRun(deps, domain, ledger, deps.jira(domain), report)
    window = started - timedelta(days=domain.reopen_window_days)
    async for batch in TrackedMappings(deps.engine, domain.id).batches(window):
        await _reconcile_batch(run, batch)
    report.finished_at = utcnow()
    await _record_pass(ledger, domain, report)
    return report


async def _reconcile_batch(run: RepairRun, batch: list[TrackedRow]) -> None:
    """One bulk read, then the repairs of the issues in it that drifted."""
    report = run.report
    report.tracked += len(batch)
    fields = fields_to_read(row.written for row in batch if not row.is_completed)
    try:
        result = await run.jira.bulk_fetch([row.issue_id for row in batch], fields)
    except UpstreamError as error:
        report.errors.append(f"bulkfetch of {len(batch)} issues failed: {error}")
        return
    finally:
        report.requests += 1
    found = {issue.id: issue for issue in result.issues}
    unread = result.error_ids
    for row in batch:
        if row.issue_id in unread:
            report.unread += 1  # Jira could not return it now: read again next pass
            continue
        try:
            await repair_issue(run, row, found.get(row.issue_id))
        except (UpstreamError, LockBusy) as error:
            report.errors.append(f"issue {row.issue_key or row.issue_id}: {error}")


async def _record_pass(ledger: Ledger, domain: DomainConfig, report: ReconcileReport) -> None:
    """Schedule the next pass and say what this one did; a quiet pass writes no event."""
    interval = timedelta(minutes=domain.reconcile_interval_minutes)
    await ledger.update_domain(
        last_reconcile_at=report.started_at,
        next_reconcile_at=report.started_at + interval,
        last_reconcile_outcome=report.summary()[:500],
    )
    noticed = report.fields_left or report.reopens_left
    if report.repaired or noticed or report.errors or report.unread:
        await ledger.record(
            EventType.RECONCILE,
            report.summary(),
            details={
                "started_at": report.started_at.isoformat(),
                "tracked": report.tracked,
                "requests": report.requests,
                "repaired": report.repaired,
                "unread": report.unread,
                "errors": report.errors[:20],
            },
        )


def reconcile_due(domain: DomainConfig, now: datetime) -> bool | None:
    """Whether a pass is due; None when the domain was never scheduled (first look)."""
    next_at = as_utc(domain.next_reconcile_at)
    if next_at is None:
        return None
    last = as_utc(domain.last_reconcile_at)
    interval = timedelta(minutes=domain.reconcile_interval_minutes)
    # A shortened interval counts from the last pass, not from the old schedule.
    return next_at <= now or (last is not None and last + interval <= now)
