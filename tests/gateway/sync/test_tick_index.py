"""The tick's compact ledger index decides exactly what the full rows decided."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.clock import utcnow
from gateway.models import SyncStatus
from gateway.sync.hashing import state_digest, state_hash
from gateway.sync.ledger import PARKED_COMPLETE, StateSummary
from gateway.sync.tick_index import CLOSED, OPEN, SEEN, TickIndex, unchanged_entry

TASK = {"id": 7, "title": "Order laptop", "completed": False}


def summary(
    task_id: int, *, parked_operation: str | None = None, retry_not_before: datetime | None = None
) -> StateSummary:
    return StateSummary(
        task_id, None, SyncStatus.SYNCED, False, None, parked_operation, retry_not_before
    )


def test_a_synced_task_with_the_same_hash_is_unchanged_and_a_changed_one_is_not() -> None:
    index = TickIndex()
    index.add(7, state_hash(TASK), SyncStatus.SYNCED, False)
    index.add(8, state_hash(TASK), SyncStatus.SYNCED, False)

    assert unchanged_entry(index.see(7), state_digest(TASK))
    assert not unchanged_entry(index.see(8), state_digest({**TASK, "title": "Order a laptop"}))


def test_a_pending_create_or_a_foreign_hash_never_counts_as_unchanged() -> None:
    index = TickIndex()
    index.add(1, state_hash(TASK), SyncStatus.PENDING_CREATE, False)
    index.add(2, "not-a-hex-digest", SyncStatus.SYNCED, False)
    index.add(3, None, SyncStatus.DROPPED, False)

    for task_id in (1, 2, 3):
        assert not unchanged_entry(index.see(task_id), state_digest(TASK))


def test_a_task_read_twice_is_a_duplicate_and_a_new_task_is_none() -> None:
    index = TickIndex()
    index.add(1, state_hash(TASK), SyncStatus.SYNCED, False)

    assert index.see(1) not in (None, SEEN)
    assert index.see(1) is SEEN
    assert index.see(99) is None
    assert index.see(99) is SEEN
    assert index.seen == 2


def test_only_open_unseen_rows_that_are_not_held_back_left_the_list() -> None:
    now = utcnow()
    index = TickIndex()
    index.add(1, state_hash(TASK), SyncStatus.SYNCED, False)  # seen below
    index.add(2, state_hash(TASK), SyncStatus.SYNCED, False)  # gone
    index.add(3, state_hash(TASK), SyncStatus.SYNCED, True)  # completed already
    index.add(4, None, SyncStatus.DELETED, False)  # deleted already
    index.add(5, state_hash(TASK), SyncStatus.SYNCED, False)  # backing off
    index.add(6, state_hash(TASK), SyncStatus.SYNCED, False)  # completion parked
    index.add(7, state_hash(TASK), SyncStatus.SYNCED, False)  # back-off over
    index.summaries[5] = summary(5, retry_not_before=now + timedelta(hours=1))
    index.summaries[6] = summary(6, parked_operation=PARKED_COMPLETE)
    index.summaries[7] = summary(7, retry_not_before=now - timedelta(hours=1))
    index.see(1)

    assert sorted(index.unseen_open(now)) == [2, 7]


def test_an_entry_is_its_flag_then_the_digest_and_no_digest_without_a_usable_hash() -> None:
    """The compact form itself: one flag byte, then the 32-byte digest only when the row can
    count as unchanged, so a row without one holds just its flag."""
    index = TickIndex()
    index.add(1, state_hash(TASK), SyncStatus.SYNCED, False)
    index.add(2, state_hash(TASK), SyncStatus.PENDING_CREATE, False)
    index.add(3, "not-a-hex-digest", SyncStatus.SYNCED, False)
    index.add(4, None, SyncStatus.SYNCED, True)

    assert index.see(1) == OPEN + state_digest(TASK)
    assert [index.see(n) for n in (2, 3, 4)] == [OPEN, OPEN, CLOSED]
    assert len(index) == 4
