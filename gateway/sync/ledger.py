"""Database access for the sync flows and the worker's jobs, off the event loop.

Every call is one short transaction, so a lock on SQLite is never held across an
upstream request.

Every call is also a coroutine whose session work runs on a thread, through one
seam (``gateway.db.run_blocking``). A worker runs up to 20 jobs on one
event loop; a blocking SQLAlchemy call inside one of them (a SQLite write waiting
out another writer's lock for up to the 10 s busy timeout, a slow PostgreSQL round
trip) would stall every job of that worker, their Redis lock renewals included.

Why a bounded thread offload rather than SQLAlchemy's asyncio sessions: the admin
service, the CLI, scenarios and tests share these models and the synchronous engine,
and the SQL here stays exactly as it was (same drivers, same pool, same short
transactions), where async sessions would need a second driver per database
(aiosqlite, psycopg's async mode), a second engine and every shared helper in two
flavours. Each engine gets one thread pool, sized to its connection pool: a thread
never waits for a connection, and calls beyond that wait in asyncio, not on a thread
or the loop. SQLite connections are opened with ``check_same_thread=False``
(``gateway.db``) and the pool hands each to one thread at a time; any other pool (a
single shared or per-thread connection) gets a single thread. A cancelled caller
does not cancel its transaction: it commits or rolls back on its thread, like a
request already sent upstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from gateway.clock import as_utc, utcnow
from gateway.db import offloaded
from gateway.models import (
    DeadLetter,
    DomainConfig,
    EventType,
    FieldMapping,
    RoutingRule,
    SyncEvent,
    SyncState,
    SyncStatus,
)
from gateway.sync.routing import RuleSpec
from gateway.sync.write_log import log_events


class StateSummary(NamedTuple):
    """The columns of a SyncState row that decide whether a task needs work."""

    pf_task_id: int
    last_sync_hash: str | None
    status: str
    is_completed: bool
    intent_at: datetime | None
    parked_operation: str | None = None
    retry_not_before: datetime | None = None

    def waiting(self, now: datetime) -> bool:
        """Whether the task is held back: parked by a dead letter or backing off."""
        if self.parked_operation == PARKED_COMPLETE:
            return True
        until = as_utc(self.retry_not_before)
        return until is not None and until > now


PARKED_UPDATE = "update"
PARKED_COMPLETE = "complete"
"""Operations a dead letter can hold back for one task (``SyncState.parked_operation``)."""


def settled(state: SyncState) -> None:
    """Clear a task's back-off and parked operation: its work just went through."""
    state.parked_operation = None
    state.transient_failures = 0
    state.retry_not_before = None


