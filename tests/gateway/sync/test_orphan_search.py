"""The orphan search finds the one issue a lost create made, and nothing else.

It searches the tracking label over a window reaching back past the oldest
unconfirmed create, reads each hit's lineage property, and adopts only an issue
whose lineage names this domain (by id or by name) and the pending task. Until a
search has covered a task, "no orphan" is never concluded: not before the grace
period Jira's eventually consistent search needs, and not when the search fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.models import EventType, SyncStatus
from tests.gateway.sync.test_orphan_adoption import (
    answer_502_after_the_create,
    assert_adopted,
    assert_at_rest,
    creates,
    lost_create,
)
from tests.world import World

PROPERTY = "pf_sync_metadata"
SEARCH_ENDPOINT = "/rest/api/3/search/jql"


def decoy(world: World, lineage: Any) -> str:
    """A labelled issue a person made, with a lineage-looking property (or none)."""
    properties = None if lineage is None else {PROPERTY: lineage}
    issue = world.jira.create("HR", "Look-alike", labels=["PeopleForce"], properties=properties)
    return issue.key


def searches(world: World) -> int:
    return sum(1 for r in world.jira_faults.requests if r.endpoint == SEARCH_ENDPOINT)


async def test_only_the_lineage_of_this_domain_and_task_is_adopted(world: World) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    [orphan] = world.issues()
    other_task = world.pf.create_task("Another task")["id"]
    # Newer than the orphan, so a search ordered by creation meets them first.
    decoys = [
        decoy(world, {"pf_task_id": task_id, "domain": "other", "domain_id": 999}),
        decoy(world, {"pf_task_id": str(task_id), "domain": "acme", "domain_id": world.domain_id}),
        decoy(world, [task_id, "acme"]),
        decoy(world, None),
        decoy(world, {"pf_task_id": other_task + 1000, "domain_id": world.domain_id}),
    ]

    await world.tick()

    state = world.states()[task_id]
    assert state.status == SyncStatus.SYNCED
    assert state.jira_issue_key == orphan["key"], f"adopted a look-alike of {decoys}"
    assert [e.pf_task_id for e in world.events(EventType.ADOPTED)] == [task_id]
    assert creates(world) == 2  # the lost create, and the other task's own


@pytest.mark.parametrize(
    "lineage",
    [
        {"domain_id": "own"},
        {"domain": "acme"},
        {"domain_id": "own", "domain": "renamed"},
        {"domain_id": 999, "domain": "acme"},
    ],
    ids=["id-only", "name-only", "renamed-domain", "id-from-another-install"],
)
async def test_a_lineage_naming_the_domain_by_id_or_by_name_is_adopted(
    world: World, lineage: dict[str, Any]
) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    [orphan] = world.issues()
    value = {k: world.domain_id if v == "own" else v for k, v in lineage.items()}
    world.jira.set_property(orphan["key"], PROPERTY, {"pf_task_id": task_id, **value})

    await world.tick()

    assert_adopted(world, task_id)


async def test_the_lineage_written_on_every_issue_names_task_and_domain(world: World) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    [orphan] = world.issues()
    expected = {"pf_task_id": task_id, "domain": "acme", "domain_id": world.domain_id}
    assert orphan["properties"][PROPERTY] == expected
    assert orphan["labels"] == ["PeopleForce"]


async def test_a_create_younger_than_the_grace_period_waits_for_the_search(
    world: World,
) -> None:
    world.settings = world.settings.model_copy(update={"orphan_grace_seconds": 60.0})
    task_id = await lost_create(world, answer_502_after_the_create)
    world.pf.complete_task(task_id)

    await world.tick()  # too early to tell: neither searched, nor created, nor closed

    assert searches(world) == 0 and creates(world) == 1
    state = world.states()[task_id]
    assert state.status == SyncStatus.PENDING_CREATE and not state.is_completed

    world.advance(61)
    await world.tick()

    issue = assert_adopted(world, task_id)
    assert issue["status_category"] == "done"


async def test_the_grace_period_is_counted_from_the_intent(world: World) -> None:
    world.settings = world.settings.model_copy(update={"orphan_grace_seconds": 60.0})
    task_id = await lost_create(world, answer_502_after_the_create)
    world.advance(59)
    await world.tick()
    assert searches(world) == 0
    world.advance(2)
    await world.tick()
    assert searches(world) == 1
    assert_adopted(world, task_id)


@pytest.mark.parametrize("days", [1, 3, 30])
async def test_an_orphan_made_days_ago_is_still_found(world: World, days: int) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    world.advance(days * 24 * 3600)  # the gateway was down meanwhile

    await world.tick()

    assert_adopted(world, task_id)
    await assert_at_rest(world)


@pytest.mark.parametrize("finish", ["none", "complete", "delete"])
async def test_a_failed_search_concludes_nothing_and_a_later_one_adopts(
    world: World, finish: str
) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    if finish == "complete":
        world.pf.complete_task(task_id)
    elif finish == "delete":
        world.pf.delete_task(task_id)
    world.jira_faults.set_error_rate(1.0, status=503)
    await world.tick()  # the search fails: no create, no "never reached Jira"
    world.jira_faults.clear()
    state = world.states()[task_id]
    assert state.status == SyncStatus.PENDING_CREATE and not state.is_completed

    await world.tick()

    issue = assert_adopted(world, task_id)
    assert issue["status_category"] == ("done" if finish == "complete" else "new")
    await assert_at_rest(world)


async def test_one_search_covers_every_pending_create_of_a_tick(world: World) -> None:
    world.add_domain()
    first = world.pf.create_task("Welcome lunch")["id"]
    second = world.pf.create_task("Order laptop")["id"]
    third = world.pf.create_task("Print badge")["id"]
    await answer_502_after_the_create(world)
    assert len(world.issues()) == 3

    await world.tick()

    assert searches(world) == 1
    assert world.issues_by_task() == {first: 1, second: 1, third: 1}
    states = world.states()
    assert all(s.status == SyncStatus.SYNCED for s in states.values())
    assert creates(world) == 3
    assert sorted(e.pf_task_id for e in world.events(EventType.ADOPTED)) == sorted(
        [first, second, third]
    )
