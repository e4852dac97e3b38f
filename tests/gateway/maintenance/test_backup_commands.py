"""``gateway db backup|restore``: what they refuse, in one line, and what they keep."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.cli import app as cli
from gateway.heartbeat import HEARTBEAT_KEY_PREFIX
from gateway.maintenance.backup import backup_sqlite
from gateway.migrate import head_revision
from gateway.settings import Settings


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite in every test pass: these commands copy SQLite files."""
    return f"sqlite:///{tmp_path / 'data' / 'gateway.db'}"


@pytest.fixture
def runner(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI on the test's installation (``engine`` has migrated its database)."""
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_REDIS_URL", settings.redis_url or "")
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    return CliRunner()


def _error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


def test_backup_refuses_to_overwrite_unless_forced(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    first = runner.invoke(cli, ["db", "backup", str(target)])
    assert first.exit_code == 0, first.output
    assert f"at revision {head_revision()}" in first.output
    again = runner.invoke(cli, ["db", "backup", str(target)])
    assert again.exit_code == 1
    assert _error_line(again.output) == f"error: {target} exists; pass --force to overwrite it"
    forced = runner.invoke(cli, ["db", "backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert not target.with_name("copy.db.partial").exists()


def test_postgresql_backup_prints_pg_dump_without_the_password(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "GATEWAY_DATABASE_URL", "postgresql+psycopg://sync:s3cr3t-pw@db.internal:5433/gateway"
    )
    done = runner.invoke(cli, ["db", "backup", str(tmp_path / "dump")])
    assert done.exit_code == 1
    assert (
        f"pg_dump --format=custom --file={tmp_path / 'dump'} --host=db.internal --port=5433 "
        "--username=sync gateway" in done.output
    )
    assert "s3cr3t" not in done.output
    assert _error_line(done.output).startswith("error: PostgreSQL: back up with pg_dump")


def test_restore_refuses_what_is_not_a_gateway_database(runner: CliRunner, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE photos (id INTEGER)")
    old = tmp_path / "old.db"
    assert runner.invoke(cli, ["db", "backup", str(old)]).exit_code == 0
    with sqlite3.connect(old) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_future'")
    expected = {
        tmp_path / "missing.db": "no such file",
        text: "not a SQLite database",
        other: "not a gateway database (no alembic_version table)",
        old: "migration revision '9999_future' is unknown to this gateway",
    }
    for path, problem in expected.items():
        done = runner.invoke(cli, ["db", "restore", str(path), "--skip-jira"])
        assert done.exit_code == 1
        assert _error_line(done.output) == f"error: {path}: {problem}"


def test_restore_refuses_while_a_worker_lives_and_keeps_the_old_file(
    runner: CliRunner, settings: Settings, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    assert runner.invoke(cli, ["db", "backup", str(backup)]).exit_code == 0
    client = redis.Redis.from_url(settings.redis_url or "")
    client.set(HEARTBEAT_KEY_PREFIX + "host-a:77", "1", ex=60)
    refused = runner.invoke(cli, ["db", "restore", str(backup), "--skip-jira"])
    assert refused.exit_code == 1
    assert _error_line(refused.output) == (
        "error: 1 worker(s) alive (host-a:77): stop the gateway first (or pass --force)"
    )
    client.delete(HEARTBEAT_KEY_PREFIX + "host-a:77")
    client.close()

    live = settings.data_dir / "gateway.db"
    done = runner.invoke(cli, ["db", "restore", str(backup), "--skip-jira"])
    assert done.exit_code == 0, done.output
    kept = live.with_name("gateway.db.before-restore")
    assert kept.is_file() and live.is_file()
    assert f"the previous database is kept as {kept}" in " ".join(done.output.split())
    second = runner.invoke(cli, ["db", "restore", str(backup), "--skip-jira"])
    assert second.exit_code == 1
    assert "an earlier restore's" in _error_line(second.output)


def test_backup_reports_progress_up_to_the_whole_file(settings: Settings, engine: Engine) -> None:
    live = settings.data_dir / "gateway.db"
    seen: list[tuple[int, int]] = []
    report = backup_sqlite(
        live, settings.data_dir / "copy.db", progress=lambda d, t: seen.append((d, t))
    )
    assert seen and seen[-1][0] == seen[-1][1] == report.size_bytes
    assert all(done <= total for done, total in seen)
