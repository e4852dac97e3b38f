"""Building blocks for test worlds: both fakes on loopback around a gateway database.

Kept apart from ``tests/world.py`` (the World itself) so any test package can
assemble one without copying fixture code.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

from arq.connections import ArqRedis
from sqlalchemy import Engine

from gateway.demo.storage import Storage
from gateway.demo.upstreams import start_upstreams
from gateway.settings import Settings
from tests.world import World

PAGE_SIZE = 5


@contextmanager
def fake_world(
    settings: Settings,
    engine: Engine,
    pool: ArqRedis,
    offset_file: Path,
    *,
    page_size: int = PAGE_SIZE,
) -> Generator[World]:
    """Start both fakes on loopback sharing one fake clock; stop them on exit.

    The caller points ``GATEWAY_CLOCK_OFFSET_FILE`` at ``offset_file`` so the
    gateway's clock moves with the fakes' when the test calls ``World.advance``.
    The database, Redis and ``pool`` stay the caller's (pytest fixtures).
    """
    world = World(pool, clock_offset_file=offset_file)
    quick_orphans = settings.model_copy(update={"orphan_grace_seconds": 0.0})
    storage = Storage(offset_file.parent, quick_orphans, engine)
    world.attach(storage, functools.partial(start_upstreams, page_size=page_size))
    try:
        yield world
    finally:
        world.close()
