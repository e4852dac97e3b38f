"""What one forward tick shares: the domain, its clients and rules, and its report.

Every step of a tick (creating and updating issues, orphan recovery, completion)
receives the same ``TickContext``; the bookkeeping they all do the same way (a
task's work under its lock, recording an issue, a dead letter, a vanished issue)
lives here once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import update
from sqlmodel import Session, col, select

from gateway.clients.errors import TransientUpstreamError, UpstreamError
from gateway.clients.jira import JiraClient
from gateway.clients.models import CreatedIssue, JiraIssue, PFTask
from gateway.clients.peopleforce import PeopleForceClient
from gateway.clock import utcnow
from gateway.db import in_session
from gateway.models import (
    DeadLetter,
    DomainConfig,
    EventType,
    SyncEvent,
    SyncState,
    SyncStatus,
)
from gateway.sync.breaker import CREDENTIAL_STATUSES, Breaker, refused_credentials
from gateway.sync.deps import SyncDeps
from gateway.sync.ledger import Ledger
from gateway.sync.locks import LockBusy, task_lock
from gateway.sync.orphans import OrphanSearch
from gateway.sync.routing import DomainDefaults, RuleSpec

P = ParamSpec("P")
T = TypeVar("T")

OK = "ok"
PARTIAL = "partial"
"""The tick's outcomes when it ran to its end; ``gateway.sync.tick`` names the others."""


@dataclass
class TickReport:
    """What one tick did; counters, not a log (the audit log has the details)."""

    domain_id: int
    outcome: str = OK
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
    gone_from_jira: int = 0
    """Mapped issues found deleted in Jira; their tasks are ``recreated`` by the next tick."""
    deferred: int = 0
    backing_off: int = 0
    held_by_breaker: int = 0
    breaker_opened: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    dead_letters_by_operation: dict[str, int] = field(default_factory=dict)
    """``dead_lettered`` by operation (create, update, complete, ...), for the metric."""
    listing_skipped: str | None = None
    """Why the tick did not read the task list (so "no open tasks" is not claimed)."""

    def add_error(self, message: str) -> None:
        """An error that left work undone for a later tick, with no task failed: the
        tick is partial, not ``ok`` (a tick that failed as a whole says so later)."""
        self.errors.append(message)
        if self.outcome == OK:
            self.outcome = PARTIAL

    def count_dead_letter(self, operation: str) -> None:
        self.dead_lettered += 1
        by = self.dead_letters_by_operation
        by[operation] = by.get(operation, 0) + 1

    def summary(self) -> str:
        """One line for the dashboard and the CLI, e.g. ``12 open, 2 created, 1 dropped``."""
        counts = [
            f"{value} {name.replace('_', ' ')}"
            for name, value in vars(self).items()
            if isinstance(value, int) and name != "domain_id" and value
        ]
        if counts or self.listing_skipped is None:
            return ", ".join(counts).replace("open tasks", "open") or "no open tasks"
        return f"nothing listed: {self.listing_skipped}"


@dataclass(frozen=True)
class TaskWork:
    """One task's work in a tick, named so a failure of it can be dead-lettered and replayed.

    ``operation`` is a ``PARKED_*`` value; ``digest`` the task's hash for an update
    (remembered when parked, so an unchanged task costs nothing); ``payload`` what a
    replay needs.
    """

    pf_task_id: int
    operation: str
    digest: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


