"""The return path as the tests drive it: the real API on loopback registered as the fake
Jira's webhook, one task synced to an issue, and waiting for Jira's delivery attempts.

Shared by the inbound sync tests and the tracing tests (which build ``spans`` first when
they ask for both, so the API's tracing middleware is on).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from fakes.server import FakeServer
from gateway.api.app import create_app
from tests.conftest import WEBHOOK_SECRET
from tests.world import World


@pytest.fixture
async def gateway_api(world: World) -> AsyncIterator[str]:
    """The real gateway API on loopback, registered as the fake Jira's admin webhook."""
    server = FakeServer(create_app(world.settings)).start()
    world.jira.webhooks.register(
        f"{server.url}/api/v1/webhooks/jira",
        name="PF-Jira Sync: Task Completion Return Vector",
        events=["jira:issue_updated"],
        jql="labels = PeopleForce AND statusCategory = Done",
        secret=WEBHOOK_SECRET,
    )
    try:
        yield server.url
    finally:
        server.stop()


async def one_synced_task(world: World, title: str = "Welcome lunch") -> tuple[dict, str]:
    """A domain with one task created in Jira by a tick: (the task, its issue key)."""
    world.add_domain()
    task = world.pf.create_task(title)
    await world.tick()
    [issue] = world.issues()
    return task, issue["key"]


async def wait_for_deliveries(world: World, count: int, timeout: float = 10.0) -> None:
    """Wait until the fake Jira has finished ``count`` delivery attempts."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if world.jira.webhooks.pending == 0 and len(world.jira.webhooks.log) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries: {world.jira.webhooks.log}")
