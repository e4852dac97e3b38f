"""The zombie sweeper: one JQL query repairs what lost webhooks left open.

Instead of asking Jira about every open task (O(N) requests), one paginated
query lists the labelled issues that reached ``done`` since the last successful
sweep; those still open on our side go through the webhook job's pipeline.
Every repair is a webhook that was lost.
"""

from __future__ import annotations

import logging
import math
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from gateway.clients.errors import UpstreamError
from gateway.clients.models import StopReason
from gateway.clock import as_utc, utcnow
from gateway.models import DomainConfig, EventType, SyncState
from gateway.sync.breaker import allows_writes
from gateway.sync.deps import SyncDeps
from gateway.sync.inbound import Outcome, Source, process_issue_event
from gateway.sync.ledger import Ledger
from gateway.sync.lineage import jql_string
from gateway.sync.locks import LockBusy, domain_job_lock, sweep_lock_name

log = logging.getLogger("gateway.sync.sweeper")

MIN_WINDOW = timedelta(hours=24)
SAFETY_OVERLAP = timedelta(hours=1)
SWEEP_LOCK_TIMEOUT_SECONDS = 60


@dataclass
class SweepReport:
    domain_id: int
    started_at: datetime
    window_minutes: int
    jql: str
    finished_at: datetime | None = None
    scanned: int = 0
    candidates: int = 0
    repaired: int = 0
    capped: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def sweep_window(domain: DomainConfig, now: datetime) -> timedelta:
    """Time since the last successful sweep plus an overlap; never under 24 h (or the setting)."""
    floor = max(MIN_WINDOW, timedelta(hours=domain.sweep_window_hours))
    last = as_utc(domain.last_sweep_at)
    if last is None:
        return floor
    return max(floor, now - last + SAFETY_OVERLAP)


def sweep_jql(domain: DomainConfig, window: timedelta) -> str:
    minutes = math.ceil(window.total_seconds() / 60)
    return (
        f"labels = {jql_string(domain.tracking_label)} AND statusCategory = Done "
        f'AND updated >= "-{minutes}m"'
    )


def next_sweep_after(now: datetime, sweep_time: str) -> datetime:
    """The next daily ``HH:MM`` (UTC) strictly after ``now``."""
    try:
        hour, minute = (int(part) for part in sweep_time.split(":", 1))
        at = time(hour, minute)
    except ValueError:
        at = time(3, 0)
    candidate = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
    return candidate if candidate > now else candidate + timedelta(days=1)


async def run_sweep(deps: SyncDeps, domain_id: int) -> SweepReport | None:
    """The job body of ``zombie_recovery_task`` for one domain."""
    try:
        lock = domain_job_lock(deps.redis, sweep_lock_name(domain_id), SWEEP_LOCK_TIMEOUT_SECONDS)
        async with lock:
            return await _sweep(deps, domain_id)
    except LockBusy:
        log.info("domain %s: a sweep is already running", domain_id)
        return None


async def _sweep(deps: SyncDeps, domain_id: int) -> SweepReport | None:
    ledger = Ledger(deps.engine, domain_id)
    domain = await ledger.domain()
    if domain is None:
        return None
    if not allows_writes(domain):
        # The credentials are refused: the sweep waits for the breaker to close and its
        # window does not move, so the next sweep covers this one's time too.
        await ledger.update_domain(
            next_sweep_at=utcnow() + timedelta(seconds=deps.settings.breaker_probe_seconds)
        )
        return None
    started = utcnow()
    window = sweep_window(domain, started)
    report = SweepReport(
        domain_id=domain_id,
        started_at=started,
        window_minutes=math.ceil(window.total_seconds() / 60),
        jql=sweep_jql(domain, window),
    )
    done_ids = await _done_issue_ids(deps, domain, report)
    candidates = await ledger.open_states_for_issues(done_ids)
    report.candidates = len(candidates)
    await _repair(deps, report, candidates)
    report.finished_at = utcnow()
    await _record_sweep(ledger, domain, report)
    return report


async def _done_issue_ids(deps: SyncDeps, domain: DomainConfig, report: SweepReport) -> list[str]:
    """Every issue the sweep's search lists, paged to the end or to the hard cap.

    A cap that is hit is an error of the sweep, so its window stays where it was.
    """
    settings = deps.settings
    pages = deps.jira(domain).iter_search_pages(
        report.jql,
        fields=["status"],
        max_results=settings.sweep_page_size,
        max_pages=settings.sweep_max_pages,
    )
    done_ids: list[str] = []
    try:
        async with aclosing(pages):
            async for page in pages:
                report.scanned += len(page.issues)
                done_ids.extend(issue.id for issue in page.issues)
                if page.stop_reason == StopReason.CAP:
                    note_cap(report, settings.sweep_max_pages)
    except UpstreamError as error:
        report.errors.append(f"search failed: {error}")
    return done_ids


def note_cap(report: SweepReport, max_pages: int) -> None:
    """The search stopped at its page cap: say so, and keep the window where it was."""
    report.capped = True
    report.errors.append(
        f"search stopped at the cap of {max_pages} pages ({report.scanned} issues); the "
        "window does not advance: raise GATEWAY_SWEEP_MAX_PAGES"
    )


async def _repair(deps: SyncDeps, report: SweepReport, candidates: list[SyncState]) -> None:
    """Each open row whose issue is done goes through the webhook job's pipeline."""
    for state in candidates:
        if state.jira_issue_id is None:
            continue
        try:
            outcome = await process_issue_event(
                deps, report.domain_id, state.jira_issue_id, source=Source.SWEEP
            )
        except (UpstreamError, LockBusy) as error:
            report.errors.append(f"issue {state.jira_issue_key or state.jira_issue_id}: {error}")
            continue
        if outcome == Outcome.COMPLETED:
            report.repaired += 1


async def _record_sweep(ledger: Ledger, domain: DomainConfig, report: SweepReport) -> None:
    started = report.started_at
    finished = report.finished_at or utcnow()
    changes: dict[str, object] = {"next_sweep_at": next_sweep_after(started, domain.sweep_time)}
    if report.ok:
        # Only a complete sweep moves the window forward: a failed one is covered next time.
        changes["last_sweep_at"] = started
    await ledger.update_domain(**changes)
    await ledger.record(
        EventType.SWEEP,
        f"scanned {report.scanned}, repaired {report.repaired}"
        + (f", {len(report.errors)} errors" if report.errors else ""),
        details={
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat(),
            "window_minutes": report.window_minutes,
            "jql": report.jql,
            "scanned": report.scanned,
            "candidates": report.candidates,
            "repaired": report.repaired,
            "capped": report.capped,
            "errors": report.errors[:20],
        },
    )
