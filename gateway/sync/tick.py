"""The forward vector: one polling tick of one domain (PeopleForce -> Jira).

A tick pages through the open PeopleForce tasks, hashes each, and does nothing
more for unchanged ones. New tasks are routed and created in Jira with the
tracking label and the lineage property in the same request; changed ones get
their changed fields (``issue_writes``); tasks that left the open list are
confirmed completed and their issues moved to a ``done`` status (``completion``).
Per-task work runs under the (domain, task) Redis lock the return vector also takes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextlib import aclosing
from dataclasses import asdict
from datetime import datetime, timedelta

from gateway.clients.errors import TruncatedListingError
from gateway.clients.models import PFTask, StopReason
from gateway.clients.peopleforce import COMPLETE_STOP_REASONS
from gateway.clock import as_utc, utcnow
from gateway.models import DomainConfig, EventType, SyncState, SyncStatus
from gateway.monitoring.tick_status import TickProgress, record_report
from gateway.monitoring.tracing import traced
from gateway.runtime.unavailable import first_line
from gateway.security.exposure import upstream_error_text
from gateway.sync.breaker import refused_credentials
from gateway.sync.completion import handle_gone, reopened_in_peopleforce
from gateway.sync.deps import SyncDeps
from gateway.sync.hashing import canonical_json, state_digest
from gateway.sync.issue_writes import parse_pf_time, route_and_create, update_issue
from gateway.sync.ledger import PARKED_UPDATE, Ledger, StateSummary
from gateway.sync.locks import TICK_LOCK_TIMEOUT_SECONDS, LockBusy, domain_job_lock, tick_lock_name
from gateway.sync.orphans import adopt_orphan
from gateway.sync.routing import DomainDefaults, RuleSpec
from gateway.sync.tick_context import TaskWork, TickContext, TickReport
from gateway.sync.tick_index import SEEN, TickIndex, read_tick_index, unchanged_entry

log = logging.getLogger("gateway.sync.tick")

# 500 000 open tasks at PeopleForce's 50 per page; past this a listing is "cut short".
MAX_OPEN_PAGES = 10_000
PARTIAL = "partial"
"""A tick that ran to the end, but the work of some tasks failed."""
DEGRADED = "degraded"
"""The domain's circuit breaker is open: the tick wrote nothing (``gateway.sync.breaker``)."""
RULES_FINGERPRINT_KEY = "gateway:rules:fingerprint:{domain_id}"
# How early a tick may start and still count as its slot's tick (see ``next_slot``).
SLOT_TOLERANCE = timedelta(seconds=1)


def rules_fingerprint(rules: list[RuleSpec], defaults: DomainDefaults) -> str:
    """A digest of everything routing depends on, to notice rule edits between ticks."""
    return hashlib.sha256(
        canonical_json({"rules": [asdict(r) for r in rules], "defaults": asdict(defaults)})
    ).hexdigest()


def unchanged(state: SyncState | StateSummary, digest: str) -> bool:
    """Whether a task needs no work: same hash as last synced, and not a pending create."""
    if state.last_sync_hash != digest:
        return False
    # A task open again after completion changes its hash (completed, completed_at),
    # so an equal hash on a completed row cannot happen; pending creates always retry.
    return state.status != SyncStatus.PENDING_CREATE


async def sync_domain(tick: TickContext) -> TickReport:
    """The tick itself: changed open tasks first, then the tasks that left the list."""
    tick.rules = await tick.ledger.rules()
    if await _rules_changed(tick):
        # A dropped task's hash did not change, but the rules that dropped it did.
        await tick.ledger.forget_hashes(SyncStatus.DROPPED)
    index = await read_tick_index(tick.deps.engine, tick.domain_id)
    work = await _changed_open_tasks(tick, index)
    if work:
        pending = [
            index.summaries[task.id]
            for task, _ in work
            if task.id in index.summaries
            and index.summaries[task.id].status == SyncStatus.PENDING_CREATE
        ]
        await tick.orphans.search(pending)
        progress = TickProgress(tick.deps.redis, tick.domain_id)
        await progress.begin(len(work))

        async def sync_one(item: tuple[PFTask, str]) -> None:
            task, digest = item
            work = TaskWork(task.id, PARKED_UPDATE, digest, {"task": task.raw})
            await tick.guarded(work, sync_open_task, tick, task, digest)
            await progress.step(tick.report.created)

        try:
            await tick.bounded(work, sync_one)
        finally:
            await progress.end()
    gone = index.unseen_open(utcnow())
    del index  # the gone tasks are read in full below; the index is not needed any more
    if gone:
        await handle_gone(tick, await tick.ledger.states_for(gone))
    await tick.park_exhausted()
    await tick.breaker.after_creates(
        refused=tick.creates_refused, created=tick.report.created + tick.report.adopted
    )
    tick.report.breaker_opened = int(tick.breaker.opened_now)
    return tick.report


