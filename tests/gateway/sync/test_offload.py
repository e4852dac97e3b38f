"""The worker's event loop never waits on the database.

A tick runs with the real worker in burst mode while another connection holds a
write lock on the domain's row, so the tick's first write must wait for it (SQLite:
the database's one writer; PostgreSQL: the row lock). With asyncio's debug mode
reporting every callback that holds the loop for 1.5 s, that wait must show up
nowhere in the gateway's code: it happens on a database thread. The second test
switches the offload off and sees the same tick hold the loop, so the first one
can fail.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col

import gateway
import gateway.db as offload
from gateway.jobs import TICK_JOB, tick_job_id
from gateway.models import DomainConfig
from tests.world import World

# Well above what an ordinary step of a tick takes on a loaded machine (a step preempted
# by the parallel test run was seen at 0.7 s of wall time with debug mode on), well below
# the lock's wait, which a blocked loop shows.
SLOW_CALLBACK_SECONDS = 1.5
LOCK_HELD_SECONDS = 4.0
GATEWAY_CODE = str(Path(gateway.__file__).parent) + "/"


@contextmanager
def write_lock_held(world: World, seconds: float) -> Generator[None]:
    """Another connection updates the domain's row and keeps its transaction open.

    The lock is taken while the tick's first listing answer is held back, and only
    then is the answer let through: the tick's writes all come after the listing, so
    they meet the lock however slowly the worker got going on a loaded machine.
    """
    listing = world.pf_faults.hold("GET", "/tasks", stage="after", limit=1, timeout=30)
    held = threading.Event()

    def hold() -> None:
        deadline = time.monotonic() + 30
        while listing.held < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        with world.engine.connect() as connection, connection.begin():
            connection.execute(
                update(DomainConfig)
                .where(col(DomainConfig.id) == world.domain_id)
                .values(poll_interval_seconds=DomainConfig.poll_interval_seconds)
            )
            held.set()
            listing.release()
            time.sleep(seconds)

    holder = threading.Thread(target=hold, name="write-lock-holder")
    holder.start()
    try:
        yield
    finally:
        holder.join()
    assert held.is_set(), "the write lock was never taken"


async def tick_behind_a_write_lock(world: World, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Run one tick while the lock is held; the slow callbacks of gateway code it caused."""
    job = await world.pool.enqueue_job(
        TICK_JOB, world.domain_id, _job_id=tick_job_id(world.domain_id)
    )
    assert job is not None
    loop = asyncio.get_running_loop()
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
    try:
        with write_lock_held(world, LOCK_HELD_SECONDS):
            await world.run_worker()
    finally:
        loop.set_debug(False)
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "asyncio"
        and record.getMessage().startswith("Executing")
        and GATEWAY_CODE in record.getMessage()
    ]


def seed(world: World) -> None:
    world.add_domain()
    for n in range(6):
        world.pf.create_task(f"Task {n}")


async def test_a_tick_waiting_on_a_write_lock_never_holds_the_event_loop(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    seed(world)

    slow = await tick_behind_a_write_lock(world, caplog)

    assert slow == []
    assert len(world.issues()) == 6
    assert world.domain().last_tick_outcome == "6 open, 6 created"


async def test_without_the_offload_the_same_tick_holds_the_event_loop(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def on_the_loop(
        engine: Engine, work: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        return work(*args, **kwargs)

    monkeypatch.setattr(offload, "run_blocking", on_the_loop)
    seed(world)

    slow = await tick_behind_a_write_lock(world, caplog)

    assert slow, "the tick waited for the lock on the event loop, yet nothing was reported"
    assert len(world.issues()) == 6