class TickContext:
    """One tick of one domain; build a new one per tick."""

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
        self.breaker = Breaker.of(self.ledger, domain, deps.settings)
        self.succeeded = 0
        self.creates_refused = 0
        """Creates Jira answered 400 in this tick (the breaker's schema check)."""
        self._exhausted: list[tuple[TaskWork, UpstreamError]] = []
        self._one_at_a_time = asyncio.Lock()
        self.orphans = OrphanSearch(
            self.jira,
            domain,
            grace=timedelta(seconds=deps.settings.orphan_grace_seconds),
            on_error=self.report.add_error,
        )

    async def bounded(self, items: Iterable[T], job: Callable[[T], Awaitable[None]]) -> None:
        """Run ``job(item)`` for every item, at most ``max_concurrency`` at a time (Jira's
        rate limits).

        A fixed set of runners pulls items from one iterator, so an initial sync of
        50 000 tasks holds ``max_concurrency`` coroutines at a time, not 50 000 tasks
        created in one event-loop step. The first item runs alone, and items run one
        at a time while the breaker suspects the credential: a revoked token costs
        ``breaker_threshold`` failed requests, not ``max_concurrency`` at once.
        """
        pending = iter(items)
        for first in pending:
            await job(first)
            break

        async def runner() -> None:
            for item in pending:
                if self.breaker.suspect:
                    async with self._one_at_a_time:
                        await job(item)
                else:
                    await job(item)

        await asyncio.gather(*(runner() for _ in range(max(1, self.domain.max_concurrency))))

    async def guarded(
        self,
        work: TaskWork,
        handler: Callable[P, Awaitable[None]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        """Run per-task work under the task lock; one task's failure never stops the tick.

        A permanent failure dead-letters the work at once; a transient one backs the
        task off and dead-letters it once it failed too many times in a row. Either
        way the same request is not sent again on every tick.
        """
        if self.breaker.is_open:
            self.report.held_by_breaker += 1
            return
        try:
            async with task_lock(self.deps.redis, self.domain_id, work.pf_task_id):
                await handler(*args, **kwargs)
            self.breaker.succeeded()
            self.succeeded += 1
        except LockBusy:
            self.report.deferred += 1
        except UpstreamError as error:
            self.report.failed += 1
            self.report.errors.append(f"task {work.pf_task_id}: {error}")
            await self.ledger.record(
                EventType.FAILED,
                f"{type(error).__name__}: {error}",
                pf_task_id=work.pf_task_id,
                details={"status": error.status, "service": error.service},
            )
            if refused_credentials(error):
                await self.breaker.failed(error)
                self.report.breaker_opened = int(self.breaker.opened_now)
                if error.status == 401:
                    return  # the credential, not the task: nothing to hold against the task
            await self._after_failure(work, error)

    async def _after_failure(self, work: TaskWork, error: UpstreamError) -> None:
        """Back off a transient failure; park a permanent one (or too many transient ones)."""
        if isinstance(error, TransientUpstreamError) or error.status in CREDENTIAL_STATUSES:
            # A 403 may be the credential or this one issue: back off, do not give up at once.
            settings = self.deps.settings
            failures = await self.ledger.back_off(
                work.pf_task_id,
                base_seconds=settings.task_backoff_base_seconds,
                max_seconds=settings.task_backoff_max_seconds,
            )
            if failures >= settings.task_transient_dead_letter_after:
                self._exhausted.append((work, error))
            return
        await self.park(work, error)

    async def park_exhausted(self) -> None:
        """At the end of the tick: dead-letter the tasks out of transient retries, if other
        work went through. Only a task failing while others succeed is the task's problem;
        an outage that fails every task is waited out, never dead-lettered task by task."""
        exhausted, self._exhausted = self._exhausted, []
        if not self.succeeded:
            return
        for work, error in exhausted:
            await self.park(work, error)

    async def park(self, work: TaskWork, error: UpstreamError) -> None:
        """Dead-letter the work and hold it back until the task changes or is replayed."""
        await self.ledger.park(work.pf_task_id, work.operation, work.digest)
        await self.ledger.dead_letter(
            operation=work.operation,
            pf_task_id=work.pf_task_id,
            payload=work.payload,
            error_status=error.status,
            error_message=str(error),
        )
        await self.ledger.record(
            EventType.DEAD_LETTERED,
            f"{work.operation} held back until the task changes or is replayed: {error}"[:500],
            pf_task_id=work.pf_task_id,
        )
        self.report.count_dead_letter(work.operation)

    async def mark_synced(
        self,
        state: SyncState,
        issue: CreatedIssue | JiraIssue,
        *,
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
        return await self.ledger.save(state, event)

    async def dead_letter(
        self,
        task: PFTask,
        digest: str,
        state: SyncState,
        *,
        operation: str,
        message: str,
        error_status: int | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        """Park a task Jira (or routing) refuses: never retried each tick, replayable later."""
        state.status = SyncStatus.DEAD
        state.last_sync_hash = digest
        state = await self.ledger.save(state)
        await self.ledger.dead_letter(
            operation=operation,
            pf_task_id=task.id,
            payload={"task": task.raw, "fields": fields or {}},
            error_status=error_status,
            error_message=message,
        )
        await self.ledger.record(EventType.DEAD_LETTERED, message, state=state)
        self.report.count_dead_letter(operation)

    async def resolve_parked(self, state: SyncState, operation: str) -> None:
        """Parked work went through after all (the task changed and Jira took it): close
        its open dead letters, so the admin is not left to replay what already worked."""

        def close(session: Session) -> int:
            result = session.exec(
                update(DeadLetter)
                .where(
                    col(DeadLetter.domain_id) == self.domain_id,
                    col(DeadLetter.pf_task_id) == state.pf_task_id,
                    col(DeadLetter.operation) == operation,
                    col(DeadLetter.replayed_at).is_(None),
                    col(DeadLetter.discarded_at).is_(None),
                )
                .values(replayed_at=utcnow())
            )
            return result.rowcount or 0

        if await in_session(self.deps.engine, close):
            await self.ledger.record(
                EventType.REPLAYED,
                f"{operation} went through on the task's next change; dead letter closed",
                state=state,
            )

    async def forget_deleted_issue(self, state: SyncState) -> None:
        """The mapped issue is gone from Jira: forget it, so the next tick recreates it.

        Counted as gone now; the recreate is counted by the tick that makes it.
        """
        await self.ledger.delete(state)
        await self.ledger.record(
            EventType.ISSUE_DELETED,
            "mapped Jira issue no longer exists; it will be recreated on the next tick",
            state=state,
        )
        self.report.gone_from_jira += 1

    async def count_create(self, pf_task_id: int) -> None:
        """Count a create just made: ``recreated`` when the task's last issue was deleted
        in Jira (its newest issue event says so), ``created`` otherwise."""
        if await in_session(
            self.deps.engine, lambda s: _lost_its_issue(s, self.domain_id, pf_task_id)
        ):
            self.report.recreated += 1
        else:
            self.report.created += 1


ISSUE_EVENTS = (EventType.CREATED, EventType.ADOPTED, EventType.ISSUE_DELETED)


def _lost_its_issue(session: Session, domain_id: int, pf_task_id: int) -> bool:
    """Whether the newest issue event of the task before its latest create is a deletion."""
    newest = session.exec(
        select(SyncEvent.event_type)
        .where(
            SyncEvent.domain_id == domain_id,
            SyncEvent.pf_task_id == pf_task_id,
            col(SyncEvent.event_type).in_([str(e) for e in ISSUE_EVENTS]),
        )
        .order_by(col(SyncEvent.id).desc())
        .limit(2)
    ).all()
    return len(newest) == 2 and newest[1] == EventType.ISSUE_DELETED
