"""``gateway tick``'s progress while the tick runs: done/total, issues created, rate.

The tick publishes its progress (``gateway.monitoring.tick_status``) whichever
process runs it; the command reads it back the same way the admin UI does. On a
terminal it is a rich progress bar; otherwise one plain line per change (at most one
a second), so a long initial sync run from a script or CI leaves a readable trace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from gateway.monitoring.tick_status import TickStatus, read_tick_status

T = TypeVar("T")
POLL_SECONDS = 0.25


def progress_line(status: TickStatus) -> str | None:
    """``12/30 tasks, 12 created, 9.8 tasks/s``; None before the tick has counted its work."""
    progress = status.progress
    if not progress:
        return None
    rate = f", {status.rate:.1f} tasks/s" if status.rate else ""
    return f"{progress['done']}/{progress['total']} tasks, {progress['created']} created{rate}"


async def with_progress(
    work: Awaitable[T], redis: Any, domain_id: int, console: Console, *, live: bool
) -> T:
    """Await ``work`` (a tick of ``domain_id``) while showing its progress on ``console``."""
    task = asyncio.ensure_future(work)
    if not live:
        last: str | None = None
        while not task.done():
            await asyncio.wait({task}, timeout=POLL_SECONDS)
            line = progress_line(await read_tick_status(redis, domain_id))
            if line and line != last:
                console.print(f"progress: {line}", highlight=False)
                last = line
        return await task
    columns = (
        TextColumn("tick"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[created]} created · {task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        job = bar.add_task("tick", total=None, created=0, rate="")
        while not task.done():
            await asyncio.wait({task}, timeout=POLL_SECONDS)
            status = await read_tick_status(redis, domain_id)
            if status.progress:
                rate = f"{status.rate:.1f} tasks/s" if status.rate else ""
                bar.update(
                    job,
                    total=status.progress["total"],
                    completed=status.progress["done"],
                    created=status.progress["created"],
                    rate=rate,
                )
    return await task
