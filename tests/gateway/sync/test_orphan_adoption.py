"""Every path that can meet a ``pending_create`` row adopts the orphan instead of losing it.

A create whose answer was lost leaves an issue in Jira that the gateway does not
know about, and a ``pending_create`` row. Whatever happens next to the task -
nothing, an edit, completion, deletion, completion and reopening - or to the
issue - closed by a person, its webhook delivered or lost and found by the sweep -
the issue must be found through its label and entity property, recorded, and
brought to the right state: exactly one issue per task, never a second create.

The lost answer is made by the fakes' fault plane, two ways: Jira answers 502
after it created the issue (a proxy timing out on a backend that committed), or
Jira's answer is held past the gateway's read timeout (the connection is given
up after the create).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.jobs import ISSUE_EVENT_JOB, SWEEP_JOB, sweep_job_id
from gateway.models import DeletionPolicy, DomainConfig, EventType, SyncStatus
from gateway.sync import orphans
from tests.world import World

CREATE_ENDPOINT = "/rest/api/3/issue"
HELD_ANSWER_CLIENT_TIMEOUT = 1.5

LoseCreateAnswer = Callable[[World], Awaitable[None]]


async def answer_502_after_the_create(world: World) -> None:
    world.jira_faults.set_error_rate(1.0, status=502, after=True)
    try:
        await world.tick()
    finally:
        world.jira_faults.clear()


async def answer_held_past_the_client_timeout(world: World) -> None:
    original = world.settings
    world.settings = original.model_copy(
        update={"http_timeout_seconds": HELD_ANSWER_CLIENT_TIMEOUT}
    )
    hold = world.jira_faults.hold("POST", CREATE_ENDPOINT, stage="after")
    try:
        await world.tick()
    finally:
        hold.release()
        world.settings = original
    assert hold.held == 1, "the create never reached Jira"


LOSSES = {
    "502-after-create": answer_502_after_the_create,
    "answer-held-past-timeout": answer_held_past_the_client_timeout,
}


@pytest.fixture(params=sorted(LOSSES))
def lose_create_answer(request: pytest.FixtureRequest) -> LoseCreateAnswer:
    return LOSSES[request.param]


async def lost_create(world: World, lose: LoseCreateAnswer, title: str = "Welcome lunch") -> int:
    """A task whose create Jira performed while the gateway never learnt the outcome."""
    if not world.domain_id:
        world.add_domain()
    task = world.pf.create_task(title)
    await lose(world)
    [issue] = world.issues()
    assert issue["properties"]["pf_sync_metadata"]["pf_task_id"] == task["id"]
    state = world.states()[task["id"]]
    assert state.status == SyncStatus.PENDING_CREATE
    assert state.jira_issue_id is None
    return task["id"]


def creates(world: World) -> int:
    return sum(
        1
        for r in world.jira_faults.requests
        if r.method == "POST" and r.endpoint == CREATE_ENDPOINT
    )


def assert_adopted(world: World, task_id: int) -> dict:
    """Exactly one issue for the task, recorded in its row, found by the orphan search."""
    assert world.issues_by_task() == {task_id: 1}
    [issue] = world.issues()
    state = world.states()[task_id]
    assert state.jira_issue_id == issue["id"]
    assert state.jira_issue_key == issue["key"]
    assert [e.pf_task_id for e in world.events(EventType.ADOPTED)] == [task_id]
    assert creates(world) == 1, "the create was sent again"
    return issue


async def assert_at_rest(world: World) -> None:
    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests() == 0
    assert not [r for r in world.pf_faults.requests if r.method != "GET"]


async def test_the_next_tick_adopts_the_orphan(
    world: World, lose_create_answer: LoseCreateAnswer
) -> None:
    task_id = await lost_create(world, lose_create_answer)

    await world.tick()

    issue = assert_adopted(world, task_id)
    assert issue["status_category"] == "new"
    state = world.states()[task_id]
    assert state.status == SyncStatus.SYNCED and not state.is_completed
    await assert_at_rest(world)


async def test_an_edit_before_the_retry_updates_the_adopted_orphan(world: World) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    world.pf.edit_task(task_id, title="Welcome lunch, 12:30")

    await world.tick()

    issue = assert_adopted(world, task_id)
    assert issue["summary"] == "Welcome lunch, 12:30"
    await assert_at_rest(world)


async def test_completion_adopts_the_orphan_and_moves_it_to_done(
    world: World, lose_create_answer: LoseCreateAnswer
) -> None:
    task_id = await lost_create(world, lose_create_answer)
    world.pf.complete_task(task_id)  # HR finished the task before the next tick

    await world.tick()

    issue = assert_adopted(world, task_id)
    assert issue["status_category"] == "done", "the orphan was left open"
    state = world.states()[task_id]
    assert state.status == SyncStatus.SYNCED and state.is_completed
    assert [e.pf_task_id for e in world.events(EventType.TRANSITIONED)] == [task_id]
    await assert_at_rest(world)


@pytest.mark.parametrize(
    ("policy", "category"),
    [(DeletionPolicy.LEAVE, "new"), (DeletionPolicy.CLOSE, "done")],
    ids=["leave", "close"],
)
async def test_deletion_adopts_the_orphan_and_follows_the_policy(
    world: World, policy: DeletionPolicy, category: str
) -> None:
    world.add_domain(deletion_policy=policy)
    task_id = await lost_create(world, answer_502_after_the_create)
    world.pf.delete_task(task_id)

    await world.tick()

    issue = assert_adopted(world, task_id)
    assert issue["status_category"] == category
    assert world.states()[task_id].status == SyncStatus.DELETED
    assert [e.pf_task_id for e in world.events(EventType.TASK_DELETED)] == [task_id]
    await assert_at_rest(world)


async def test_completed_and_reopened_before_the_retry_leaves_the_orphan_open(
    world: World,
) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    world.pf.complete_task(task_id)
    world.pf.reopen_task(task_id)

    await world.tick()

    issue = assert_adopted(world, task_id)
    assert issue["status_category"] == "new"
    assert not world.states()[task_id].is_completed
    await assert_at_rest(world)


async def test_reopening_after_the_orphan_was_closed_reopens_it(
    world: World, lose_create_answer: LoseCreateAnswer
) -> None:
    task_id = await lost_create(world, lose_create_answer)
    world.pf.complete_task(task_id)
    await world.tick()
    assert world.issues()[0]["status_category"] == "done"

    world.pf.reopen_task(task_id)
    await world.tick()

    issue = assert_adopted(world, task_id)
    assert issue["status_category"] != "done"
    state = world.states()[task_id]
    assert state.status == SyncStatus.SYNCED and not state.is_completed
    assert [e.pf_task_id for e in world.events(EventType.REOPENED_IN_PEOPLEFORCE)] == [task_id]
    await assert_at_rest(world)


async def test_a_webhook_job_for_the_orphan_adopts_it_and_completes_the_task(
    world: World, lose_create_answer: LoseCreateAnswer
) -> None:
    task_id = await lost_create(world, lose_create_answer)
    [orphan] = world.issues()
    world.jira.transition(orphan["key"], to_category="done")  # a person closes it in Jira

    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, orphan["id"])
    await world.run_worker()

    assert_adopted(world, task_id)
    assert world.pf.get_task(task_id)["completed"] is True
    state = world.states()[task_id]
    assert state.status == SyncStatus.SYNCED and state.is_completed
    assert [e.pf_task_id for e in world.events(EventType.COMPLETED_FROM_JIRA)] == [task_id]
    await assert_at_rest(world)


async def test_a_lost_webhook_for_the_orphan_is_repaired_by_tick_and_sweep(
    world: World, lose_create_answer: LoseCreateAnswer
) -> None:
    task_id = await lost_create(world, lose_create_answer)
    [orphan] = world.issues()
    world.jira.transition(orphan["key"], to_category="done")  # its webhook is lost

    async def sweep() -> None:
        await world.pool.enqueue_job(
            SWEEP_JOB, world.domain_id, _job_id=sweep_job_id(world.domain_id)
        )
        await world.run_worker()

    # The sweep intersects done issues with recorded mappings: the unconfirmed row has
    # none yet, so it repairs nothing and, above all, creates nothing.
    await sweep()
    assert world.states()[task_id].status == SyncStatus.PENDING_CREATE
    assert world.pf.get_task(task_id)["completed"] is False
    assert len(world.issues()) == 1

    await world.tick()  # the orphan search records the mapping
    await sweep()  # and the sweep now finds the done issue of an open task

    assert_adopted(world, task_id)
    assert world.pf.get_task(task_id)["completed"] is True
    assert world.states()[task_id].is_completed
    assert [e.pf_task_id for e in world.events(EventType.REPAIRED_BY_SWEEPER)] == [task_id]
    await assert_at_rest(world)


async def test_an_orphan_whose_label_a_person_removed_is_still_adopted(
    world: World, lose_create_answer: LoseCreateAnswer
) -> None:
    task_id = await lost_create(world, lose_create_answer)
    [orphan] = world.issues()
    world.jira.remove_labels(orphan["key"], "PeopleForce")  # before the gateway knows it

    await world.tick()

    assert_adopted(world, task_id)


async def test_a_label_only_search_makes_a_duplicate_of_that_orphan(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative: without the creator clause the relabelled orphan is not found."""
    searched: list[str] = []

    def labels_only(domain: DomainConfig, minutes: int) -> str:
        searched.append(jql := f'labels = "PeopleForce" AND created >= "-{minutes}m"')
        return jql

    monkeypatch.setattr(orphans, "orphan_jql", labels_only)
    task_id = await lost_create(world, answer_502_after_the_create)
    [orphan] = world.issues()
    world.jira.remove_labels(orphan["key"], "PeopleForce")

    await world.tick()

    assert searched and world.issues_by_task() == {task_id: 2}
