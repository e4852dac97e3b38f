"""The restore drill: back up while a worker syncs a story, restore into a fresh data
folder, resume there; Jira ends with exactly one issue per task.

Tasks keep arriving during the backup and after it, so the restored database misses
issues the worker created after the copy. The restore finds them in Jira by label and
lineage property; the resumed worker's orphan search adopts them. The negative test
restores without that search (``--skip-jira``) and gets duplicates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from gateway.db import make_engine
from gateway.models import EventType, SyncEvent, SyncState, SyncStatus
from gateway.security.crypto import KEY_FILE
from gateway.settings import ENV_PREFIX
from tests.ops.support import start_worker, wait_for
from tests.world import World

SYNC_TIMEOUT = 90.0


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite in every test pass (backup and restore copy SQLite files), where the default
    installation keeps it: ``<data folder>/gateway.db``."""
    return f"sqlite:///{tmp_path / 'data' / 'gateway.db'}"


def run_gateway(world: World, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """``gateway ...`` on the world's Redis and clock, with ``data_dir``'s default SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env |= {
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_REDIS_URL": world.settings.redis_url or "",
        "GATEWAY_CLOCK_OFFSET_FILE": str(world.clock_offset_file),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def synced(engine_url: str) -> dict[int, SyncState]:
    engine = make_engine(engine_url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(SyncState)).all()
            return {s.pf_task_id: s for s in rows if s.status == SyncStatus.SYNCED}
    finally:
        engine.dispose()


def create_tasks(world: World, first: int, count: int) -> None:
    for n in range(first, first + count):
        world.pf.create_task(f"Onboarding step {n}")


def wait_synced(world: World, url: str, count: int) -> None:
    wait_for(
        lambda: len(synced(url)) >= count,
        SYNC_TIMEOUT,
        lambda: f"{len(synced(url))} of {count} tasks synced",
    )


def backup_mid_story(world: World, backup: Path, completed_after: int = 0) -> None:
    """A worker syncs 30 tasks; the backup is taken while the next ones are created.
    ``completed_after`` of the tasks created after the backup are then completed in
    PeopleForce, and the worker closes their issues, before the story ends."""
    world.add_domain()
    create_tasks(world, 0, 30)
    worker = start_worker(world, "worker")
    url = world.settings.effective_database_url
    wait_synced(world, url, 30)
    create_tasks(world, 30, 10)
    made = run_gateway(world, world.settings.data_dir, "db", "backup", str(backup))
    assert made.returncode == 0, made.stderr
    assert "backed up to" in made.stdout
    create_tasks(world, 40, 10)
    wait_synced(world, url, 50)
    late = sorted(synced(url))[-completed_after:] if completed_after else []
    for task_id in late:
        world.pf.complete_task(task_id)
    wait_for(
        lambda: all(synced(url)[task_id].is_completed for task_id in late),
        SYNC_TIMEOUT,
        lambda: f"issues of the tasks {late} completed after the backup still open",
    )
    worker.stop()
    assert len(synced(url)) == 50 and set(world.issues_by_task().values()) == {1}


def fresh_folder(world: World, root: Path) -> Path:
    """A new data folder holding only what the README says to keep: the credentials key."""
    fresh = root / "fresh"
    fresh.mkdir()
    shutil.copy2(world.settings.data_dir / KEY_FILE, fresh / KEY_FILE)
    return fresh


def resume(world: World, fresh: Path) -> str:
    """A worker on the restored database; returns its URL once every task is synced."""
    url = f"sqlite:///{fresh / 'gateway.db'}"
    worker = world.start_worker_process(
        "resumed",
        extra_env={
            "GATEWAY_DATA_DIR": str(fresh),
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_SCHEDULER_INTERVAL_SECONDS": "1",
        },
    )
    try:
        worker.wait_heartbeat(world.redis_url)
        wait_synced(world, url, 50)
    finally:
        worker.stop()
    return url


async def test_restore_into_a_fresh_folder_resumes_without_duplicates(
    world: World, tmp_path: Path
) -> None:
    backup = tmp_path / "backups" / "gateway.db"
    backup_mid_story(world, backup, completed_after=3)
    in_backup = len(synced(f"sqlite:///{backup}"))
    assert 30 <= in_backup <= 47  # the copy misses what was synced after it

    world.advance(120)  # time passes before the operator restores
    fresh = fresh_folder(world, tmp_path)
    restored = run_gateway(world, fresh, "db", "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert f"{50 - in_backup} issue(s) created after the backup found in Jira" in restored.stdout
    assert "domain acme: searching Jira for issues created in the last " in restored.stderr

    url = resume(world, fresh)
    assert set(world.issues_by_task().values()) == {1} and len(world.issues_by_task()) == 50
    # The tasks completed after the backup are settled too: mapped, completed, not pending.
    rows = synced(url)
    assert sum(1 for row in rows.values() if row.is_completed) == 3
    engine = make_engine(url)
    with Session(engine) as session:
        adopted = session.exec(
            select(SyncEvent).where(SyncEvent.event_type == EventType.ADOPTED.value)
        ).all()
    engine.dispose()
    assert len(adopted) == 50 - in_backup


async def test_without_the_jira_search_the_resumed_gateway_creates_duplicates(
    world: World, tmp_path: Path
) -> None:
    """Negative: the backup alone does not know the issues made after it."""
    backup = tmp_path / "backups" / "gateway.db"
    backup_mid_story(world, backup)
    in_backup = len(synced(f"sqlite:///{backup}"))
    world.advance(120)
    fresh = fresh_folder(world, tmp_path)
    restored = run_gateway(world, fresh, "db", "restore", str(backup), "--skip-jira")
    assert restored.returncode == 0, restored.stderr
    resume(world, fresh)
    twice = [task for task, issues in world.issues_by_task().items() if issues > 1]
    assert len(twice) == 50 - in_backup
