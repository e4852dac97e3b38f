"""The tick summary counts what the tick did, once, when it did it.

A mapped issue deleted in Jira is noticed by one tick (its update meets a 404) and
recreated by the next: the first counts it "gone from jira", the second
"recreated", and no tick counts it "created" as well. An issue a person moved to
another project is written by id; its update is logged under the key it has now.
"""

from __future__ import annotations

import logging

import pytest

from gateway.models import EventType
from tests.world import World


async def test_a_deleted_issue_is_counted_gone_then_recreated_once(world: World) -> None:
    world.add_domain()
    kept = [world.pf.create_task(f"Task {n}")["id"] for n in range(2)]
    lost = world.pf.create_task("Welcome lunch")["id"]
    await world.tick()
    lost_key = world.states()[lost].jira_issue_key
    assert lost_key is not None
    world.jira.delete(lost_key)
    for task_id in (*kept, lost):
        world.pf.edit_task(task_id, title=f"Edited {task_id}")

    await world.tick()  # the update of the lost issue meets a 404: mapping forgotten
    assert world.domain().last_tick_outcome == "3 open, 2 updated, 1 gone from jira"

    await world.tick()
    assert world.domain().last_tick_outcome == "3 open, 2 unchanged, 1 recreated"
    assert world.issues_by_task() == {kept[0]: 1, kept[1]: 1, lost: 1}
    assert len(world.events(EventType.ISSUE_DELETED)) == 1


async def test_a_first_create_is_counted_created_not_recreated(world: World) -> None:
    """Negative: a task whose issue was never deleted is a plain create."""
    world.add_domain()
    world.pf.create_task("Welcome lunch")
    await world.tick()
    assert world.domain().last_tick_outcome == "1 open, 1 created"


async def test_an_update_of_a_moved_issue_is_logged_under_its_new_key(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.add_domain()
    task_id = world.pf.create_task("Welcome lunch")["id"]
    await world.tick()
    old_key = world.states()[task_id].jira_issue_key
    assert old_key is not None
    new_key = world.jira.move(old_key, "IT")
    world.pf.edit_task(task_id, title="Welcome lunch, 12:30")

    with caplog.at_level(logging.INFO, logger="gateway.sync.writes"):
        await world.tick()

    assert world.states()[task_id].jira_issue_key == new_key
    [updated] = world.events(EventType.UPDATED)
    assert updated.jira_issue_key == new_key
    [moved] = world.events(EventType.ISSUE_MOVED)
    assert moved.reason == f"moved in Jira: {old_key} -> {new_key}"
    assert f"updated {new_key} for task {task_id} (changed: summary)" in caplog.messages
    assert not any(old_key in m and m.startswith("updated") for m in caplog.messages)
    assert world.issues()[0]["summary"] == "Welcome lunch, 12:30"


async def test_an_update_of_an_issue_in_place_records_no_move(world: World) -> None:
    """Negative: the key the edit answers is the one recorded: nothing moved."""
    world.add_domain()
    task_id = world.pf.create_task("Welcome lunch")["id"]
    await world.tick()
    key = world.states()[task_id].jira_issue_key
    world.pf.edit_task(task_id, title="Welcome lunch, 12:30")
    await world.tick()
    assert world.events(EventType.ISSUE_MOVED) == []
    [updated] = world.events(EventType.UPDATED)
    assert updated.jira_issue_key == key
