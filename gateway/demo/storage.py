"""A gateway installation's storage: data folder, migrated database, Redis and settings.

Every stack (the demo, a scenario run, a test world, a benchmark) needs the same
three things a deployment has: a database migrated to head through Alembic, a
Redis (the embedded server, or a given one emptied first) and one ``Settings``
object naming both. ``gateway_environment`` hands the same installation to a
``gateway`` subprocess through the ``GATEWAY_*`` variables production uses, so
every process of a stack sees one database and one Redis.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from gateway.clock import OFFSET_FILE_ENV
from gateway.db import make_engine
from gateway.migrate import upgrade
from gateway.redis import EmbeddedRedis, redis_client
from gateway.security.crypto import load_cipher, set_default_cipher
from gateway.settings import ENV_PREFIX, Settings, load_settings

DATABASE_FILE = "gateway.db"


@dataclass
class Storage:
    """The open parts of one installation; ``close()`` ends what this process started."""

    folder: Path
    settings: Settings
    engine: Engine
    redis_server: EmbeddedRedis | None = None
    """The embedded Redis this installation started (None when given a Redis URL)."""
    remove_folder: bool = False

    @property
    def database_url(self) -> str:
        return self.settings.effective_database_url

    @property
    def redis_url(self) -> str:
        return self.settings.redis_url or ""

    def close(self) -> None:
        self.engine.dispose()
        if self.redis_server is not None:
            self.redis_server.stop()
        if self.remove_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def flush_redis(redis_url: str) -> None:
    """Empty a Redis that outlives one stack (a test session's, a given server)."""
    client = redis_client(redis_url, timeout=10)
    try:
        client.flushall()
    finally:
        client.close()


def open_storage(
    folder: Path | None = None,
    *,
    prefix: str = "gateway-",
    database_url: str | None = None,
    redis_url: str | None = None,
    redis_dir: Path | None = None,
    data_dir: Path | None = None,
    database_file: str = DATABASE_FILE,
    **settings: Any,
) -> Storage:
    """Open an installation in ``folder`` (a new temporary folder, removed on close, if None).

    Without ``database_url`` the database is a SQLite file in the folder; without
    ``redis_url`` an embedded Redis runs in ``redis_dir`` (default ``folder/redis``).
    ``settings`` are further ``Settings`` fields; no ``.env`` file is read, so the
    installation is exactly what the caller asked for. On failure nothing is left running.
    """
    made = folder is None
    folder = Path(tempfile.mkdtemp(prefix=prefix)) if folder is None else folder
    redis_server: EmbeddedRedis | None = None
    engine: Engine | None = None
    try:
        if redis_url:
            flush_redis(redis_url)
        else:
            # A temporary installation's server is for this process alone.
            redis_server = EmbeddedRedis(redis_dir or folder / "redis", owned=made)
            redis_url = redis_server.ensure_running()
        database_url = database_url or f"sqlite:///{folder / database_file}"
        config = load_settings(
            _env_file=None,
            data_dir=data_dir or folder / "data",
            database_url=database_url,
            redis_url=redis_url,
            **settings,
        )
        cipher = load_cipher(config)
        set_default_cipher(cipher)
        upgrade(database_url)
        engine = make_engine(database_url, cipher=cipher)
    except BaseException:
        if engine is not None:
            engine.dispose()
        if redis_server is not None:
            redis_server.stop()
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return Storage(folder, config, engine, redis_server, remove_folder=made)


def gateway_environment(
    settings: Settings,
    *,
    clock_offset_file: Path | None = None,
    inherit: Iterable[str] = (),
    **extra: str,
) -> dict[str, str]:
    """The environment of a ``gateway`` subprocess that shares the installation of ``settings``.

    Every ``GATEWAY_*`` variable of this process is dropped, except the ``inherit``
    names (without the prefix), so the child is configured by ``settings`` alone.
    """
    kept = {f"{ENV_PREFIX}{name}" for name in inherit}
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX) or k in kept}
    env.update(
        {
            "GATEWAY_DATA_DIR": str(settings.data_dir),
            "GATEWAY_DATABASE_URL": settings.effective_database_url,
            "GATEWAY_REDIS_URL": settings.redis_url or "",
            "GATEWAY_ORPHAN_GRACE_SECONDS": str(settings.orphan_grace_seconds),
            "GATEWAY_SCHEDULER_INTERVAL_SECONDS": str(settings.scheduler_interval_seconds),
            "GATEWAY_HTTP_TIMEOUT_SECONDS": str(settings.http_timeout_seconds),
            "GATEWAY_LOG_FORMAT": settings.log_format,
            "GATEWAY_LOG_LEVEL": settings.log_level,
        }
    )
    if settings.jira_webhook_secret is not None:
        env["GATEWAY_JIRA_WEBHOOK_SECRET"] = settings.jira_webhook_secret.get_secret_value()
    if settings.credentials_keys is not None:
        # Without it the child falls back to the key file under the shared data folder.
        env["GATEWAY_CREDENTIALS_KEYS"] = settings.credentials_keys.get_secret_value()
    if clock_offset_file is not None:
        env[OFFSET_FILE_ENV] = str(clock_offset_file)
    env.update(extra)
    return env
