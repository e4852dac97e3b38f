"""Database engine and sessions; SQLite gets WAL, a busy timeout and foreign keys.

Also the one seam where async code leaves the event loop for blocking database work
(``run_blocking``, ``offloaded``, ``in_session``): a bounded thread pool per engine,
sized to the engine's connection pool. Threads rather than async sessions because the
SQL and its transactions stay exactly as they are, with one driver per backend; the
reasons are spelled out in ``gateway.sync.ledger``, the seam's main user.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import weakref
from collections.abc import Callable, Coroutine, Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

from gateway.security.crypto import CredentialCipher, bind_cipher
from gateway.security.file_modes import create_owner_only_file, owner_only_folder

SQLITE_BUSY_TIMEOUT_MS = 10_000

P = ParamSpec("P")
T = TypeVar("T")


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, cipher: CredentialCipher | None = None) -> Engine:
    """Create the engine for ``url``, creating the SQLite file (0600) and its folder (0700)
    if needed.

    ``cipher`` encrypts and decrypts the stored credentials of this engine; without
    one the process default (from the environment) does."""
    engine = _create_engine(url)
    if cipher is not None:
        bind_cipher(engine, cipher)
    return engine


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            owner_only_folder(Path(parsed.database).parent)
            create_owner_only_file(Path(parsed.database))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@contextmanager
def session_scope(engine: Engine) -> Generator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


_executors: weakref.WeakKeyDictionary[Engine, ThreadPoolExecutor] = weakref.WeakKeyDictionary()
_executors_lock = threading.Lock()


def db_threads(engine: Engine) -> int:
    """How many database calls of one engine run at once: its pool's steady size."""
    pool = engine.pool
    return max(1, pool.size()) if isinstance(pool, QueuePool) else 1


def _executor(engine: Engine) -> ThreadPoolExecutor:
    with _executors_lock:
        executor = _executors.get(engine)
        if executor is None:
            executor = ThreadPoolExecutor(db_threads(engine), thread_name_prefix="gateway-db")
            # Dropped with its engine; idle threads then end.
            _executors[engine] = executor
        return executor


async def run_blocking(
    engine: Engine, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``work`` on ``engine``'s database threads; the event loop runs on meanwhile.

    The one seam for blocking database work of the sync flows, the worker's jobs and
    the admin routes that also wait on the network. Context variables (the log
    context) travel with the call.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(
        _executor(engine), functools.partial(context.run, work, *args, **kwargs)
    )


class _HasEngine(Protocol):
    engine: Engine


S = TypeVar("S", bound=_HasEngine)


def offloaded(
    method: Callable[Concatenate[S, P], T],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """Turn a blocking method of an object with an ``engine`` into a coroutine (via the seam)."""

    @functools.wraps(method)
    async def call(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_blocking(self.engine, method, self, *args, **kwargs)

    return call


async def in_session(engine: Engine, work: Callable[[Session], T]) -> T:
    """``work(session)`` in one transaction on the database threads: committed if it
    returns, rolled back if it raises."""

    def in_transaction() -> T:
        with session_scope(engine) as session:
            return work(session)

    return await run_blocking(engine, in_transaction)
