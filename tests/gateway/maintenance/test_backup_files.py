"""What backups and the gateway's data folder leave on disk: no stray SQLite files beside a
backup, a clear refusal of a folder as a backup, and owner-only files whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.checks import check_file_modes
from gateway.cli import app as cli
from gateway.db import make_engine, ping
from gateway.redis import EmbeddedRedis
from gateway.runtime.preflight import check_folder
from gateway.security.keyfile import read_or_create_private_file
from gateway.settings import Settings


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite in every test pass: these commands copy SQLite files."""
    return f"sqlite:///{tmp_path / 'data' / 'gateway.db'}"


@pytest.fixture
def shared_umask() -> Iterator[None]:
    """The common default umask, under which new files are readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def runner(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_REDIS_URL", settings.redis_url or "")
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    return CliRunner()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_leaves_only_itself_and_is_owner_only(
    runner: CliRunner, tmp_path: Path, shared_umask: None
) -> None:
    target = tmp_path / "backups" / "copy.db"
    done = runner.invoke(cli, ["db", "backup", str(target)])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.db"]
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    forced = runner.invoke(cli, ["db", "backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.db"]


def test_a_restore_from_a_folder_says_so_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    done = runner.invoke(cli, ["db", "restore", str(folder), "--skip-jira"])
    assert done.exit_code == 1
    [line] = [line for line in done.output.splitlines() if line.startswith("error:")]
    assert line == f"error: {folder}: is a directory, not a database file"


def test_a_restored_database_is_owner_only(
    runner: CliRunner, settings: Settings, tmp_path: Path, shared_umask: None
) -> None:
    backup = tmp_path / "backup.db"
    assert runner.invoke(cli, ["db", "backup", str(backup)]).exit_code == 0
    backup.chmod(0o644)
    done = runner.invoke(cli, ["db", "restore", str(backup), "--skip-jira"])
    assert done.exit_code == 0, done.output
    assert mode(settings.data_dir / "gateway.db") == 0o600


def test_what_the_gateway_creates_in_its_data_folder_is_owner_only(
    tmp_path: Path, shared_umask: None
) -> None:
    data = tmp_path / "fresh"
    check_folder(data)
    engine = make_engine(f"sqlite:///{data / 'gateway.db'}")
    try:
        ping(engine)
    finally:
        engine.dispose()
    read_or_create_private_file(data / "keys" / "credentials_key", lambda: "k" * 44)
    assert mode(data) == 0o700
    assert mode(data / "gateway.db") == 0o600
    assert mode(data / "keys") == 0o700
    assert mode(data / "keys" / "credentials_key") == 0o600


def test_the_embedded_redis_writes_owner_only_files(tmp_path: Path, shared_umask: None) -> None:
    server = EmbeddedRedis(tmp_path / "redis-data", owned=True)
    client = redis.Redis.from_url(server.ensure_running())
    try:
        client.set("key", "value")
        client.save()
    finally:
        client.close()
        server.stop()
    written = [p for p in (tmp_path / "redis-data").rglob("*") if p.is_file()]
    assert any(p.name.startswith("appendonly") for p in written), written
    for path in written:
        if path.name.startswith(("appendonly", "dump")):
            assert mode(path) == 0o600, path


def test_check_warns_about_files_others_can_read(settings: Settings, engine: Engine) -> None:
    database = settings.data_dir / "gateway.db"
    database.chmod(0o600)
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            path.chmod(0o600)
    _, passed, detail = check_file_modes(settings)
    assert passed and not detail.startswith("warning"), detail
    database.chmod(0o644)
    _, passed, detail = check_file_modes(settings)
    assert passed and detail.startswith("warning: readable by group or others:"), detail
    assert str(database) in detail