class Ledger:
    """The durable state of one domain; every method that touches the database is awaited."""

    def __init__(self, engine: Engine, domain_id: int) -> None:
        self.engine = engine
        self.domain_id = domain_id

    def session(self) -> Session:
        """A session for one call; rows stay readable after it closes."""
        return Session(self.engine, expire_on_commit=False)

    # --- domain and rules ---------------------------------------------------------------

    @offloaded
    def domain(self) -> DomainConfig | None:
        with self.session() as session:
            return session.get(DomainConfig, self.domain_id)

    @offloaded
    def update_domain(self, **changes: Any) -> None:
        with self.session() as session:
            domain = session.get(DomainConfig, self.domain_id)
            if domain is None:
                return
            for name, value in changes.items():
                setattr(domain, name, value)
            domain.updated_at = utcnow()
            session.add(domain)
            session.commit()

    @offloaded
    def rules(self) -> list[RuleSpec]:
        """Enabled and disabled rules with their mappings (routing skips disabled ones)."""
        with self.session() as session:
            rules = session.exec(
                select(RoutingRule).where(RoutingRule.domain_id == self.domain_id)
            ).all()
            rule_ids = [rule.id for rule in rules]
            mappings = session.exec(
                select(FieldMapping).where(col(FieldMapping.rule_id).in_(rule_ids))
            ).all()
        by_rule: dict[int, list[FieldMapping]] = {}
        for mapping in mappings:
            by_rule.setdefault(mapping.rule_id, []).append(mapping)
        return [RuleSpec.from_models(rule, by_rule.get(rule.id or -1, [])) for rule in rules]

    # --- sync state -----------------------------------------------------------------------

    def _states_among(self, column: Any, values: Sequence[Any], *also: Any) -> list[SyncState]:
        """This domain's rows whose ``column`` is one of ``values`` and that match ``also``,
        read 500 values at a time so no statement outgrows a backend's parameter limit."""
        found: list[SyncState] = []
        with self.session() as session:
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                query = select(SyncState).where(
                    SyncState.domain_id == self.domain_id, col(column).in_(chunk), *also
                )
                found.extend(session.exec(query).all())
        return found

    @offloaded
    def states_for(self, pf_task_ids: list[int]) -> list[SyncState]:
        return self._states_among(SyncState.pf_task_id, pf_task_ids)

    @offloaded
    def states(self) -> dict[int, SyncState]:
        with self.session() as session:
            rows = session.exec(select(SyncState).where(SyncState.domain_id == self.domain_id))
            return {row.pf_task_id: row for row in rows}

    def _first_state(self, condition: Any) -> SyncState | None:
        with self.session() as session:
            query = select(SyncState).where(SyncState.domain_id == self.domain_id, condition)
            return session.exec(query).first()

    @offloaded
    def state(self, pf_task_id: int) -> SyncState | None:
        return self._first_state(SyncState.pf_task_id == pf_task_id)

    @offloaded
    def state_by_issue(self, issue_id: str) -> SyncState | None:
        return self._first_state(SyncState.jira_issue_id == issue_id)

    @offloaded
    def open_states_for_issues(self, issue_ids: list[str]) -> list[SyncState]:
        """Synced, not yet completed rows among ``issue_ids`` (the sweeper's intersection)."""
        return self._states_among(
            SyncState.jira_issue_id,
            issue_ids,
            SyncState.status == SyncStatus.SYNCED,
            SyncState.is_completed == False,  # noqa: E712 - SQL expression
        )

    @offloaded
    def forget_hashes(self, status: SyncStatus) -> int:
        """Make every row in ``status`` look changed to the next tick; returns how many."""
        with self.session() as session:
            result = session.connection().execute(
                update(SyncState)
                .where(col(SyncState.domain_id) == self.domain_id, col(SyncState.status) == status)
                .values(last_sync_hash=None)
            )
            session.commit()
            return result.rowcount or 0

    @offloaded
    def back_off(self, pf_task_id: int, *, base_seconds: float, max_seconds: float) -> int:
        """Count a transient failure of the task and hold it back, exponentially longer
        each time (capped); returns the failures in a row (0: no row to hold back)."""
        with self.session() as session:
            state = session.exec(
                select(SyncState).where(
                    SyncState.domain_id == self.domain_id, SyncState.pf_task_id == pf_task_id
                )
            ).first()
            if state is None:
                return 0
            state.transient_failures += 1
            delay = min(max_seconds, base_seconds * 2 ** min(state.transient_failures - 1, 30))
            state.retry_not_before = utcnow() + timedelta(seconds=delay)
            session.add(state)
            session.commit()
            return state.transient_failures

    @offloaded
    def park(self, pf_task_id: int, operation: str, digest: str | None) -> None:
        """Hold the task's ``operation`` back until it changes or is replayed.

        For an update the task's current hash is remembered, so the next tick sees no
        change and sends nothing; a completion is skipped while parked.
        """
        values: dict[str, Any] = {
            "parked_operation": operation,
            "transient_failures": 0,
            "retry_not_before": None,
        }
        if digest is not None:
            values["last_sync_hash"] = digest
        with self.session() as session:
            session.connection().execute(
                update(SyncState)
                .where(
                    col(SyncState.domain_id) == self.domain_id,
                    col(SyncState.pf_task_id) == pf_task_id,
                )
                .values(**values)
            )
            session.commit()

    @offloaded
    def save(self, state: SyncState, *events: SyncEvent) -> SyncState:
        """Write the row (and any audit events) in one transaction.

        ``add`` re-attaches a row read in another session and flushes only what
        changed; no merge or refresh round trips on the hot path of a tick.
        """
        state.updated_at = utcnow()
        with self.session() as session:
            session.add(state)
            for event in events:
                session.add(event)
            session.commit()
        log_events(events)
        return state

    @offloaded
    def delete(self, state: SyncState) -> None:
        with self.session() as session:
            row = session.get(SyncState, state.id)
            if row is not None:
                session.delete(row)
                session.commit()

    # --- audit and dead letters -----------------------------------------------------------

    def event(
        self,
        event_type: EventType,
        reason: str,
        *,
        state: SyncState | None = None,
        pf_task_id: int | None = None,
        issue_id: str | None = None,
        issue_key: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> SyncEvent:
        """An audit event about ``state`` (or the given ids), not yet written."""
        return SyncEvent(
            domain_id=self.domain_id,
            pf_task_id=pf_task_id if pf_task_id is not None or state is None else state.pf_task_id,
            jira_issue_id=issue_id or (state.jira_issue_id if state else None),
            jira_issue_key=issue_key or (state.jira_issue_key if state else None),
            event_type=event_type.value,
            reason=reason,
            details=details,
            created_at=utcnow(),
        )

    @offloaded
    def record(self, event_type: EventType, reason: str, **about: Any) -> None:
        """Write one audit event on its own; ``about`` as for :meth:`event`."""
        event = self.event(event_type, reason, **about)
        with self.session() as session:
            session.add(event)
            session.commit()
        log_events([event])

    @offloaded
    def dead_letter(
        self,
        *,
        operation: str,
        pf_task_id: int | None,
        payload: dict[str, Any],
        error_status: int | None,
        error_message: str,
        issue_id: str | None = None,
    ) -> DeadLetter:
        """Open a dead letter, or count another attempt on the open one for this task."""
        with self.session() as session:
            existing = session.exec(
                select(DeadLetter).where(
                    DeadLetter.domain_id == self.domain_id,
                    DeadLetter.pf_task_id == pf_task_id,
                    DeadLetter.operation == operation,
                    col(DeadLetter.replayed_at).is_(None),
                    col(DeadLetter.discarded_at).is_(None),
                )
            ).first()
            letter = existing or DeadLetter(
                domain_id=self.domain_id, pf_task_id=pf_task_id, operation=operation, attempts=0
            )
            letter.payload = payload
            letter.error_status = error_status
            letter.error_message = error_message
            letter.jira_issue_id = issue_id
            letter.attempts += 1
            letter.created_at = letter.created_at or utcnow()
            session.add(letter)
            session.commit()
            session.refresh(letter)
            return letter

    @offloaded
    def dead_letter_by_id(self, letter_id: int) -> DeadLetter | None:
        with self.session() as session:
            letter = session.get(DeadLetter, letter_id)
            return letter if letter and letter.domain_id == self.domain_id else None

    @offloaded
    def close_dead_letter(self, letter_id: int) -> None:
        with self.session() as session:
            letter = session.get(DeadLetter, letter_id)
            if letter is not None:
                letter.replayed_at = utcnow()
                session.add(letter)
                session.commit()


class Catalog:
    """Reads and writes across domains: the scheduler's look at every domain."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @offloaded
    def active_domains(self) -> list[DomainConfig]:
        """The domains not paused: the only ones the scheduler ticks and sweeps."""
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.exec(select(DomainConfig).where(DomainConfig.is_active == True))  # noqa: E712
            )

    async def set_first_sweeps(self, due: dict[int, datetime]) -> None:
        """Give domains that never had one their first sweep time (a set one is kept)."""
        await self.set_first_times("next_sweep_at", due)

    async def set_first_reconciles(self, due: dict[int, datetime]) -> None:
        """Give domains that never had one their first reconcile time (a set one is kept)."""
        await self.set_first_times("next_reconcile_at", due)

    @offloaded
    def set_first_times(self, column: str, due: dict[int, datetime]) -> None:
        """Set ``column`` of each domain in ``due`` where it is still unset."""
        field = getattr(DomainConfig, column)
        with Session(self.engine) as session:
            for domain_id, at in due.items():
                session.connection().execute(
                    update(DomainConfig)
                    .where(col(DomainConfig.id) == domain_id, col(field).is_(None))
                    .values({column: at})
                )
            session.commit()
