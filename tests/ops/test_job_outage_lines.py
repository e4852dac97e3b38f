"""A tick or sweep that meets a locked or unreachable database is one warning line in the
worker's log, not ARQ's ERROR with a traceback for every failed job: the outage is not a
bug, and the scheduler queues the job again (``gateway.worker.observed``)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.worker import Worker, func
from sqlalchemy import create_engine, text

from gateway.jobs import QUEUE_NAME
from gateway.worker import RETRIED_WHEN_UNAVAILABLE, observed


def locked_database_write(path: Path) -> None:
    """A write to a SQLite file another connection holds exclusively: SQLite's own
    'database is locked', as a tick meets it past the busy timeout."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()


async def run_one_job(pool: ArqRedis, name: str, job: Any) -> Worker:
    worker = Worker(
        functions=[func(observed(job), name=name)],
        redis_pool=pool,
        queue_name=QUEUE_NAME,
        burst=True,
        poll_delay=0.05,
        max_tries=1,
    )
    await pool.enqueue_job(name, _job_id=f"{name}:1")
    await worker.main()
    await worker.close()
    return worker


@pytest.fixture
def locked_file(tmp_path: Path) -> Any:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    yield path
    holder.execute("ROLLBACK")
    holder.close()


async def test_a_tick_that_meets_a_locked_database_is_one_warning_line(
    arq_pool: ArqRedis, locked_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def sync_pf_to_jira_task(ctx: dict[str, Any]) -> None:
        locked_database_write(locked_file)

    assert sync_pf_to_jira_task.__name__ not in RETRIED_WHEN_UNAVAILABLE
    caplog.set_level(logging.INFO)
    await run_one_job(arq_pool, "sync_pf_to_jira_task", sync_pf_to_jira_task)

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage()[:200] for r in errors]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "sync_pf_to_jira_task:1" in warnings[0]
    assert "the database is unavailable: OperationalError: database is locked" in warnings[0]
    assert "\n" not in warnings[0]
