"""Migrations own the schema; SQLite pragmas and the constraints that matter hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.db import make_engine
from gateway.migrate import (
    SchemaOutOfDate,
    current_revision,
    downgrade,
    ensure_schema_current,
    head_revision,
    upgrade,
)
from gateway.models import DomainConfig, RoutingRule, SyncState

TABLES = {
    "domain_config",
    "routing_rule",
    "field_mapping",
    "sync_state",
    "sync_event",
    "dead_letter",
}


def make_domain(session: Session, name: str = "acme") -> DomainConfig:
    domain = DomainConfig(name=name, pf_base_url="http://pf.test", jira_base_url="http://jira.test")
    session.add(domain)
    session.commit()
    session.refresh(domain)
    return domain


def test_upgrade_empty_database_to_head_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    with pytest.raises(SchemaOutOfDate, match="run `gateway db upgrade`"):
        ensure_schema_current(engine)

    upgrade(url)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    ensure_schema_current(engine)

    downgrade(url, "base")
    assert current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas (the PostgreSQL test pass)")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert (connection.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 5000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_duplicate_sync_state_for_one_task_is_rejected(engine: Engine) -> None:
    with Session(engine) as session:
        domain = make_domain(session)
        assert domain.id is not None
        session.add(SyncState(domain_id=domain.id, pf_task_id=42))
        session.commit()
        session.add(SyncState(domain_id=domain.id, pf_task_id=42))
        with pytest.raises(IntegrityError):
            session.commit()


def test_same_task_id_in_two_domains_is_allowed(engine: Engine) -> None:
    with Session(engine) as session:
        first, second = make_domain(session, "a"), make_domain(session, "b")
        assert first.id is not None and second.id is not None
        session.add(SyncState(domain_id=first.id, pf_task_id=1, jira_issue_id="10000"))
        session.add(SyncState(domain_id=second.id, pf_task_id=1, jira_issue_id="10000"))
        session.commit()


def test_one_jira_issue_maps_to_one_task_per_domain(engine: Engine) -> None:
    with Session(engine) as session:
        domain = make_domain(session)
        assert domain.id is not None
        session.add(SyncState(domain_id=domain.id, pf_task_id=1, jira_issue_id="10001"))
        session.add(SyncState(domain_id=domain.id, pf_task_id=2, jira_issue_id="10001"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_unmapped_states_may_share_a_null_issue_id(engine: Engine) -> None:
    with Session(engine) as session:
        domain = make_domain(session)
        assert domain.id is not None
        session.add(SyncState(domain_id=domain.id, pf_task_id=1))
        session.add(SyncState(domain_id=domain.id, pf_task_id=2))
        session.commit()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(RoutingRule(domain_id=999, name="orphan"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_domain_names_are_unique(engine: Engine) -> None:
    with Session(engine) as session:
        make_domain(session, "same")
        with pytest.raises(IntegrityError):
            make_domain(session, "same")
