"""The forward vector: one polling tick of one domain (PeopleForce -> Jira).

A tick pages through the open PeopleForce tasks, hashes each, and does nothing
more for unchanged ones. New tasks are routed and created in Jira with the
tracking label and the lineage property in the same request; changed ones get
their changed fields; tasks that left the open list are confirmed completed
and their issues moved to a ``done`` status. Per-task work runs under the
(domain, task) Redis lock the return vector also takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway.clients.errors import (
    NotFoundError,
    PermanentUpstreamError,
    TransientUpstreamError,
    TruncatedListingError,
    UpstreamError,
)
from gateway.clients.jira import JiraClient
from gateway.clients.models import CreatedIssue, JiraIssue, PFTask, StopReason
from gateway.clients.peopleforce import COMPLETE_STOP_REASONS, PeopleForceClient
from gateway.clock import as_utc, utcnow
from gateway.models import DeletionPolicy, DomainConfig, EventType, SyncState, SyncStatus
from gateway.sync.deps import SyncDeps
from gateway.sync.hashing import canonical_json, state_hash
from gateway.sync.ledger import Ledger, StateSummary
from gateway.sync.locks import (
    TICK_LOCK_TIMEOUT_SECONDS,
    LockBusy,
    redis_lock,
    task_lock,
    tick_lock_name,
)
from gateway.sync.routing import DomainDefaults, RouteAction, RouteDecision, RuleSpec, diff_fields
from gateway.sync.routing import route as route_task

log = logging.getLogger("gateway.sync.forward")

DONE_CATEGORY = "done"
ACCOUNT_CACHE_TTL_SECONDS = 24 * 3600
ACCOUNT_MISS_TTL_SECONDS = 3600
ORPHAN_WINDOW_MARGIN = timedelta(minutes=10)
COMPLETED_SCAN_MAX_PAGES = 100
RULES_FINGERPRINT_KEY = "gateway:rules:fingerprint:{domain_id}"


@dataclass
class TickReport:
    """What one tick did; counters, not a log (the audit log has the details)."""

    domain_id: int
    outcome: str = "ok"
    open_tasks: int = 0
    unchanged: int = 0
    created: int = 0
    adopted: int = 0
    updated: int = 0
    completed: int = 0
    reopened: int = 0
    dropped: int = 0
    historical: int = 0
    dead_lettered: int = 0
    deleted: int = 0
    recreated: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the dashboard and the CLI, e.g. ``12 open, 2 created, 1 dropped``."""
        counts = [
            f"{value} {name.replace('_', ' ')}"
            for name, value in vars(self).items()
            if isinstance(value, int) and name != "domain_id" and value
        ]
        return ", ".join(counts).replace("open tasks", "open") or "no open tasks"


