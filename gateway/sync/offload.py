"""The one seam for blocking database work: a bounded thread pool per engine.

Why it exists and why threads rather than async sessions: see ``gateway.sync.ledger``,
whose every method goes through here, as do the worker's other database calls.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

P = ParamSpec("P")
T = TypeVar("T")

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

    The one seam for blocking database work of the sync flows and the worker's jobs.
    Context variables (the log context) travel with the call.
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
