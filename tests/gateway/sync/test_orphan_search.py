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
from sqlmodel import Session, select

from gateway.models import DeletionPolicy, DomainConfig, EventType, SyncState, SyncStatus
from gateway.sync.lineage import jql_string, lineage_matches
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
    # The fake calendar runs on with real time too: 45 s leaves a loaded machine 15 s of
    # real time before the grace would end on its own.
    world.advance(45)
    await world.tick()
    assert searches(world) == 0
    world.advance(16)
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
    assert {e.pf_task_id for e in world.events(EventType.ADOPTED)} == {first, second, third}


async def test_the_tick_reports_adoptions_and_deferrals(world: World) -> None:
    world.settings = world.settings.model_copy(update={"orphan_grace_seconds": 60.0})
    world.add_domain()
    ids = [world.pf.create_task(f"Task {n}")["id"] for n in range(3)]
    await answer_502_after_the_create(world)
    await world.tick()
    assert world.domain().last_tick_outcome == "3 open, 3 deferred"
    world.advance(61)
    await world.tick()
    # The orphans' fields are unknown, so each adoption sends them all once.
    assert world.domain().last_tick_outcome == "3 open, 3 adopted, 3 updated"
    [reason] = {e.reason for e in world.events(EventType.ADOPTED)}
    assert reason == "found the issue a lost create made (label or creator + property)"
    assert sorted(world.issues_by_task()) == sorted(ids)