async def _changed_open_tasks(tick: TickContext, index: TickIndex) -> list[tuple[PFTask, str]]:
    """Page through the open tasks, marking each seen and keeping the ones that changed.

    The next page is fetched while this one is hashed (``prefetch``). Only changed
    tasks are parsed into models; an unchanged one costs its hash and one lookup.
    Memory stays flat at any number of tasks. A listing cut short raises before
    anything acts on it: a task missing from it would be taken for completed.
    """
    work: list[tuple[PFTask, str]] = []
    stop_reason: StopReason | None = None
    pages = unchanged = 0
    now = utcnow()
    listing = tick.pf.iter_raw_pages(False, max_pages=MAX_OPEN_PAGES, prefetch=True)
    async with aclosing(listing) as pages_read:
        async for page in pages_read:
            pages += 1
            stop_reason = page.stop_reason
            for raw in page.items:
                task_id = raw.get("id")
                if type(task_id) is not int:
                    task_id = page.task_id(raw)
                entry = index.see(task_id)
                if entry is SEEN:
                    continue  # pages shift while they are read
                digest = state_digest(raw)
                if unchanged_entry(entry, digest):
                    unchanged += 1
                    continue
                summary = index.summaries.get(task_id)
                if summary is not None and summary.waiting(now):
                    tick.report.backing_off += 1
                else:
                    work.append((page.task(raw), digest.hex()))
    if stop_reason not in COMPLETE_STOP_REASONS:
        raise TruncatedListingError("peopleforce open tasks", pages)
    tick.report.unchanged += unchanged
    tick.report.open_tasks = index.seen
    return work


async def _rules_changed(tick: TickContext) -> bool:
    """Whether the routing configuration differs from the one the last tick used."""
    fingerprint = rules_fingerprint(tick.rules, tick.defaults)
    key = RULES_FINGERPRINT_KEY.format(domain_id=tick.domain_id)
    previous = await tick.deps.redis.getset(key, fingerprint)
    if isinstance(previous, bytes):
        previous = previous.decode()
    return previous is not None and previous != fingerprint


@traced("tick.write", attributes=lambda tick, task, digest: {"gateway.pf_task_id": task.id})
async def sync_open_task(tick: TickContext, task: PFTask, digest: str) -> None:
    """Decide what one changed open task needs, under its lock, and do it."""
    # Re-read under the lock: the return vector may have written meanwhile.
    state = await tick.ledger.state(task.id)
    if state is not None and unchanged(state, digest):
        tick.report.unchanged += 1
        return
    if state is None:
        await _first_sight(tick, task, digest)
    elif state.is_completed and not task.completed:
        await reopened_in_peopleforce(tick, task, digest, state)
    elif state.status == SyncStatus.SYNCED:
        await update_issue(tick, task, digest, state)
    elif state.status == SyncStatus.PENDING_CREATE:
        await _retry_pending_create(tick, task, digest, state)
    elif state.status in (SyncStatus.DROPPED, SyncStatus.DEAD):
        await route_and_create(tick, task, digest, state)
    else:  # historical: remember the new hash, never create
        state.last_sync_hash = digest
        await tick.ledger.save(state)


async def _first_sight(tick: TickContext, task: PFTask, digest: str) -> None:
    since = as_utc(tick.domain.sync_since)
    created_at = parse_pf_time(task.created_at)
    if since is None or created_at is None or created_at >= since:
        await route_and_create(tick, task, digest, None)
        return
    state = SyncState(
        domain_id=tick.domain_id,
        pf_task_id=task.id,
        status=SyncStatus.HISTORICAL,
        last_sync_hash=digest,
        pf_created_at=created_at,
    )
    await tick.ledger.save(state)
    await tick.ledger.record(
        EventType.HISTORICAL,
        f"created {task.created_at}, before sync_since {since.isoformat()}",
        state=state,
    )
    tick.report.historical += 1


async def _retry_pending_create(
    tick: TickContext, task: PFTask, digest: str, state: SyncState
) -> None:
    """A create of unknown outcome: adopt its orphan, create again, or wait for a search."""
    if not tick.orphans.covers(task.id):
        tick.report.deferred += 1
        return
    orphan = tick.orphans.orphan_of(task.id)
    if orphan is None:
        await route_and_create(tick, task, digest, state)
        return
    state = await adopt_orphan(tick, state, orphan)
    await update_issue(tick, task, digest, state)


