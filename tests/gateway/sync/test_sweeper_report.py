"""What a sweep records, how it fails, and that two sweeps of one domain never overlap."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest

from gateway.jobs import SWEEP_JOB
from gateway.models import EventType
from gateway.sync import sweeper
from gateway.sync.locks import redis_lock, sweep_lock_name
from tests.gateway.sync.test_locks import renewals_seen
from tests.world import World

SEARCH_ENDPOINT = "/rest/api/3/search/jql"


async def closed_in_jira(world: World, n: int) -> list[dict]:
    """``n`` synced tasks whose issues people closed while every webhook was lost."""
    world.add_domain()
    tasks = [world.pf.create_task(f"Step {i}") for i in range(n)]
    await world.tick()
    world.jira.webhooks.set_faults(drop_rate=1.0)
    for issue in world.issues():
        world.jira.transition(issue["key"], to_category="done")
    return tasks


async def sweep(world: World) -> None:
    await world.pool.enqueue_job(SWEEP_JOB, world.domain_id)
    await world.run_worker()


def last_sweep_event(world: World):
    return max(world.events(EventType.SWEEP), key=lambda e: e.id or 0)


async def test_a_sweep_records_everything_it_did(world: World) -> None:
    await closed_in_jira(world, 2)
    await sweep(world)

    event = last_sweep_event(world)
    assert event.reason == "scanned 2, repaired 2"
    details = event.details or {}
    assert set(details) == {
        "started_at",
        "finished_at",
        "window_minutes",
        "jql",
        "scanned",
        "candidates",
        "repaired",
        "capped",
        "errors",
    }
    assert (details["scanned"], details["candidates"], details["repaired"]) == (2, 2, 2)
    assert details["window_minutes"] == 24 * 60
    assert details["errors"] == []
    started = datetime.fromisoformat(details["started_at"])
    assert started <= datetime.fromisoformat(details["finished_at"])
    domain = world.domain()
    assert domain.last_sweep_at is not None and domain.next_sweep_at is not None


async def test_a_failed_search_is_reported_and_keeps_the_window(world: World) -> None:
    await closed_in_jira(world, 1)
    world.jira_faults.set_error_rate(1.0, status=503)
    await sweep(world)
    world.jira_faults.clear()

    event = last_sweep_event(world)
    assert event.reason == "scanned 0, repaired 0, 1 errors"
    [error] = (event.details or {})["errors"]
    assert error.startswith("search failed: ")
    domain = world.domain()
    assert domain.last_sweep_at is None, "a failed sweep must not move the window"
    assert domain.next_sweep_at is not None


async def test_every_failed_repair_is_reported_and_the_sweep_goes_on(world: World) -> None:
    await closed_in_jira(world, 21)
    keys = {i["key"] for i in world.issues()}
    world.pf_faults.partition("refuse")
    await sweep(world)
    world.pf_faults.heal()

    event = last_sweep_event(world)
    assert event.reason == "scanned 21, repaired 0, 21 errors"
    errors = (event.details or {})["errors"]
    assert len(errors) == 20, "the audit keeps the first twenty errors"
    named = {error.split(":")[0].removeprefix("issue ") for error in errors}
    assert named <= keys and len(named) == 20
    assert world.domain().last_sweep_at is None


async def test_a_second_sweep_of_a_domain_waits_its_turn(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await closed_in_jira(world, 1)
    caplog.set_level(logging.INFO, logger="gateway.sync.sweeper")
    async with redis_lock(world.pool, sweep_lock_name(world.domain_id), timeout=30, wait=None):
        await sweep(world)
    assert world.events(EventType.SWEEP) == []
    assert f"domain {world.domain_id}: a sweep is already running" in caplog.messages


async def test_the_sweep_lock_is_renewed_while_a_sweep_runs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await closed_in_jira(world, 1)
    monkeypatch.setattr(sweeper, "SWEEP_LOCK_TIMEOUT_SECONDS", 0.6)
    # Jira's search answer is held, so the sweep is still running while renewals are watched.
    held = world.jira_faults.hold("POST", SEARCH_ENDPOINT)
    await world.pool.enqueue_job(SWEEP_JOB, world.domain_id)
    worker = asyncio.create_task(world.run_worker())
    try:
        assert await held.wait_held(1)
        name = sweep_lock_name(world.domain_id)
        assert await renewals_seen(world.pool, name, 3) == 3
    finally:
        held.release()
        await worker
    assert last_sweep_event(world).reason == "scanned 1, repaired 1"
