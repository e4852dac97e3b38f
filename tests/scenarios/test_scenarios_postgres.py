"""Scenarios on PostgreSQL: three worker processes on one database server (concurrent-workers),
and the server cutting every connection mid-story (database-restart).

Runs in the PostgreSQL pass (`make test-postgres`, GATEWAY_TEST_DATABASE_URL set);
the SQLite pass runs the same scenario in tests/scenarios/test_scenarios_pass.py.
"""

from __future__ import annotations

from scenarios import run_scenario
from scenarios.result import Knobs
from tests import postgres


def test_concurrent_worker_processes_on_postgresql(postgres_server: str) -> None:
    with postgres.fresh_database(postgres_server) as url:
        result = run_scenario("concurrent-workers", seed=5, tasks=10, database_url=url)
    assert result.passed, [c for c in result.checks if not c.ok]
    assert set(result.issues_per_task) == {1}


def test_database_restart_on_postgresql(postgres_server: str) -> None:
    """Connections terminated and refused twice: ticks resume, nothing accepted is lost."""
    with postgres.fresh_database(postgres_server) as url:
        result = run_scenario("database-restart", seed=5, tasks=12, database_url=url)
    assert result.passed, (result.reasons, result.notes)


def test_database_restart_on_postgresql_without_job_retries_fails(postgres_server: str) -> None:
    """Workers that drop a webhook job meeting the outage (``Knobs(recovery=False)``):
    with every connection refused, the job cannot read its task before completing it, so
    deliveries answered 202 wait for the sweep. (On SQLite a held write lock still lets
    the job read and complete the task; only its record waits, which the tick repairs.)"""
    with postgres.fresh_database(postgres_server) as url:
        result = run_scenario(
            "database-restart", seed=5, tasks=12, database_url=url, knobs=Knobs(recovery=False)
        )
    assert not result.passed
    failing = {c.name for c in result.checks if not c.ok}
    assert "every accepted delivery completed its task" in failing, result.checks
