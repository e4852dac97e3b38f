"""Migration 0007_session_epoch: accounts that existed before it get their own session
epoch, and (SQLite) admin ids stop being reused; it upgrades and downgrades on both
databases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from gateway.db import make_engine
from gateway.migrate import downgrade, upgrade
from tests import postgres

REVISION = "0007_session_epoch"
BEFORE = "0006_drift"
_INSERT = text(
    "INSERT INTO admin_user (username, password_hash, role, created_at) "
    "VALUES (:name, 'x', 'admin', '2026-01-01')"
)


def _epochs_after_upgrade(url: str) -> None:
    upgrade(url, BEFORE)
    engine = make_engine(url)
    with engine.begin() as connection:
        for name in ("ann", "ben", "cat"):
            connection.execute(_INSERT, {"name": name})
    upgrade(url, REVISION)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, session_epoch FROM admin_user ORDER BY id")
        ).all()
    assert len(rows) == 3 and len({row[1] for row in rows}) == 3
    assert all(len(row[1]) >= 32 for row in rows)

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM admin_user WHERE username = 'cat'"))
        connection.execute(
            text(
                "INSERT INTO admin_user (username, password_hash, role, session_epoch, "
                "created_at) VALUES ('dan', 'x', 'admin', 'e', '2026-01-01')"
            )
        )
        new_id = connection.execute(
            text("SELECT id FROM admin_user WHERE username = 'dan'")
        ).scalar_one()
    assert new_id > rows[-1][0], "the deleted account's id was handed out again"

    downgrade(url, BEFORE)
    with engine.connect() as connection:
        names = connection.execute(text("SELECT username FROM admin_user ORDER BY id")).all()
    assert [row[0] for row in names] == ["ann", "ben", "dan"]
    engine.dispose()


def test_sqlite_accounts_get_epochs_and_ids_are_not_reused(tmp_path: Path) -> None:
    _epochs_after_upgrade(f"sqlite:///{tmp_path / 'm.db'}")


def test_postgresql_accounts_get_epochs_and_ids_are_not_reused(postgres_server: str) -> None:
    with postgres.fresh_database(postgres_server) as url:
        _epochs_after_upgrade(url)


def test_without_the_rebuild_sqlite_reuses_a_deleted_id(tmp_path: Path) -> None:
    """Why the migration rebuilds the table: before it, SQLite hands out max(id) + 1."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, BEFORE)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(_INSERT, {"name": "ann"})
        connection.execute(_INSERT, {"name": "ben"})
        connection.execute(text("DELETE FROM admin_user WHERE username = 'ben'"))
        connection.execute(_INSERT, {"name": "cat"})
        ids = connection.execute(text("SELECT id FROM admin_user ORDER BY id")).all()
    assert [row[0] for row in ids] == [1, 2]
    engine.dispose()
