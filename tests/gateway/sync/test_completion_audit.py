"""A completion the tick finds on both sides is recorded as Jira's, not as a transition.

A webhook job may complete the PeopleForce task of an issue closed in Jira and then
fail to record it (the database was locked through its last try). The next tick
finds the task completed and the issue done: nothing is left to write. The audit
names Jira as the origin (``completed_from_jira``), and the log has no "moved ... to
done" line for a transition that never happened: one INFO line per real write.
"""

from __future__ import annotations

import logging

import pytest

from gateway.models import EventType
from tests.world import World


def transition_posts(world: World) -> int:
    return sum(
        1
        for r in world.jira_faults.requests
        if r.method == "POST" and r.endpoint.endswith("/transitions")
    )


async def test_a_completion_both_sides_already_had_is_recorded_as_from_jira(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.add_domain()
    task_id = world.pf.create_task("Welcome lunch")["id"]
    await world.tick()
    [issue] = world.issues()
    # What the webhook job did before it could not record it: the issue closed in
    # Jira, the task completed in PeopleForce.
    world.jira.transition(issue["key"], to_category="done")
    world.pf.complete_task(task_id)
    world.reset_request_logs()

    with caplog.at_level(logging.DEBUG, logger="gateway.sync.writes"):
        await world.tick()

    assert world.states()[task_id].is_completed
    assert transition_posts(world) == 0
    assert world.events(EventType.TRANSITIONED) == []
    [event] = world.events(EventType.COMPLETED_FROM_JIRA)
    assert event.pf_task_id == task_id and event.jira_issue_key == issue["key"]
    assert event.reason == (
        "issue already done in Jira and task completed in PeopleForce; both sides agreed, "
        "nothing written"
    )
    written = [r for r in caplog.records if r.name == "gateway.sync.writes"]
    assert [r.levelno for r in written] == [logging.DEBUG]
    assert not any("moved" in r.getMessage() for r in written)


async def test_a_completion_the_tick_makes_is_logged_once_at_info(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Negative: a real transition keeps its audit event and its one INFO line."""
    world.add_domain()
    task_id = world.pf.create_task("Welcome lunch")["id"]
    await world.tick()
    [issue] = world.issues()
    world.pf.complete_task(task_id)

    with caplog.at_level(logging.DEBUG, logger="gateway.sync.writes"):
        await world.tick()

    [event] = world.events(EventType.TRANSITIONED)
    assert event.reason.startswith("task completed in PeopleForce; issue moved via ")
    assert world.events(EventType.COMPLETED_FROM_JIRA) == []
    written = [r for r in caplog.records if r.name == "gateway.sync.writes"]
    assert [(r.levelno, r.getMessage().split(" (")[0]) for r in written] == [
        (logging.INFO, f"moved {issue['key']} to done for task {task_id}")
    ]
