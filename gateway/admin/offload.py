"""CPU-heavy admin work (argon2) off the API's event loop.

The API's event loop also serves Jira's webhook ingress, so password hashing and
verification run in anyio's worker threads: the same bounded pool FastAPI runs
plain ``def`` routes in. Database work has its own seam, ``gateway.db.in_session``
(see ``gateway/api/admin/deps.py`` for when a route uses which).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio.to_thread

T = TypeVar("T")


async def run_in_thread(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a worker thread; the loop serves other requests meanwhile."""
    return await anyio.to_thread.run_sync(partial(function, *args))
