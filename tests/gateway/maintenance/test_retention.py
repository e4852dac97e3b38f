"""The audit prune on hand-made rows: the window, each keep rule and its negative, batches,
and ``gateway audit prune --older-than``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from gateway.admin import domains
from gateway.admin.schemas import DomainCreate
from gateway.cli import app as cli
from gateway.clock import utcnow
from gateway.db import session_scope
from gateway.maintenance.retention import (
    KEEP_RULES,
    LOCK_BUDGET_MS,
    KeepRule,
    next_batch_size,
    prune_audit,
)
from gateway.models import DeadLetter, EventType, SyncEvent, SyncState, SyncStatus
from gateway.settings import ConfigurationError, Settings, load_settings

OLD = timedelta(days=200)


@dataclass(frozen=True)
class Rows:
    """The ids of the events the prune must delete or keep."""

    older_sweep: int
    newest_sweep: int
    newest_reconcile: int
    dead_letter_task: int
    pending_task: int
    settled_task_old: int
    settled_task_new: int
    admin_change: int
    unknown_site: int


def _event(
    engine: Engine,
    when: datetime,
    event_type: EventType,
    domain_id: int | None = None,
    pf_task_id: int | None = None,
    actor: str | None = None,
) -> int:
    with session_scope(engine) as db:
        event = SyncEvent(
            event_type=event_type.value,
            created_at=when,
            reason="test",
            domain_id=domain_id,
            pf_task_id=pf_task_id,
            actor=actor,
        )
        db.add(event)
        db.flush()
        assert event.id is not None
        return event.id


def _rows(engine: Engine) -> tuple[int, Rows]:
    data = DomainCreate.model_validate(
        {
            "name": "acme",
            "pf_base_url": "https://pf.test/",
            "jira_base_url": "https://acme.atlassian.net",
            "jira_email": "ops@acme.test",
        }
    )
    with session_scope(engine) as db:
        domain_id = domains.create_domain(db, data).id
        assert domain_id is not None
        db.add(DeadLetter(domain_id=domain_id, pf_task_id=1, operation="create"))
        db.add(SyncState(domain_id=domain_id, pf_task_id=2, status=SyncStatus.PENDING_CREATE))
        db.add(SyncState(domain_id=domain_id, pf_task_id=3, status=SyncStatus.SYNCED))
    old, now = utcnow() - OLD, utcnow()
    rows = Rows(
        older_sweep=_event(engine, old, EventType.SWEEP, domain_id=domain_id),
        newest_sweep=_event(engine, old + timedelta(days=1), EventType.SWEEP, domain_id=domain_id),
        newest_reconcile=_event(engine, old, EventType.RECONCILE, domain_id=domain_id),
        dead_letter_task=_event(engine, old, EventType.FAILED, domain_id=domain_id, pf_task_id=1),
        pending_task=_event(engine, old, EventType.FAILED, domain_id=domain_id, pf_task_id=2),
        settled_task_old=_event(engine, old, EventType.CREATED, domain_id=domain_id, pf_task_id=3),
        settled_task_new=_event(engine, now, EventType.UPDATED, domain_id=domain_id, pf_task_id=3),
        admin_change=_event(engine, old, EventType.ADMIN_CHANGE, actor="user:alice"),
        unknown_site=_event(engine, old, EventType.WEBHOOK_UNKNOWN_SITE),
    )
    return domain_id, rows


def _ids(engine: Engine) -> set[int]:
    with session_scope(engine) as db:
        return {i for i in db.exec(select(col(SyncEvent.id))) if i is not None}


async def test_prune_keeps_the_window_and_what_the_rules_protect(engine: Engine) -> None:
    _, rows = _rows(engine)
    report = await prune_audit(engine, 90, pause_seconds=0)
    assert _ids(engine) == {
        rows.newest_sweep,
        rows.newest_reconcile,
        rows.dead_letter_task,
        rows.pending_task,
        rows.settled_task_new,
        rows.admin_change,
    }
    assert (report.deleted, report.kept_by_rules, report.batches) == (3, 4, 1)
    assert report.summary().startswith("deleted 3 audit events older than 90 days")


@pytest.mark.parametrize("rule", KEEP_RULES, ids=lambda rule: rule.name)
async def test_without_a_keep_rule_its_rows_are_deleted(engine: Engine, rule: KeepRule) -> None:
    """Negative: each rule is what keeps its rows (switch it off and they go)."""
    _, rows = _rows(engine)
    protected = {
        "newest sweep and reconcile of each domain": {rows.newest_sweep, rows.newest_reconcile},
        "events of tasks with an open dead letter": {rows.dead_letter_task},
        "events of tasks whose create or state is unsettled": {rows.pending_task},
    }[rule.name]
    others = [other for other in KEEP_RULES if other is not rule]
    await prune_audit(engine, 90, pause_seconds=0, rules=others)
    left = _ids(engine)
    assert not protected & left
    assert {rows.admin_change, rows.settled_task_new} <= left


async def test_a_discarded_dead_letter_releases_its_task_events(engine: Engine) -> None:
    _, rows = _rows(engine)
    with session_scope(engine) as db:
        letter = db.exec(select(DeadLetter)).one()
        letter.discarded_at = utcnow()
        db.add(letter)
    await prune_audit(engine, 90, pause_seconds=0)
    assert rows.dead_letter_task not in _ids(engine)


async def test_small_batches_delete_the_same_rows_as_one(engine: Engine) -> None:
    domain_id, rows = _rows(engine)
    extra = [
        _event(engine, utcnow() - OLD, EventType.UPDATED, domain_id=domain_id, pf_task_id=3)
        for _ in range(7)
    ]
    seen: list[tuple[int, int]] = []
    report = await prune_audit(
        engine, 90, batch_size=2, pause_seconds=0, progress=lambda d, t: seen.append((d, t))
    )
    assert report.deleted == 10 and report.batches == 5
    assert seen == [(2, 10), (4, 10), (6, 10), (8, 10), (10, 10)]
    assert not set(extra) & _ids(engine)
    assert rows.dead_letter_task in _ids(engine)


async def test_dry_run_counts_and_deletes_nothing(engine: Engine) -> None:
    _rows(engine)
    before = _ids(engine)
    report = await prune_audit(engine, 90, dry_run=True)
    assert _ids(engine) == before
    assert (report.deleted, report.kept_by_rules, report.batches) == (3, 4, 0)
    assert report.summary().startswith("would delete 3 audit events older than 90 days")


async def test_zero_days_keeps_everything(engine: Engine) -> None:
    _rows(engine)
    before = _ids(engine)
    report = await prune_audit(engine, 0)
    assert _ids(engine) == before
    assert report.summary() == "audit retention is 0 (keep forever): nothing pruned"


async def test_a_longer_window_keeps_more(engine: Engine) -> None:
    _, rows = _rows(engine)
    report = await prune_audit(engine, 365, pause_seconds=0)
    assert report.deleted == 0
    assert rows.older_sweep in _ids(engine)


@pytest.mark.parametrize("value", ["-1", "forever", "40000"])
def test_a_bad_retention_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("GATEWAY_AUDIT_RETENTION_DAYS", value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("GATEWAY_AUDIT_RETENTION_DAYS: ") and "\n" not in message


def test_batches_are_sized_to_the_lock_budget() -> None:
    assert next_batch_size(1_000, LOCK_BUDGET_MS, 5_000) == 1_000
    assert next_batch_size(1_000, LOCK_BUDGET_MS * 4, 5_000) == 500  # at most halved
    assert next_batch_size(1_000, LOCK_BUDGET_MS / 4, 5_000) == 2_000  # at most doubled
    assert next_batch_size(4_000, 1.0, 5_000) == 5_000  # never above the largest
    assert next_batch_size(150, 10_000.0, 5_000) == 100  # never below the smallest
    assert next_batch_size(2, 10_000.0, 2) == 2


def test_the_command_prunes_the_window_it_is_given(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    now = utcnow()
    twenty = _event(engine, now - timedelta(days=20), EventType.WEBHOOK_UNKNOWN_SITE)
    five = _event(engine, now - timedelta(days=5), EventType.WEBHOOK_UNKNOWN_SITE)
    runner = CliRunner()

    default = runner.invoke(cli, ["audit", "prune"])
    assert default.exit_code == 0, default.output
    assert "older than 90 days" in default.output
    assert {twenty, five} <= _ids(engine)

    dry = runner.invoke(cli, ["audit", "prune", "--older-than", "10", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete" in dry.output and {twenty, five} <= _ids(engine)

    pruned = runner.invoke(cli, ["audit", "prune", "--older-than", "10"])
    assert pruned.exit_code == 0, pruned.output
    assert "older than 10 days" in pruned.output
    assert twenty not in _ids(engine) and five in _ids(engine)

    refused = runner.invoke(cli, ["audit", "prune", "--older-than", "0"])
    assert refused.exit_code == 2 and five in _ids(engine)
