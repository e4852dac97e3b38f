"""Return vector: signed Jira webhooks complete PeopleForce tasks, acting on current state."""

from __future__ import annotations

import asyncio

import pytest

from gateway.jobs import ISSUE_EVENT_JOB
from gateway.models import EventType, ReopenPolicy
from tests.return_path import gateway_api, one_synced_task, wait_for_deliveries
from tests.world import World

__all__ = ["gateway_api"]  # the fixture, used by name

COMPLETE = "/tasks/{task_id}/complete"


def completes(world: World) -> int:
    return sum(1 for r in world.pf_faults.requests if r.method == "PUT" and r.endpoint == COMPLETE)


async def test_done_in_jira_completes_the_task_and_nothing_echoes(
    world: World, gateway_api: str
) -> None:
    task, key = await one_synced_task(world)
    world.reset_request_logs()

    world.jira.transition(key, to_category="done")
    await wait_for_deliveries(world, 1)
    [delivery] = world.jira.webhooks.log
    assert delivery.status == 202
    await world.run_worker()

    assert world.pf.get_task(task["id"])["completed"] is True
    assert completes(world) == 1
    assert len(world.events(EventType.COMPLETED_FROM_JIRA)) == 1

    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests() == 0
    assert not [r for r in world.pf_faults.requests if r.method != "GET"]


async def test_five_identical_deliveries_complete_once(world: World, gateway_api: str) -> None:
    task, key = await one_synced_task(world)
    world.jira.webhooks.set_faults(duplicate_rate=1.0, duplicate_count=5)
    world.reset_request_logs()

    world.jira.transition(key, to_category="done")
    await wait_for_deliveries(world, 5)
    identifiers = {d.identifier for d in world.jira.webhooks.log}
    assert len(identifiers) == 1
    await world.run_worker()

    assert world.pf.get_task(task["id"])["completed"] is True
    assert completes(world) == 1


async def test_done_arriving_after_a_reopen_does_not_complete(world: World) -> None:
    task, key = await one_synced_task(world)
    world.jira.transition(key, to_category="done")
    world.jira.reopen(key)
    # The "done" delivery is late: by the time the job runs, the issue is open again.
    issue_id = world.issues()[0]["id"]
    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue_id)
    await world.run_worker()

    assert world.pf.get_task(task["id"])["completed"] is False
    assert completes(world) == 0


async def test_repeated_jobs_for_one_issue_write_once(world: World) -> None:
    task, _ = await one_synced_task(world)
    issue = world.issues()[0]
    world.jira.transition(issue["key"], to_category="done")
    world.reset_request_logs()
    for _ in range(5):
        await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue["id"])
    await world.run_worker()
    assert world.pf.get_task(task["id"])["completed"] is True
    assert completes(world) == 1


async def test_reopen_policy_incomplete_reopens_the_task(world: World) -> None:
    task, key = await one_synced_task(world)
    world.update_domain(reopen_policy=ReopenPolicy.INCOMPLETE)
    issue_id = world.issues()[0]["id"]
    world.jira.transition(key, to_category="done")
    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue_id)
    await world.run_worker()
    assert world.pf.get_task(task["id"])["completed"] is True

    world.jira.reopen(key)
    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue_id)
    await world.run_worker()
    assert world.pf.get_task(task["id"])["completed"] is False


async def test_lineage_is_recovered_from_the_entity_property(world: World) -> None:
    task, key = await one_synced_task(world)
    issue_id = world.issues()[0]["id"]
    # The ledger lost the mapping (say, restored from an old backup).
    from sqlmodel import Session, select

    from gateway.models import SyncState

    with Session(world.engine) as session:
        state = session.exec(select(SyncState)).one()
        state.jira_issue_id = None
        state.jira_issue_key = None
        session.add(state)
        session.commit()

    world.jira.transition(key, to_category="done")
    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue_id)
    await world.run_worker()

    assert world.pf.get_task(task["id"])["completed"] is True
    assert world.states()[task["id"]].jira_issue_id == issue_id
    assert len(world.events(EventType.ADOPTED)) == 1


async def test_task_deleted_in_peopleforce_is_recorded(world: World) -> None:
    task, key = await one_synced_task(world)
    world.pf.delete_task(task["id"])
    world.jira.transition(key, to_category="done")
    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, world.issues()[0]["id"])
    await world.run_worker()
    assert len(world.events(EventType.TASK_DELETED)) == 1
    assert not world.dead_letters()


async def test_a_transient_failure_is_retried_by_the_worker(world: World) -> None:
    task, key = await one_synced_task(world)
    issue_id = world.issues()[0]["id"]
    world.jira.transition(key, to_category="done")
    world.pf_faults.partition("refuse")
    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue_id)
    attempts = world.retry_policy.max_attempts

    async def heal_once_the_first_try_failed() -> None:
        # Every attempt of the job's first try was refused: that try has failed for sure,
        # so only ARQ's deferred retry can complete the task, however slow the machine.
        deadline = asyncio.get_running_loop().time() + 30
        while refused_completes(world, task["id"]) < attempts:
            assert asyncio.get_running_loop().time() < deadline, "the first try never ran"
            await asyncio.sleep(0.005)
        world.pf_faults.heal()

    healer = asyncio.create_task(heal_once_the_first_try_failed())
    await world.run_worker()  # first try fails; ARQ runs the deferred retry
    await healer
    assert world.pf.get_task(task["id"])["completed"] is True
    assert refused_completes(world, task["id"]) == attempts
    assert completes(world) == 1  # the retry's, answered
    assert not world.dead_letters()


def refused_completes(world: World, task_id: int) -> int:
    """Completion requests the partition refused (logged by path: no route was matched)."""
    path = COMPLETE.format(task_id=task_id)
    return sum(
        1
        for r in world.pf_faults.requests
        if r.method == "PUT" and r.path == path and r.fault == "partition"
    )


async def test_retries_that_run_out_land_in_the_dead_letters(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.worker

    task, key = await one_synced_task(world)
    issue_id = world.issues()[0]["id"]
    world.jira.transition(key, to_category="done")
    monkeypatch.setattr(gateway.worker, "INBOUND_MAX_TRIES", 1)
    world.pf_faults.partition("refuse")
    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue_id)
    await world.run_worker()
    world.pf_faults.heal()

    [letter] = world.dead_letters()
    assert letter.operation == "complete_from_jira"
    assert letter.pf_task_id == task["id"] and letter.jira_issue_id == issue_id
    assert world.pf.get_task(task["id"])["completed"] is False

    # Once PeopleForce is back, the replay completes the task.
    await world.pool.enqueue_job("replay_dead_letter", letter.id)
    await world.run_worker()
    assert world.pf.get_task(task["id"])["completed"] is True
    [letter] = world.dead_letters()
    assert letter.replayed_at is not None
