"""PeopleForce's undocumented corners: a second ``complete`` answered 4xx, 503 with Retry-After.

The fake PeopleForce can answer a ``complete`` of an already completed task with a
4xx (``repeat_complete_status``); the gateway treats that as success once the
completed list confirms it, and as an error otherwise.
"""

from __future__ import annotations

from gateway.jobs import ISSUE_EVENT_JOB
from tests.world import World

COMPLETE = "/tasks/{task_id}/complete"


async def done_in_jira(world: World) -> tuple[int, str]:
    world.add_domain()
    task = world.pf.create_task("Welcome lunch")
    await world.tick()
    [issue] = world.issues()
    world.jira.transition(issue["key"], to_category="done")
    return task["id"], issue["id"]


async def run_job(world: World, issue_id: str) -> None:
    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue_id)
    await world.run_worker()


def open_letters(world: World) -> list:
    return [d for d in world.dead_letters() if d.replayed_at is None]


async def test_a_refused_second_complete_of_a_completed_task_counts_as_done(world: World) -> None:
    task_id, issue_id = await done_in_jira(world)
    world.pf.repeat_complete_status = 422
    world.pf.complete_task(task_id)  # someone completed it in PeopleForce meanwhile

    await run_job(world, issue_id)

    refused = [r for r in world.pf_faults.requests if r.endpoint == COMPLETE]
    assert [r.status for r in refused] == [422]
    assert world.states()[task_id].is_completed
    assert open_letters(world) == []


async def test_a_lost_answer_then_a_refused_retry_counts_as_done(world: World) -> None:
    task_id, issue_id = await done_in_jira(world)
    world.pf.repeat_complete_status = 409
    # The first complete takes effect but its answer is lost; the retry meets the 409.
    world.pf_faults.refuse("PUT", COMPLETE, 502, "bad gateway", limit=1, after=True)

    await run_job(world, issue_id)

    refused = [r.status for r in world.pf_faults.requests if r.endpoint == COMPLETE]
    assert refused == [502, 409]
    assert world.pf.get_task(task_id)["completed"] is True
    assert world.states()[task_id].is_completed
    assert open_letters(world) == []


async def test_a_refused_complete_of_an_open_task_is_not_taken_for_done(world: World) -> None:
    task_id, issue_id = await done_in_jira(world)
    world.pf_faults.refuse("PUT", COMPLETE, 422, "Task cannot be completed")

    await run_job(world, issue_id)

    assert world.pf.get_task(task_id)["completed"] is False
    assert not world.states()[task_id].is_completed
    [letter] = open_letters(world)
    assert letter.error_status == 422


async def test_a_503_with_retry_after_is_waited_out(world: World) -> None:
    world.add_domain()
    world.pf.create_task("Welcome lunch")
    world.pf_faults.refuse("GET", "/tasks", 503, "maintenance", retry_after=0.3, limit=1)

    await world.tick()

    listings = [r for r in world.pf_faults.requests if r.endpoint == "/tasks"]
    assert [r.status for r in listings[:2]] == [503, 200]
    assert listings[1].at - listings[0].at >= 0.3
    assert len(world.issues()) == 1