def rules_fingerprint(rules: list[RuleSpec], defaults: DomainDefaults) -> str:
    """A digest of everything routing depends on, to notice rule edits between ticks."""
    return hashlib.sha256(
        canonical_json({"rules": [asdict(r) for r in rules], "defaults": asdict(defaults)})
    ).hexdigest()


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
    """A JQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


class ForwardSync:
    """One tick of one domain; build a new one per tick."""

    # 50 000 open tasks at PeopleForce's 50 per page; past this a listing is "cut short".
    MAX_OPEN_PAGES = 1000

    def __init__(self, deps: SyncDeps, domain: DomainConfig) -> None:
        if domain.id is None:
            raise ValueError("domain is not saved")
        self.deps = deps
        self.domain = domain
        self.domain_id: int = domain.id
        self.ledger = Ledger(deps.engine, domain.id)
        self.pf: PeopleForceClient = deps.peopleforce(domain)
        self.jira: JiraClient = deps.jira(domain)
        self.defaults = DomainDefaults.from_model(domain)
        self.rules: list[RuleSpec] = []
        self.report = TickReport(domain_id=domain.id)
        self.orphans: dict[int, JiraIssue] = {}
        self.orphan_searched: set[int] = set()

    # --- the tick -------------------------------------------------------------------------

    async def run(self) -> TickReport:
        self.rules = self.ledger.rules()
        if await self._rules_changed():
            # A dropped task's hash did not change, but the rules that dropped it did.
            self.ledger.forget_hashes(SyncStatus.DROPPED)
        index = self.ledger.state_index()
        open_ids, work = await self._changed_open_tasks(index)
        if work:
            pending = [
                index[task.id]
                for task, _ in work
                if task.id in index and index[task.id].status == SyncStatus.PENDING_CREATE
            ]
            await self._find_orphans(pending)
            await self._bounded(
                [
                    self._guarded(task.id, self._sync_open_task, task, digest)
                    for task, digest in work
                ]
            )
        gone = [
            summary.pf_task_id
            for summary in index.values()
            if summary.pf_task_id not in open_ids
            and not summary.is_completed
            and summary.status != SyncStatus.DELETED
        ]
        if gone:
            await self._handle_gone(self.ledger.states_for(gone))
        return self.report

    async def _changed_open_tasks(
        self, index: dict[int, StateSummary]
    ) -> tuple[set[int], list[tuple[PFTask, str]]]:
        """Page through the open tasks, keeping only their ids and the ones that changed.

        Memory stays flat at any number of tasks. A listing cut short raises before
        anything acts on it: a task missing from it would be taken for completed.
        """
        open_ids: set[int] = set()
        work: list[tuple[PFTask, str]] = []
        stop_reason: StopReason | None = None
        pages = 0
        listing_pages = self.pf.iter_task_pages(False, max_pages=self.MAX_OPEN_PAGES)
        async with aclosing(listing_pages) as listing:
            async for page in listing:
                pages += 1
                stop_reason = page.stop_reason
                for task in page.tasks:
                    if task.id in open_ids:
                        continue  # pages shift while they are read
                    open_ids.add(task.id)
                    digest = state_hash(task.raw)
                    summary = index.get(task.id)
                    if summary is not None and self._unchanged(summary, digest):
                        self.report.unchanged += 1
                    else:
                        work.append((task, digest))
        if stop_reason not in COMPLETE_STOP_REASONS:
            raise TruncatedListingError("peopleforce open tasks", pages)
        self.report.open_tasks = len(open_ids)
        return open_ids, work

    async def _rules_changed(self) -> bool:
        """Whether the routing configuration differs from the one the last tick used."""
        fingerprint = rules_fingerprint(self.rules, self.defaults)
        key = RULES_FINGERPRINT_KEY.format(domain_id=self.domain_id)
        previous = await self.deps.redis.getset(key, fingerprint)
        if isinstance(previous, bytes):
            previous = previous.decode()
        return previous is not None and previous != fingerprint

    @staticmethod
    def _unchanged(state: SyncState | StateSummary, digest: str) -> bool:
        if state.last_sync_hash != digest:
            return False
        # A task open again after completion changes its hash (completed, completed_at),
        # so an equal hash on a completed row cannot happen; pending creates always retry.
        return state.status != SyncStatus.PENDING_CREATE

    async def _bounded(self, jobs: list[Any]) -> None:
        semaphore = asyncio.Semaphore(max(1, self.domain.max_concurrency))

        async def limited(job: Any) -> None:
            async with semaphore:
                await job

        await asyncio.gather(*(limited(job) for job in jobs))

    async def _guarded(self, pf_task_id: int, handler: Any, *args: Any) -> None:
        """Run per-task work under the task lock; one task's failure never stops the tick."""
        try:
            async with task_lock(self.deps.redis, self.domain_id, pf_task_id):
                await handler(*args)
        except LockBusy:
            self.report.deferred += 1
        except UpstreamError as error:
            self.report.failed += 1
            self.report.errors.append(f"task {pf_task_id}: {error}")
            self.ledger.record(
                EventType.FAILED,
                f"{type(error).__name__}: {error}",
                pf_task_id=pf_task_id,
                details={"status": error.status, "service": error.service},
            )

    # --- open tasks -----------------------------------------------------------------------

    async def _sync_open_task(self, task: PFTask, digest: str) -> None:
        # Re-read under the lock: the return vector may have written meanwhile.
        state = self.ledger.state(task.id)
        if state is not None and self._unchanged(state, digest):
            self.report.unchanged += 1
            return
        if state is None:
            await self._first_sight(task, digest)
            return
        if state.is_completed and not task.completed:
            await self._reopened_in_peopleforce(task, digest, state)
            return
        if state.status == SyncStatus.SYNCED:
            await self._update(task, digest, state)
        elif state.status == SyncStatus.PENDING_CREATE:
            await self._retry_pending(task, digest, state)
        elif state.status in (SyncStatus.DROPPED, SyncStatus.DEAD):
            await self._route_and_create(task, digest, state)
        else:  # historical: remember the new hash, never create
            state.last_sync_hash = digest
            self.ledger.save(state)

    async def _first_sight(self, task: PFTask, digest: str) -> None:
        since = as_utc(self.domain.sync_since)
        created_at = _parse_time(task.created_at)
        if since is not None and created_at is not None and created_at < since:
            state = SyncState(
                domain_id=self.domain_id,
                pf_task_id=task.id,
                status=SyncStatus.HISTORICAL,
                last_sync_hash=digest,
                pf_created_at=created_at,
            )
            self.ledger.save(state)
            self.ledger.record(
                EventType.HISTORICAL,
                f"created {task.created_at}, before sync_since {since.isoformat()}",
                state=state,
            )
            self.report.historical += 1
            return
        await self._route_and_create(task, digest, None)

    async def _route_and_create(self, task: PFTask, digest: str, state: SyncState | None) -> None:
        decision = route_task(task.raw, self.rules, self.defaults)
        state = state or SyncState(
            domain_id=self.domain_id,
            pf_task_id=task.id,
            pf_created_at=_parse_time(task.created_at),
        )
        if decision.action == RouteAction.DROP:
            state.status = SyncStatus.DROPPED
            state.rule_id = decision.rule_id
            state.last_sync_hash = digest
            self.ledger.save(state)
            self.ledger.record(EventType.DROPPED_BY_RULE, decision.reason, state=state)
            self.report.dropped += 1
            return
        if decision.action == RouteAction.UNROUTABLE:
            self._dead_letter(task, digest, state, "route", None, decision.reason, {})
            return
        await self._create(task, digest, state, decision)

    async def _create(
        self, task: PFTask, digest: str, state: SyncState, decision: RouteDecision
    ) -> None:
        fields = await self._with_assignee(decision, task)
        # Intent first: if we die after Jira created the issue, the next tick sees
        # pending_create and looks for the orphan instead of creating a second issue.
        state.status = SyncStatus.PENDING_CREATE
        state.intent_at = utcnow()
        state.rule_id = decision.rule_id
        state = self.ledger.save(state)
        properties = [{"key": self.domain.property_key, "value": lineage(self.domain, task.id)}]
        try:
            created = await self.jira.create_issue(fields, properties)
        except TransientUpstreamError as error:
            self.report.failed += 1
            self.ledger.record(
                EventType.FAILED,
                f"create outcome unknown ({error}); an orphan search runs before any retry",
                state=state,
            )
            return
        except PermanentUpstreamError as error:
            self._dead_letter(task, digest, state, "create", error.status, str(error), fields)
            return
        self._mark_synced(
            state,
            created,
            digest,
            fields,
            EventType.CREATED,
            decision.reason,
            {"project": decision.project_key, "issue_type": decision.issue_type},
        )
        self.report.created += 1

    def _mark_synced(
        self,
        state: SyncState,
        issue: CreatedIssue | JiraIssue,
        digest: str | None,
        fields: dict[str, Any] | None,
        event_type: EventType,
        reason: str,
        details: dict[str, Any] | None = None,
    ) -> SyncState:
        """Record the task's issue and why, in one transaction.

        ``digest`` and ``fields`` are what Jira is known to hold (None: unknown).
        """
        state.jira_issue_id = issue.id
        state.jira_issue_key = issue.key
        state.status = SyncStatus.SYNCED
        state.last_sync_hash = digest
        state.last_synced_fields = fields
        event = self.ledger.event(event_type, reason, state=state, details=details)
        return self.ledger.save(state, event)

    def _dead_letter(
        self,
        task: PFTask,
        digest: str,
        state: SyncState,
        operation: str,
        status: int | None,
        message: str,
        fields: dict[str, Any],
    ) -> None:
        state.status = SyncStatus.DEAD
        state.last_sync_hash = digest
        state = self.ledger.save(state)
        self.ledger.dead_letter(
            operation=operation,
            pf_task_id=task.id,
            payload={"task": task.raw, "fields": fields},
            error_status=status,
            error_message=message,
        )
        self.ledger.record(EventType.DEAD_LETTERED, message, state=state)
        self.report.dead_lettered += 1

    async def _with_assignee(self, decision: RouteDecision, task: PFTask) -> dict[str, Any]:
        fields = dict(decision.fields)
        email = decision.assignee_email
        if not email or "assignee" in fields:
            return fields
        account_id = await self._account_id(email)
        if account_id:
            fields["assignee"] = {"accountId": account_id}
        else:
            self.ledger.record(
                EventType.ASSIGNEE_UNMATCHED,
                "no Jira user with the assignee's email; the issue stays unassigned",
                pf_task_id=task.id,
            )
        return fields

    async def _account_id(self, email: str) -> str | None:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        key = f"gateway:jira:account:{self.domain_id}:{digest}"
        cached = await self.deps.redis.get(key)
        if cached is not None:
            value = cached.decode() if isinstance(cached, bytes) else str(cached)
            return value or None
        account_id = await self.jira.find_account_id(email)
        ttl = ACCOUNT_CACHE_TTL_SECONDS if account_id else ACCOUNT_MISS_TTL_SECONDS
        await self.deps.redis.set(key, account_id or "", ex=ttl)
        return account_id

    async def _update(self, task: PFTask, digest: str, state: SyncState) -> None:
        decision = route_task(task.raw, self.rules, self.defaults)
        if decision.action != RouteAction.SYNC or state.jira_issue_id is None:
            state.last_sync_hash = digest
            self.ledger.save(state)
            return
        fields = await self._with_assignee(decision, task)
        changed = diff_fields(state.last_synced_fields, fields)
        events = []
        if changed:
            try:
                await self.jira.edit_issue(state.jira_issue_id, changed)
            except NotFoundError:
                self._issue_deleted(state)
                return
            reason = f"changed: {', '.join(sorted(changed))}"
            events.append(self.ledger.event(EventType.UPDATED, reason, state=state))
            self.report.updated += 1
        state.last_sync_hash = digest
        state.last_synced_fields = fields
        self.ledger.save(state, *events)

    def _issue_deleted(self, state: SyncState) -> None:
        """The mapped issue is gone from Jira: forget it, so the next tick recreates it."""
        self.ledger.delete(state)
        self.ledger.record(
            EventType.ISSUE_DELETED,
            "mapped Jira issue no longer exists; it will be recreated on the next tick",
            state=state,
        )
        self.report.recreated += 1

    # --- crash recovery -------------------------------------------------------------------

    async def _find_orphans(self, states: Sequence[SyncState | StateSummary]) -> None:
        """One labelled search covering every stale pending create of this tick.

        Afterwards ``self.orphan_searched`` holds the tasks the search covered: only
        for those may "no orphan found" be read as "the create never happened". A
        create younger than the grace period (Jira's search is eventually consistent)
        or a failed search leaves its task for a later tick, never to a second create.
        """
        grace = timedelta(seconds=self.deps.settings.orphan_grace_seconds)
        now = utcnow()
        pending = [
            s
            for s in states
            if s.status == SyncStatus.PENDING_CREATE
            and s.intent_at is not None
            and as_utc(s.intent_at) + grace <= now
            and s.pf_task_id not in self.orphan_searched
        ]
        if not pending:
            return
        oldest = min(as_utc(s.intent_at or now) for s in pending)
        minutes = int((now - oldest + ORPHAN_WINDOW_MARGIN).total_seconds() // 60) + 1
        jql = (
            f"labels = {jql_string(self.domain.tracking_label)} "
            f'AND created >= "-{minutes}m" ORDER BY created DESC'
        )
        wanted = {s.pf_task_id for s in pending}
        found: dict[int, JiraIssue] = {}
        try:
            async for issue in self.jira.search_jql(jql, fields=["labels", "created"]):
                value = await self.jira.get_property(issue.id, self.domain.property_key)
                task_id = lineage_matches(value, self.domain)
                if task_id in wanted and task_id not in found:
                    found[task_id] = issue
        except UpstreamError as error:
            self.report.errors.append(f"orphan search failed: {error}")
            log.warning("domain %s: orphan search failed: %s", self.domain.name, error)
            return
        self.orphans.update(found)
        self.orphan_searched.update(wanted)

    def _adopt_orphan(self, state: SyncState, orphan: JiraIssue) -> SyncState:
        # Unknown what the orphan holds: no hash, no fields, so an update sends all.
        self.report.adopted += 1
        return self._mark_synced(
            state,
            orphan,
            None,
            None,
            EventType.ADOPTED,
            "found the issue a lost create made (label + property)",
        )

    async def _retry_pending(self, task: PFTask, digest: str, state: SyncState) -> None:
        if task.id not in self.orphan_searched:
            self.report.deferred += 1
            return
        orphan = self.orphans.get(task.id)
        if orphan is None:
            await self._route_and_create(task, digest, state)
            return
        state = self._adopt_orphan(state, orphan)
        await self._update(task, digest, state)

    # --- tasks that left the open list ----------------------------------------------------

    async def _handle_gone(self, gone: list[SyncState]) -> None:
        synced = {s.pf_task_id: s for s in gone if s.status == SyncStatus.SYNCED}
        # A create of unknown outcome may have made an issue: find it before closing the row.
        await self._find_orphans([s for s in gone if s.status == SyncStatus.PENDING_CREATE])
        for state in gone:
            if state.pf_task_id in synced:
                continue
            if state.status == SyncStatus.PENDING_CREATE:
                if state.pf_task_id not in self.orphan_searched:
                    continue  # too early to tell (or the search failed): next tick
                orphan = self.orphans.get(state.pf_task_id)
                if orphan is not None:
                    synced[state.pf_task_id] = self._adopt_orphan(state, orphan)
                    continue
            # Never reached Jira: nothing to transition, just stop tracking it as open.
            state.is_completed = True
            state.completed_at = utcnow()
            self.ledger.save(state)
        if not synced:
            return
        completed, exhaustive = await self._confirm_completed(set(synced))
        jobs = []
        for task_id, state in synced.items():
            if task_id in completed:
                jobs.append(self._guarded(task_id, self._complete_issue, state))
            elif exhaustive:
                jobs.append(self._guarded(task_id, self._task_deleted, state))
            else:
                self.ledger.record(
                    EventType.FAILED,
                    "task left the open list but was not found in the first "
                    f"{COMPLETED_SCAN_MAX_PAGES} pages of completed tasks; retried next tick",
                    state=state,
                )
        await self._bounded(jobs)

    async def _confirm_completed(self, wanted: set[int]) -> tuple[set[int], bool]:
        """Which wanted ids are on the completed list, and whether the whole list was read."""
        found: set[int] = set()
        exhaustive = False
        async for page in self.pf.iter_task_pages(True, max_pages=COMPLETED_SCAN_MAX_PAGES):
            found.update(task.id for task in page.tasks if task.id in wanted)
            if page.stop_reason is not None:
                exhaustive = page.stop_reason in COMPLETE_STOP_REASONS
            if found == wanted:
                break
        return found, exhaustive

    async def _complete_issue(self, state: SyncState) -> None:
        fresh = self.ledger.state(state.pf_task_id)
        if fresh is None or fresh.is_completed or fresh.jira_issue_id is None:
            return
        try:
            transition = await self.jira.transition_to_done(fresh.jira_issue_id)
        except NotFoundError:
            fresh.is_completed = True
            fresh.completed_at = utcnow()
            self.ledger.save(fresh)
            self.ledger.record(
                EventType.ISSUE_DELETED,
                "task completed in PeopleForce; its Jira issue no longer exists",
                state=fresh,
            )
            return
        fresh.is_completed = True
        fresh.completed_at = utcnow()
        fresh.last_sync_hash = None
        self.ledger.save(fresh)
        if transition is None:
            reason = "task completed in PeopleForce; issue was already done"
        else:
            reason = f"task completed in PeopleForce; issue moved via {transition.name!r}"
            self.report.completed += 1
        self.ledger.record(EventType.TRANSITIONED, reason, state=fresh)

    async def _task_deleted(self, state: SyncState) -> None:
        fresh = self.ledger.state(state.pf_task_id) or state
        if self.domain.deletion_policy == DeletionPolicy.CLOSE and fresh.jira_issue_id:
            with contextlib.suppress(NotFoundError):
                await self.jira.transition_to_done(fresh.jira_issue_id)
        fresh.status = SyncStatus.DELETED
        self.ledger.save(fresh)
        self.ledger.record(
            EventType.TASK_DELETED,
            f"task deleted in PeopleForce; policy {self.domain.deletion_policy}",
            state=fresh,
        )
        self.report.deleted += 1

    async def _reopened_in_peopleforce(self, task: PFTask, digest: str, state: SyncState) -> None:
        """Open again in PeopleForce: reopen a done issue so both sides agree."""
        if state.jira_issue_id and state.status == SyncStatus.SYNCED:
            try:
                issue = await self.jira.get_issue(state.jira_issue_id, fields=["status"])
                if issue.is_done:
                    await self._move_out_of_done(state.jira_issue_id)
            except NotFoundError:
                self._issue_deleted(state)
                return
        state.is_completed = False
        state.completed_at = None
        self.ledger.save(state)
        self.ledger.record(
            EventType.REOPENED_IN_PEOPLEFORCE, "task reopened in PeopleForce", state=state
        )
        self.report.reopened += 1
        refreshed = self.ledger.state(task.id)
        if refreshed is not None and refreshed.status == SyncStatus.SYNCED:
            await self._update(task, digest, refreshed)

    async def _move_out_of_done(self, issue_id: str) -> None:
        transitions = [t for t in await self.jira.get_transitions(issue_id) if t.is_available]
        choices = [
            t for t in transitions if t.target_category and t.target_category != DONE_CATEGORY
        ]
        if choices:
            await self.jira.transition_issue(issue_id, choices[0].id)


async def run_tick(deps: SyncDeps, domain_id: int, *, force: bool = False) -> TickReport | None:
    """The job body of ``sync_pf_to_jira_task``: one tick, never two at once per domain.

    ``force`` ticks a paused domain too (an operator's explicit request).
    """
    ledger = Ledger(deps.engine, domain_id)
    try:
        async with redis_lock(
            deps.redis,
            tick_lock_name(domain_id),
            timeout=TICK_LOCK_TIMEOUT_SECONDS,
            wait=None,
            renew=True,
        ):
            domain = ledger.domain()
            if domain is None or not (domain.is_active or force):
                return None
            started = utcnow()
            # Schedule the next tick first: a failing tick waits its interval, no hot loop.
            ledger.update_domain(
                last_poll_at=started,
                next_poll_at=started + timedelta(seconds=domain.poll_interval_seconds),
            )
            clock = time.perf_counter()
            forward = ForwardSync(deps, domain)
            try:
                report = await forward.run()
            except Exception as error:
                report = forward.report
                report.outcome = "failed"
                report.errors.append(f"{type(error).__name__}: {error}")
                log.warning("tick of domain %s failed: %s", domain.name, error)
            elapsed_ms = int((time.perf_counter() - clock) * 1000)
            failures = 0 if report.outcome == "ok" else domain.consecutive_tick_failures + 1
            ledger.update_domain(
                last_tick_duration_ms=elapsed_ms,
                last_tick_outcome=report.outcome if report.outcome != "ok" else report.summary(),
                last_tick_error=report.errors[0][:500] if report.errors else None,
                consecutive_tick_failures=failures,
            )
            if report.outcome != "ok":
                ledger.record(EventType.TICK_FAILED, report.errors[-1][:500])
            return report
    except LockBusy:
        log.info("domain %s: a tick is already running", domain_id)
        return None


async def replay_create(deps: SyncDeps, domain: DomainConfig, task_raw: dict[str, Any]) -> bool:
    """Route and create one dead-lettered task again with the current rules; True if synced."""
    forward = ForwardSync(deps, domain)
    forward.rules = forward.ledger.rules()
    task = PFTask.from_raw(task_raw)
    async with task_lock(deps.redis, forward.domain_id, task.id):
        state = forward.ledger.state(task.id)
        if state is not None and state.status == SyncStatus.SYNCED:
            return True
        await forward._route_and_create(task, state_hash(task.raw), state)
    final = forward.ledger.state(task.id)
    return final is not None and final.status in (SyncStatus.SYNCED, SyncStatus.DROPPED)
