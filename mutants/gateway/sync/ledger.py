"""Database access for the sync flows: SyncState, the audit log and dead letters.

Every call is one short transaction, so a lock on SQLite is never held across an
upstream request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gateway.clock import utcnow
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


class StateSummary(NamedTuple):
    """The columns of a SyncState row that decide whether a task needs work."""

    pf_task_id: int
    last_sync_hash: str | None
    status: str
    is_completed: bool
    intent_at: datetime | None


class Ledger:
    """The durable state of one domain."""

    def __init__(self, engine: Engine, domain_id: int) -> None:
        self.engine = engine
        self.domain_id = domain_id

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- domain and rules ---------------------------------------------------------------

    def domain(self) -> DomainConfig | None:
        with self.session() as session:
            return session.get(DomainConfig, self.domain_id)

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

    def state_index(self) -> dict[int, StateSummary]:
        """What a tick needs to skip unchanged tasks: a few columns, no ORM objects."""
        columns = sa_select(
            col(SyncState.pf_task_id),
            col(SyncState.last_sync_hash),
            col(SyncState.status),
            col(SyncState.is_completed),
            col(SyncState.intent_at),
        ).where(col(SyncState.domain_id) == self.domain_id)
        with self.session() as session:
            rows = session.connection().execute(columns)
            return {row[0]: StateSummary(*row) for row in rows}

    def states_for(self, pf_task_ids: list[int]) -> list[SyncState]:
        found: list[SyncState] = []
        with self.session() as session:
            for start in range(0, len(pf_task_ids), 500):
                chunk = pf_task_ids[start : start + 500]
                found.extend(
                    session.exec(
                        select(SyncState).where(
                            SyncState.domain_id == self.domain_id,
                            col(SyncState.pf_task_id).in_(chunk),
                        )
                    ).all()
                )
        return found

    def states(self) -> dict[int, SyncState]:
        with self.session() as session:
            rows = session.exec(select(SyncState).where(SyncState.domain_id == self.domain_id))
            return {row.pf_task_id: row for row in rows}

    def state(self, pf_task_id: int) -> SyncState | None:
        with self.session() as session:
            return session.exec(
                select(SyncState).where(
                    SyncState.domain_id == self.domain_id, SyncState.pf_task_id == pf_task_id
                )
            ).first()

    def state_by_issue(self, issue_id: str) -> SyncState | None:
        with self.session() as session:
            return session.exec(
                select(SyncState).where(
                    SyncState.domain_id == self.domain_id, SyncState.jira_issue_id == issue_id
                )
            ).first()

    def open_states_for_issues(self, issue_ids: list[str]) -> list[SyncState]:
        """Synced, not yet completed rows among ``issue_ids`` (the sweeper's intersection)."""
        found: list[SyncState] = []
        with self.session() as session:
            for start in range(0, len(issue_ids), 500):
                chunk = issue_ids[start : start + 500]
                found.extend(
                    session.exec(
                        select(SyncState).where(
                            SyncState.domain_id == self.domain_id,
                            col(SyncState.jira_issue_id).in_(chunk),
                            SyncState.status == SyncStatus.SYNCED,
                            SyncState.is_completed == False,  # noqa: E712 - SQL expression
                        )
                    ).all()
                )
        return found

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
        return state

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

    def record(self, event_type: EventType, reason: str, **about: Any) -> None:
        """Write one audit event on its own; ``about`` as for :meth:`event`."""
        with self.session() as session:
            session.add(self.event(event_type, reason, **about))
            session.commit()

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

    def dead_letter_by_id(self, letter_id: int) -> DeadLetter | None:
        with self.session() as session:
            letter = session.get(DeadLetter, letter_id)
            return letter if letter and letter.domain_id == self.domain_id else None

    def close_dead_letter(self, letter_id: int) -> None:
        with self.session() as session:
            letter = session.get(DeadLetter, letter_id)
            if letter is not None:
                letter.replayed_at = utcnow()
                session.add(letter)
                session.commit()
