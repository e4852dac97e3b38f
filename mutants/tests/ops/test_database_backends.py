"""Migrations up and down, and the API's readiness, on whichever backend the run uses.

In ``make test`` that is SQLite; in ``make test-postgres`` a fresh PostgreSQL database.
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlmodel import Session, select

from gateway.db import make_engine
from gateway.migrate import (
    current_revision,
    downgrade,
    ensure_schema_current,
    head_revision,
    upgrade,
)
from gateway.models import DomainConfig, SyncState

TABLES = {"domain_config", "routing_rule", "sync_state", "sync_event", "dead_letter"}


def test_migrations_go_up_down_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(database_url)
        assert current_revision(engine) == head_revision()
        ensure_schema_current(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        downgrade(database_url, "base")
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(database_url)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_json_columns_and_boolean_filters_round_trip(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            domain = DomainConfig(name="acme", pf_base_url="http://pf", jira_base_url="http://j")
            session.add(domain)
            session.commit()
            session.refresh(domain)
            assert domain.id is not None
            session.add(
                SyncState(
                    domain_id=domain.id,
                    pf_task_id=1,
                    last_synced_fields={"summary": "Zoë's laptop", "labels": ["PeopleForce"]},
                )
            )
            session.commit()
        with Session(engine) as session:
            row = session.exec(
                select(SyncState).where(SyncState.is_completed == False)  # noqa: E712
            ).one()
            assert row.last_synced_fields == {
                "summary": "Zoë's laptop",
                "labels": ["PeopleForce"],
            }
    finally:
        engine.dispose()
