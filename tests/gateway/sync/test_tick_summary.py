"""The tick summary counts what the tick did, once, when it did it.

A mapped issue deleted in Jira is noticed by one tick (its update meets a 404) and
recreated by the next: the first counts it "gone from jira", the second
"recreated", and no tick counts it "created" as well.
"""

from __future__ import annotations

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