@traced("tick", attributes=lambda deps, domain_id, **_: {"gateway.domain_id": domain_id})
async def run_tick(deps: SyncDeps, domain_id: int, *, force: bool = False) -> TickReport | None:
    """The job body of ``sync_pf_to_jira_task``: one tick, never two at once per domain.

    ``force`` ticks a paused domain too (an operator's explicit request).
    """
    ledger = Ledger(deps.engine, domain_id)
    try:
        lock = domain_job_lock(deps.redis, tick_lock_name(domain_id), TICK_LOCK_TIMEOUT_SECONDS)
        async with lock:
            domain = await ledger.domain()
            if domain is None or not (domain.is_active or force):
                return None
            return await _recorded_tick(deps, ledger, domain)
    except LockBusy:
        log.info("domain %s: a tick is already running", domain_id)
        return None


def next_slot(domain: DomainConfig, started: datetime) -> datetime:
    """The next tick's slot: this tick's slot plus the interval, so ticks do not drift.

    This tick took its slot (``next_poll_at``) when it starts at most a second early
    (the queue's millisecond rounding) and less than one interval late. A tick far
    behind (workers were down) or well ahead (an operator's "run tick now") starts
    the rhythm again from its own start, so no burst of catch-up ticks follows.
    """
    interval = timedelta(seconds=domain.poll_interval_seconds)
    slot = as_utc(domain.next_poll_at)
    if slot is not None and started - interval < slot <= started + SLOT_TOLERANCE:
        return slot + interval
    return started + interval


async def _recorded_tick(deps: SyncDeps, ledger: Ledger, domain: DomainConfig) -> TickReport:
    """Run the tick and record its outcome on the domain; a failed tick is a report too."""
    started = utcnow()
    # Schedule the next tick first: a failing tick waits its interval, no hot loop.
    await ledger.update_domain(last_poll_at=started, next_poll_at=next_slot(domain, started))
    clock = time.perf_counter()
    tick = TickContext(deps, domain)
    report = await _breaker_guarded_tick(tick)
    elapsed_ms = int((time.perf_counter() - clock) * 1000)
    failures = domain.consecutive_tick_failures + 1
    if report.outcome in ("ok", PARTIAL):
        failures = 0
    elif report.outcome == DEGRADED:
        failures = domain.consecutive_tick_failures
    # Errors quote upstream answers: stored, queued for the progress view and printed
    # only as one escaped, bounded line each.
    report.errors[:] = [upstream_error_text(error) for error in report.errors]
    await ledger.update_domain(
        last_tick_duration_ms=elapsed_ms,
        last_tick_outcome=_outcome_line(report),
        last_tick_error=report.errors[0] if report.errors else None,
        consecutive_tick_failures=failures,
    )
    if report.outcome not in ("ok", PARTIAL, DEGRADED):
        await ledger.record(EventType.TICK_FAILED, report.errors[-1])
    await record_report(
        deps.redis,
        ledger.domain_id,
        outcome=report.outcome,
        summary=report.summary(),
        errors=report.errors,
        started_at=started,
        seconds=elapsed_ms / 1000,
    )
    return report


async def _breaker_guarded_tick(tick: TickContext) -> TickReport:
    """The tick, unless the domain's breaker is open and its probe still fails."""
    report = tick.report
    try:
        if tick.breaker.is_open and not await tick.breaker.probe(tick.domain, tick.pf, tick.jira):
            report.outcome = DEGRADED
            report.errors.append(f"circuit breaker open: {tick.domain.breaker_reason}")
            report.listing_skipped = tick.breaker.waiting_line(tick.domain)
            return report
        await sync_domain(tick)
    except Exception as error:
        report.outcome = "failed"
        # SQLAlchemy's text spans lines (SQL, parameters, link); an upstream's is untrusted
        cause = upstream_error_text(first_line(error))
        report.errors.append(cause)
        log.warning("tick of domain %s failed: %s", tick.domain.name, cause)
        if refused_credentials(error):
            await tick.breaker.failed(error)
            report.breaker_opened = int(tick.breaker.opened_now)
    if report.outcome == "ok" and report.failed:
        report.outcome = PARTIAL
    await tick.breaker.save_strikes()
    return report


def _outcome_line(report: TickReport) -> str:
    """What the dashboard shows: the counts, flagged when tasks failed or were parked."""
    if report.outcome == "ok":
        return report.summary()
    if report.outcome == PARTIAL:
        return f"{PARTIAL}: {report.summary()}"
    if report.outcome == DEGRADED:
        return f"{DEGRADED}: circuit breaker open"
    return report.outcome
