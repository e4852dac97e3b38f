"""The errors that mean Redis or the database cannot be used now, not that a call was wrong.

The worker retries one-shot jobs that meet them, the API answers 503 for them, and the
worker's loop waits them out: every component names the same errors.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
"""Errors that mean Redis cannot be reached now (not that a command was wrong)."""
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    DisconnectionError,
    PoolTimeoutError,
)
"""Errors that mean the database cannot be used now: down, restarting, or locked past
SQLite's busy timeout."""


def first_line(error: BaseException) -> str:
    """The cause of ``error`` in one line (SQLAlchemy's own text spans several)."""
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def unavailable_line(error: BaseException) -> str:
    """What is unavailable and why, in one line."""
    what = "Redis" if isinstance(error, REDIS_UNAVAILABLE) else "the database"
    return f"{what} is unavailable: {first_line(error)}"
