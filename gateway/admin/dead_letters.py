"""Dead letters: list, the replay gate, discard. One implementation for every surface.

The CLI, the JSON API and the UI all refuse to replay or discard a letter that is
already closed (replayed or discarded), with the same message, and a discard is
written to the audit log as one DISCARDED event. The replay itself runs in a
worker (queued by ``gateway.admin.actions.queue_replay``) or, for the CLI, in its
own process; both pass ``open_dead_letter`` first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from gateway.admin.errors import Conflict, get_or_refuse
from gateway.admin.paging import newest_first
from gateway.clock import utcnow
from gateway.models import DeadLetter, EventType, SyncEvent

OPEN, REPLAYED, DISCARDED, ALL = "open", "replayed", "discarded", "all"
DEAD_LETTER_STATES = (OPEN, REPLAYED, DISCARDED, ALL)


def dead_letter_state(letter: DeadLetter) -> str:
    """open, replayed or discarded: the one thing the admin needs to know at a glance."""
    if letter.discarded_at is not None:
        return DISCARDED
    if letter.replayed_at is not None:
        return REPLAYED
    return OPEN


def _state_conditions(state: str) -> list[Any]:
    if state == OPEN:
        return [col(DeadLetter.replayed_at).is_(None), col(DeadLetter.discarded_at).is_(None)]
    if state == REPLAYED:
        return [col(DeadLetter.replayed_at).is_not(None), col(DeadLetter.discarded_at).is_(None)]
    if state == DISCARDED:
        return [col(DeadLetter.discarded_at).is_not(None)]
    return []


def list_dead_letters(
    session: Session,
    *,
    domain_id: int | None = None,
    state: str = OPEN,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[DeadLetter], int]:
    """Newest first, in one state (or ``all``), with the total count for pagination."""
    conditions = _state_conditions(state)
    if domain_id is not None:
        conditions.append(DeadLetter.domain_id == domain_id)
    return newest_first(session, DeadLetter, conditions, page, page_size)


def get_dead_letter(session: Session, letter_id: int) -> DeadLetter:
    """The dead letter with this id, or NotFound."""
    return get_or_refuse(session, DeadLetter, letter_id, "dead letter")


def _closed(letter_id: int, state: str) -> Conflict:
    return Conflict(f"dead letter {letter_id} is already closed: it was {state}")


def open_dead_letter(session: Session, letter_id: int) -> DeadLetter:
    """The letter, if it may still be replayed or discarded; NotFound or Conflict if not.

    Every replay passes here first, whoever asks for it.
    """
    letter = get_dead_letter(session, letter_id)
    state = dead_letter_state(letter)
    if state != OPEN:
        raise _closed(letter_id, state)
    return letter


def discard_dead_letter(session: Session, letter_id: int) -> DeadLetter:
    """Close an open letter without replaying it, and audit that as one DISCARDED event.

    The letter stays for the audit trail, hidden from "open". The close is one
    conditional UPDATE, so of two admins discarding at once exactly one succeeds
    and one event is written; the other is refused like any closed letter.
    """
    letter = open_dead_letter(session, letter_id)
    closed = session.exec(
        update(DeadLetter)
        .where(
            col(DeadLetter.id) == letter_id,
            col(DeadLetter.replayed_at).is_(None),
            col(DeadLetter.discarded_at).is_(None),
        )
        .values(discarded_at=utcnow())
    )
    if closed.rowcount != 1:
        session.refresh(letter)
        raise _closed(letter_id, dead_letter_state(letter))
    session.add(
        SyncEvent(
            domain_id=letter.domain_id,
            pf_task_id=letter.pf_task_id,
            jira_issue_id=letter.jira_issue_id,
            event_type=EventType.DISCARDED.value,
            reason=f"dead letter {letter_id} discarded",
            created_at=utcnow(),
        )
    )
    session.flush()
    session.refresh(letter)
    return letter
