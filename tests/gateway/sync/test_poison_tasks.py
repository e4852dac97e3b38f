"""Poison tasks: every error Jira repeats for good ends in a dead letter, never in a loop.

A permanent refusal (an edit or a transition answered 400) is dead-lettered at once
and the task then costs no request per tick until it changes or is replayed; a
transient one backs the task off exponentially and is dead-lettered after the
configured number of failures in a row.
"""

from __future__ import annotations

from gateway import metrics
from gateway.jobs import REPLAY_JOB
from gateway.models import EventType, SyncStatus
from gateway.sync.ledger import PARKED_COMPLETE, PARKED_UPDATE
from tests.world import World

EDIT = "/rest/api/3/issue/{issue}"
TRANSITIONS = "/rest/api/3/issue/{issue}/transitions"


async def synced_task(world: World, title: str = "Order laptop") -> tuple[int, dict]:
    world.add_domain()
    task = world.pf.create_task(title)
    await world.tick()
    [issue] = world.issues()
    return task["id"], issue


def open_letters(world: World) -> list:
    return [d for d in world.dead_letters() if d.replayed_at is None and d.discarded_at is None]


async def replay(world: World, letter_id: int) -> None:
    await world.pool.enqueue_job(REPLAY_JOB, letter_id)
    await world.run_worker()


async def test_a_refused_edit_is_dead_lettered_once_and_not_sent_again(world: World) -> None:
    task_id, issue = await synced_task(world)
    world.jira_faults.refuse("PUT", f"/rest/api/3/issue/{issue['id']}", 400, "summary: no")
    world.pf.edit_task(task_id, title="Order laptop (15 inch)")
    counted = metrics.DEAD_LETTERS.labels(domain=world.domain().name, operation=PARKED_UPDATE)
    before = counted._value.get()

    await world.tick()

    [letter] = open_letters(world)
    assert (letter.operation, letter.error_status, letter.pf_task_id) == (
        PARKED_UPDATE,
        400,
        task_id,
    )
    assert counted._value.get() == before + 1  # the metric names the operation too
    assert (world.domain().last_tick_outcome or "").startswith("partial")
    assert world.states()[task_id].parked_operation == PARKED_UPDATE
    world.reset_request_logs()
    for _ in range(3):
        await world.tick()
    assert world.jira_requests() == 0

    # A new change is tried once more, and counted on the same letter.
    world.pf.edit_task(task_id, title="Order laptop (16 inch)")
    await world.tick()
    assert world.jira_requests("PUT") == 1
    [letter] = open_letters(world)
    assert letter.attempts == 2

    world.jira_faults.clear()
    assert letter.id is not None
    await replay(world, letter.id)
    assert world.issues()[0]["summary"] == "Order laptop (16 inch)"
    assert open_letters(world) == []
    assert world.states()[task_id].parked_operation is None


async def test_a_refused_transition_parks_the_completion(world: World) -> None:
    task_id, _issue = await synced_task(world)
    world.jira_faults.refuse("POST", TRANSITIONS, 400, "a validator refuses the transition")
    world.pf.complete_task(task_id)

    await world.tick()

    [letter] = open_letters(world)
    assert (letter.operation, letter.error_status) == (PARKED_COMPLETE, 400)
    world.reset_request_logs()
    for _ in range(3):
        await world.tick()
    assert world.jira_requests() == 0
    completed_reads = [r for r in world.pf_faults.requests if "completed=true" in r.query]
    assert completed_reads == []

    world.jira_faults.clear()
    assert letter.id is not None
    await replay(world, letter.id)
    assert world.issues()[0]["status_category"] == "done"
    state = world.states()[task_id]
    assert state.is_completed and state.parked_operation is None
    assert open_letters(world) == []


async def test_transient_failures_back_off_then_dead_letter(world: World) -> None:
    world.settings = world.settings.model_copy(
        update={
            "task_backoff_base_seconds": 60.0,
            "task_backoff_max_seconds": 100.0,
            "task_transient_dead_letter_after": 3,
        }
    )
    task_id, issue = await synced_task(world)
    healthy = world.pf.create_task("Welcome lunch")["id"]
    await world.tick()
    world.jira_faults.refuse("PUT", f"/rest/api/3/issue/{issue['id']}", 503, "busy", retry_after=0)
    world.pf.edit_task(task_id, title="Order laptop (15 inch)")

    await world.tick()  # failure 1: held back for 60 s
    state = world.states()[task_id]
    assert state.transient_failures == 1 and state.status == SyncStatus.SYNCED
    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests() == 0, "tried again inside its back-off"

    world.advance(61)
    await world.tick()  # failure 2: held back for 100 s (capped, not 120)
    assert world.states()[task_id].transient_failures == 2
    world.advance(90)
    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests() == 0
    world.advance(11)
    world.pf.edit_task(healthy, title="Welcome lunch (Friday)")
    await world.tick()  # failure 3 while another task syncs: dead-lettered
    [letter] = open_letters(world)
    assert (letter.operation, letter.error_status) == (PARKED_UPDATE, 503)
    world.advance(3600)
    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests() == 0
    assert [e.pf_task_id for e in world.events(EventType.DEAD_LETTERED)] == [task_id]


async def test_an_outage_failing_every_task_is_waited_out_not_dead_lettered(world: World) -> None:
    world.settings = world.settings.model_copy(
        update={"task_backoff_base_seconds": 1.0, "task_transient_dead_letter_after": 2}
    )
    task_id, _issue = await synced_task(world)
    world.jira_faults.refuse("PUT", EDIT, 503, "maintenance", retry_after=0)
    world.pf.edit_task(task_id, title="Order laptop (15 inch)")
    for _ in range(4):
        world.advance(10)
        await world.tick()
    assert world.states()[task_id].transient_failures == 4
    assert open_letters(world) == []

    world.jira_faults.clear()
    world.advance(60)
    await world.tick()
    assert world.issues()[0]["summary"] == "Order laptop (15 inch)"


async def test_a_success_after_a_transient_failure_clears_the_back_off(world: World) -> None:
    task_id, _issue = await synced_task(world)
    refusal = world.jira_faults.refuse("PUT", EDIT, 503, "maintenance", retry_after=0)
    world.pf.edit_task(task_id, title="Order laptop (15 inch)")
    await world.tick()
    assert refusal.answered >= 1
    world.jira_faults.clear()
    world.advance(3600)
    await world.tick()
    state = world.states()[task_id]
    assert (state.transient_failures, state.retry_not_before) == (0, None)
    assert world.issues()[0]["summary"] == "Order laptop (15 inch)"
    assert open_letters(world) == []


async def test_a_parked_edit_that_goes_through_on_the_next_change_closes_its_letter(
    world: World,
) -> None:
    task_id, issue = await synced_task(world)
    world.jira_faults.refuse("PUT", f"/rest/api/3/issue/{issue['id']}", 400, "summary: no")
    world.pf.edit_task(task_id, title="Order laptop (15 inch)")
    await world.tick()
    assert len(open_letters(world)) == 1

    world.jira_faults.clear()  # the admin fixed the screen in Jira
    world.pf.edit_task(task_id, title="Order laptop (16 inch)")
    await world.tick()

    assert world.issues()[0]["summary"] == "Order laptop (16 inch)"
    assert open_letters(world) == []
    assert world.states()[task_id].parked_operation is None
    assert len(world.events(EventType.REPLAYED)) == 1
