"""The one seam where async admin code leaves the event loop.

The API's event loop also serves Jira's webhook ingress, so database work and
CPU-heavy calls (argon2) of an ``async`` route or background task run here, in
anyio's worker threads. That is the same bounded pool FastAPI runs plain ``def``
routes and dependencies in, so both paths share one limit (see
``gateway/api/admin/deps.py`` for when a route uses which).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio.to_thread
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.db import session_scope

T = TypeVar("T")


async def run_in_thread(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a worker thread; the loop serves other requests meanwhile."""
    return await anyio.to_thread.run_sync(partial(function, *args))


def _in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    with session_scope(engine) as session:
        return work(session)


async def in_session(engine: Engine, work: Callable[[Session], T]) -> T:
    """``work(session)`` in one transaction in a worker thread: committed if it returns,
    rolled back if it raises."""
    return await run_in_thread(_in_transaction, engine, work)