async def test_a_failed_search_is_reported_on_the_tick(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await lost_create(world, answer_502_after_the_create)
    world.jira_faults.set_error_rate(1.0, status=503)
    with caplog.at_level("WARNING", logger="gateway.sync.orphans"):
        await world.tick()
    world.jira_faults.clear()
    assert (world.domain().last_tick_error or "").startswith("orphan search failed: ")
    [message] = [m for m in caplog.messages if "orphan search" in m]
    assert message.startswith("domain acme: orphan search failed: ")
    assert "503" in message


async def test_of_two_issues_with_the_task_lineage_the_newest_is_adopted(world: World) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    lineage = {"pf_task_id": task_id, "domain": "acme", "domain_id": world.domain_id}
    newest = decoy(world, lineage)
    await world.tick()
    assert world.states()[task_id].jira_issue_key == newest


async def test_every_task_that_left_the_open_list_is_handled_in_one_tick(world: World) -> None:
    world.add_domain()
    synced = world.pf.create_task("Synced first")["id"]
    await world.tick()
    lost = [world.pf.create_task(f"Lost {n}")["id"] for n in range(2)]
    await answer_502_after_the_create(world)
    never = world.pf.create_task("Never reached Jira")["id"]
    world.jira_faults.set_error_rate(1.0, status=503)  # refused before Jira acted
    await world.tick()
    world.jira_faults.clear()
    for task_id in (synced, *lost, never):
        world.pf.complete_task(task_id)

    await world.tick()

    assert world.issues_by_task() == {synced: 1, lost[0]: 1, lost[1]: 1}
    assert {i["status_category"] for i in world.issues()} == {"done"}
    states = world.states()
    assert all(states[t].is_completed for t in (synced, *lost, never))
    assert states[never].completed_at is not None
    assert states[never].jira_issue_id is None
    await assert_at_rest(world)


async def test_no_orphan_found_means_the_create_is_sent_again(world: World) -> None:
    world.add_domain()
    task_id = world.pf.create_task("Welcome lunch")["id"]
    world.jira_faults.set_error_rate(1.0, status=503)  # refused before Jira acted
    await world.tick()
    world.jira_faults.clear()
    assert world.issues() == []
    assert world.states()[task_id].status == SyncStatus.PENDING_CREATE

    await world.tick()

    assert world.issues_by_task() == {task_id: 1}
    state = world.states()[task_id]
    assert state.status == SyncStatus.SYNCED and state.last_sync_hash is not None
    assert state.jira_issue_id == world.issues()[0]["id"]
    await assert_at_rest(world)


async def test_an_adopted_orphan_records_the_task_hash(world: World) -> None:
    task_id = await lost_create(world, answer_502_after_the_create)
    await world.tick()
    assert world.states()[task_id].last_sync_hash is not None


def test_a_lineage_task_id_must_be_a_number() -> None:
    domain = DomainConfig(id=4, name="acme", pf_base_url="https://p", jira_base_url="https://j")
    assert lineage_matches({"pf_task_id": 5, "domain_id": 4}, domain) == 5
    assert lineage_matches({"pf_task_id": "5", "domain_id": 4}, domain) is None
    assert lineage_matches({"pf_task_id": None, "domain": "acme"}, domain) is None


async def test_an_undecidable_row_does_not_hold_back_the_others(world: World) -> None:
    world.add_domain()
    stuck = world.pf.create_task("Pending without intent")["id"]
    lost = world.pf.create_task("Lost create")["id"]
    await answer_502_after_the_create(world)
    # A pending row that records no intent (say, restored from an old backup) can never
    # be searched for; it stays undecided, and must not stop the tick at that row.
    with Session(world.engine) as session:
        row = session.exec(select(SyncState).where(SyncState.pf_task_id == stuck)).one()
        row.intent_at = None
        session.add(row)
        session.commit()
    world.pf.complete_task(stuck)
    world.pf.complete_task(lost)

    await world.tick()

    by_task = {i["properties"][PROPERTY]["pf_task_id"]: i for i in world.issues()}
    assert by_task[lost]["status_category"] == "done"
    assert world.states()[lost].is_completed
    assert not world.states()[stuck].is_completed


@pytest.mark.parametrize("gone", ["completed", "deleted"])
async def test_a_failed_transition_of_a_gone_task_is_recorded_for_that_task(
    world: World, gone: str
) -> None:
    world.add_domain(deletion_policy=DeletionPolicy.CLOSE)
    task_id = world.pf.create_task("Welcome lunch")["id"]
    await world.tick()
    if gone == "completed":
        world.pf.complete_task(task_id)
    else:
        world.pf.delete_task(task_id)
    world.jira_faults.set_error_rate(1.0, status=503)
    await world.tick()
    world.jira_faults.clear()
    [failed] = world.events(EventType.FAILED)
    assert failed.pf_task_id == task_id
    assert (world.domain().last_tick_error or "").startswith(f"task {task_id}: ")


async def test_completions_beyond_the_scanned_pages_are_retried_not_guessed(
    world: World,
) -> None:
    world.add_domain()
    ids = [world.pf.create_task(f"Task {n}")["id"] for n in range(7)]
    await world.tick()
    for task_id in ids:
        world.pf.complete_task(task_id)
    # Five completed tasks a page.
    world.settings = world.settings.model_copy(update={"completed_scan_max_pages": 1})

    await world.tick()

    failed = world.events(EventType.FAILED)
    assert len(failed) == 2
    for event in failed:
        assert event.reason == (
            "task left the open list but was not found in the first "
            "1 pages of completed tasks; retried after a back-off"
        )
        task_id = event.pf_task_id
        assert task_id is not None and task_id in ids
        assert not world.states()[task_id].is_completed
    assert sum(1 for s in world.states().values() if s.is_completed) == 5


def test_a_tracking_label_with_quotes_and_backslashes_stays_one_jql_string() -> None:
    # The label is admin input: unescaped, a quote would end the string early.
    assert jql_string('Sync "HR" \\ 2') == '"Sync \\"HR\\" \\\\ 2"'


async def test_a_tick_whose_orphan_search_failed_is_partial_not_ok(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await lost_create(world, answer_502_after_the_create)
    world.jira_faults.set_error_rate(1.0, status=503)
    with caplog.at_level("INFO", logger="gateway.worker"):
        await world.tick()
    world.jira_faults.clear()
    outcome = world.domain().last_tick_outcome or ""
    assert outcome.startswith("partial: "), outcome
    [line] = [m for m in caplog.messages if m.startswith("tick of acme ")]
    assert line.startswith("tick of acme partial in ") and line.endswith("(1 errors)")

    await world.tick()  # the search succeeds: the next tick is ok again

    assert not (world.domain().last_tick_outcome or "").startswith("partial")
