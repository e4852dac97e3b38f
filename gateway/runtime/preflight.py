"""Start-up failures in one line: ``preflight`` before a command starts anything.

A command that cannot reach what it needs (the data folder, the database, Redis)
stops before it starts anything, with one line that names the setting and the
cause and a non-zero exit, never a traceback: ``preflight_or_exit``. ``gateway
check`` reports the same findings among its other checks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.db import make_engine, ping
from gateway.monitoring.tracing import TracingConfigError, check_tracing_config
from gateway.redis import (
    EmbeddedRedis,
    RedisUnavailable,
    check_redis,
    redact_url,
    resolve_redis,
)
from gateway.runtime.unavailable import first_line
from gateway.security.file_modes import owner_only_folder
from gateway.settings import ENV_PREFIX, Settings

DATA_DIR_SETTING = f"{ENV_PREFIX}DATA_DIR"
DATABASE_SETTING = f"{ENV_PREFIX}DATABASE_URL"
REDIS_SETTING = f"{ENV_PREFIX}REDIS_URL"
SENTINELS_SETTING = f"{ENV_PREFIX}REDIS_SENTINELS"
STARTUP_FAILURE_EXIT_CODE = 1


class StartupError(Exception):
    """Something a command needs cannot be used; the message is one line for the operator."""


def check_folder(path: Path, setting: str = DATA_DIR_SETTING) -> None:
    """Raise StartupError unless ``path`` exists (or can be made) and is writable."""
    try:
        owner_only_folder(path)
    except OSError as error:
        raise StartupError(
            f"{setting}: {path} cannot be created: {error.strerror or error}"
        ) from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise StartupError(f"{setting}: {path} is not a writable folder")


def database_setting(settings: Settings) -> str:
    """The setting an operator changes to fix the database: the URL, or the data folder."""
    if settings.database_url:
        return DATABASE_SETTING
    return f"{DATABASE_SETTING} (unset: SQLite under {DATA_DIR_SETTING})"


def check_database_reachable(settings: Settings) -> None:
    """Raise StartupError unless the database answers a trivial query."""
    if not settings.database_url:
        check_folder(settings.data_dir)
    url = settings.effective_database_url
    try:
        engine = make_engine(url)
    except Exception as error:
        raise StartupError(f"{database_setting(settings)}: {first_line(error)}") from None
    try:
        ping(engine)
    except Exception as error:
        raise StartupError(
            f"{database_setting(settings)}: {redact_url(url)} is unreachable: {first_line(error)}"
        ) from None
    finally:
        engine.dispose()


def redis_setting(settings: Settings) -> str:
    """The variable that says where Redis is, for an error line."""
    return SENTINELS_SETTING if settings.redis_sentinels else REDIS_SETTING


def check_redis_startable(settings: Settings) -> None:
    """Raise StartupError unless the configured Redis answers (or the embedded one starts)."""
    if settings.redis_url or settings.redis_sentinels:
        try:
            check_redis(resolve_redis(settings))
        except RedisUnavailable as error:
            raise StartupError(f"{redis_setting(settings)}: {error}") from None
        return
    check_folder(settings.data_dir)
    try:
        check_redis(EmbeddedRedis(settings.data_dir).ensure_running())
    except (RedisUnavailable, OSError) as error:
        raise StartupError(
            f"{DATA_DIR_SETTING}: the embedded Redis cannot run in {settings.data_dir}: {error}"
        ) from None


def preflight(
    settings: Settings | None,
    *,
    database: bool = True,
    redis: bool = True,
    folders: Sequence[tuple[Path, str]] = (),
) -> None:
    """Raise StartupError for the first thing the command needs that cannot be used.

    Runs before logging is set up and before anything is migrated or started, so the
    error is the only line the command prints.
    """
    for path, setting in folders:
        check_folder(path, setting)
    try:
        check_tracing_config()
    except TracingConfigError as error:
        raise StartupError(str(error)) from None
    if settings is None:
        return
    if database:
        check_database_reachable(settings)
    if redis:
        check_redis_startable(settings)


def preflight_or_exit(
    settings: Settings | None,
    *,
    database: bool = True,
    redis: bool = True,
    folders: Sequence[tuple[Path, str]] = (),
) -> None:
    """``preflight``, turning its error into one line on stderr and a non-zero exit."""
    try:
        preflight(settings, database=database, redis=redis, folders=folders)
    except StartupError as error:
        sys.stderr.write(f"error: {error}\n")
        sys.stderr.flush()
        raise SystemExit(STARTUP_FAILURE_EXIT_CODE) from None
