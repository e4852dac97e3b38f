"""The ledger as a tick reads it: one compact entry per task, consumed as the list is read.

A tick at rest compares every open task's hash with the one last synced and does
nothing else. For 200 000 tasks, ORM objects or a named tuple per row would cost
hundreds of megabytes and a good share of the tick's CPU, so each row becomes one
small ``bytes``: a flag (does the row count as open, so its absence from the list
means the task left it) followed by the 32-byte digest a task must match to count
as unchanged. Rows that need more than that (pending creates, parked or backing-off
tasks) are rare and keep their full ``StateSummary``.

Reading the listing marks each task seen by swapping its entry for a shared marker:
the digests are freed as the pages go by, the duplicates a shifting list produces
are recognised, and the rows never seen are the tasks that left the list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Engine, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from gateway.db import in_session
from gateway.models import SyncState, SyncStatus
from gateway.sync.ledger import StateSummary

OPEN: Final = b"\x01"
"""First byte of an entry whose task counts as open (not completed, not deleted)."""
CLOSED: Final = b"\x00"
SEEN: Final = b"seen"
"""The entry of a task already read in this listing (compared by identity)."""
ROWS_PER_FETCH = 5000


class TickIndex:
    """Per task id: its flag and digest until the listing reaches it, then ``SEEN``."""

    def __init__(self) -> None:
        self._entries: dict[int, bytes] = {}
        self.summaries: dict[int, StateSummary] = {}
        """Rows a hash does not settle: pending creates, parked or backing-off tasks."""
        self.seen = 0
        """Distinct tasks read from the listing so far."""

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, task_id: int, last_sync_hash: str | None, status: str, completed: bool) -> None:
        """One ledger row; a pending create never counts as unchanged, so it gets no digest."""
        flag = CLOSED if completed or status == SyncStatus.DELETED else OPEN
        digest = b""
        if last_sync_hash is not None and status != SyncStatus.PENDING_CREATE:
            try:
                digest = bytes.fromhex(last_sync_hash)
            except ValueError:
                digest = b""  # not one of our hashes: the task looks changed, as it should
        self._entries[task_id] = flag + digest

    def see(self, task_id: int) -> bytes | None:
        """Mark the task read; return its entry as it was (``SEEN``: a duplicate, None: new)."""
        entry = self._entries.get(task_id)
        if entry is not SEEN:
            self._entries[task_id] = SEEN
            self.seen += 1
        return entry

    def unseen_open(self, now: datetime) -> list[int]:
        """Tasks the ledger holds as open that the listing did not contain, unless held back."""
        gone = []
        for task_id, entry in self._entries.items():
            if entry is SEEN or not entry.startswith(OPEN):
                continue
            summary = self.summaries.get(task_id)
            if summary is None or not summary.waiting(now):
                gone.append(task_id)
        return gone


def unchanged_entry(entry: bytes | None, digest: bytes) -> bool:
    """Whether a task whose entry was ``entry`` needs no work at ``digest``."""
    return entry is not None and len(entry) == len(digest) + 1 and entry.endswith(digest)


async def read_tick_index(engine: Engine, domain_id: int) -> TickIndex:
    """The domain's ``TickIndex``, read on the database threads."""
    return await in_session(engine, lambda session: load_tick_index(session, domain_id))


def load_tick_index(session: Session, domain_id: int) -> TickIndex:
    """Read the domain's rows in chunks into a ``TickIndex``."""
    index = TickIndex()
    rows = sa_select(
        col(SyncState.pf_task_id),
        col(SyncState.last_sync_hash),
        col(SyncState.status),
        col(SyncState.is_completed),
    ).where(col(SyncState.domain_id) == domain_id)
    rare = sa_select(
        col(SyncState.pf_task_id),
        col(SyncState.last_sync_hash),
        col(SyncState.status),
        col(SyncState.is_completed),
        col(SyncState.intent_at),
        col(SyncState.parked_operation),
        col(SyncState.retry_not_before),
    ).where(
        col(SyncState.domain_id) == domain_id,
        or_(
            col(SyncState.status) == SyncStatus.PENDING_CREATE,
            col(SyncState.parked_operation).is_not(None),
            col(SyncState.retry_not_before).is_not(None),
        ),
    )
    connection = session.connection().execution_options(yield_per=ROWS_PER_FETCH)
    add = index.add
    for task_id, last_sync_hash, status, completed in connection.execute(rows):
        add(task_id, last_sync_hash, status, completed)
    for row in session.connection().execute(rare):
        index.summaries[row[0]] = StateSummary(*row)
    return index
