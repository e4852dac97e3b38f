"""The zombie sweeper repairs what lost webhooks left open, with one search per page."""

from __future__ import annotations

from gateway.jobs import SWEEP_JOB
from gateway.models import EventType
from tests.world import World

SEARCH_PATH = "/rest/api/3/search/jql"


async def synced_tasks(world: World, n: int) -> list[dict]:
    world.add_domain()
    tasks = [world.pf.create_task(f"Onboarding step {i}") for i in range(n)]
    await world.tick()
    assert len(world.issues()) == n
    return tasks


def close_all_in_jira(world: World) -> None:
    """People close every issue; with webhooks dropped, nothing tells the gateway."""
    world.jira.webhooks.set_faults(drop_rate=1.0)
    for issue in world.issues():
        world.jira.transition(issue["key"], to_category="done")


async def sweep(world: World) -> None:
    await world.pool.enqueue_job(SWEEP_JOB, world.domain_id)
    await world.run_worker()


async def test_one_sweep_repairs_every_lost_webhook(world: World) -> None:
    tasks = await synced_tasks(world, 10)
    close_all_in_jira(world)
    assert all(not t["completed"] for t in world.pf.tasks.values())
    world.reset_request_logs()

    await sweep(world)

    assert all(world.pf.get_task(t["id"])["completed"] for t in tasks)
    [event] = world.events(EventType.SWEEP)
    assert event.details is not None
    assert event.details["repaired"] == 10
    assert event.details["scanned"] == 10
    assert len(world.events(EventType.REPAIRED_BY_SWEEPER)) == 10
    searches = [r for r in world.jira_faults.requests if r.endpoint == SEARCH_PATH]
    # The fake pages search results by 100 at most: ten hits are one page, one request.
    assert len(searches) == 1
    assert 'statusCategory = Done AND updated >= "-1440m"' in event.details["jql"]


async def test_a_second_sweep_repairs_nothing(world: World) -> None:
    await synced_tasks(world, 3)
    close_all_in_jira(world)
    await sweep(world)
    world.reset_request_logs()
    await sweep(world)
    latest = max(world.events(EventType.SWEEP), key=lambda e: e.id or 0)
    assert latest.details is not None and latest.details["repaired"] == 0
    assert not [r for r in world.pf_faults.requests if r.method == "PUT"]


async def test_three_days_of_downtime_are_still_covered(world: World) -> None:
    tasks = await synced_tasks(world, 4)
    await sweep(world)  # the last successful sweep, before the outage
    world.advance(3600)
    close_all_in_jira(world)
    world.advance(3 * 24 * 3600)  # the gateway is down for three days

    await sweep(world)

    assert all(world.pf.get_task(t["id"])["completed"] for t in tasks)
    latest = max(world.events(EventType.SWEEP), key=lambda e: e.id or 0)
    assert latest.details is not None
    assert latest.details["repaired"] == 4
    assert latest.details["window_minutes"] > 3 * 24 * 60


async def test_sweep_pages_through_many_results(world: World) -> None:
    world.jira.search_max_results = 4
    tasks = await synced_tasks(world, 10)
    close_all_in_jira(world)
    world.reset_request_logs()
    await sweep(world)
    assert all(world.pf.get_task(t["id"])["completed"] for t in tasks)
    searches = [r for r in world.jira_faults.requests if r.endpoint == SEARCH_PATH]
    assert len(searches) == 3  # ceil(10 / 4) pages, one request each
