"""Forward vector acceptance: fakes over HTTP, real Redis, the real ARQ worker in burst mode."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

import gateway.sync.tick as tick
from gateway.demo.seed import add_drop_then_it_rules
from gateway.jobs import TICK_JOB, tick_job_id
from gateway.models import EventType, MappingKind, RuleAction, SyncStatus
from gateway.sync.scheduler import enqueue_due_work
from tests.fixtures import PAGE_SIZE
from tests.world import World, expected_list_requests

HTML = "<p>Prepare the <b>laptop</b></p><ul><li>charger</li><li>bag</li></ul>"


def setup_rules(world: World) -> None:
    world.add_domain()
    add_drop_then_it_rules(
        world,
        ("private stays in HR", "[private]"),
        ("equipment to IT", {"op": "regex", "value": "(?i)laptop|badge"}),
    )


async def test_new_tasks_become_issues_in_the_routed_projects(world: World) -> None:
    setup_rules(world)
    employee = world.pf.add_employee("Dana New", "dana@example.com")
    laptop = world.pf.create_task("Order laptop", description=HTML, associated_to=employee["id"])
    badge = world.pf.create_task("Print badge", ends_on="2026-12-01")
    welcome = world.pf.create_task("Welcome lunch")
    private = world.pf.create_task("[private] salary review")

    await world.tick()

    issues = {i["summary"]: i for i in world.issues()}
    assert set(issues) == {"[IT] Order laptop", "[IT] Print badge", "Welcome lunch"}
    assert issues["[IT] Order laptop"]["project"] == "IT"
    assert issues["[IT] Print badge"]["project"] == "IT"
    assert issues["Welcome lunch"]["project"] == "HR"
    assert issues["[IT] Print badge"]["duedate"] == "2026-12-01"
    for issue in issues.values():
        assert issue["labels"] == ["PeopleForce"]
    assert world.issues_by_task() == {laptop["id"]: 1, badge["id"]: 1, welcome["id"]: 1}
    lineage = issues["Welcome lunch"]["properties"]["pf_sync_metadata"]
    assert lineage == {"pf_task_id": welcome["id"], "domain": "acme", "domain_id": world.domain_id}

    # The PeopleForce HTML keeps its structure in Atlassian Document Format.
    description = world.jira.issue(issues["[IT] Order laptop"]["key"]).description
    assert description is not None
    kinds = [node["type"] for node in description["content"]]
    assert kinds == ["paragraph", "bulletList"]
    marks = [m["type"] for n in description["content"][0]["content"] for m in n.get("marks", [])]
    assert marks == ["strong"]

    states = world.states()
    assert states[private["id"]].status == SyncStatus.DROPPED
    assert states[private["id"]].jira_issue_id is None
    assert len(world.events(EventType.DROPPED_BY_RULE)) == 1
    assert len(world.events(EventType.CREATED)) == 3


async def test_a_tick_at_rest_sends_nothing_to_jira(world: World) -> None:
    setup_rules(world)
    for n in range(12):
        world.pf.create_task(f"Task {n}")
    await world.tick()
    assert len(world.issues()) == 12

    world.reset_request_logs()
    await world.tick()

    assert world.jira_requests() == 0
    assert world.pf_list_requests() == expected_list_requests(12, PAGE_SIZE) == 3
    assert world.domain().last_tick_outcome is not None


async def test_editing_a_task_updates_only_what_changed(world: World) -> None:
    setup_rules(world)
    task = world.pf.create_task("Welcome lunch", description="<p>Noon</p>")
    await world.tick()
    world.reset_request_logs()

    world.pf.edit_task(task["id"], title="Welcome lunch (moved)")
    await world.tick()

    [issue] = world.issues()
    assert issue["summary"] == "Welcome lunch (moved)"
    puts = [r for r in world.jira_faults.requests if r.method == "PUT"]
    assert len(puts) == 1
    [event] = world.events(EventType.UPDATED)
    assert event.reason == "changed: summary"


async def test_completing_tasks_moves_issues_to_done_in_both_workflows(world: World) -> None:
    setup_rules(world)
    hr = world.pf.create_task("Welcome lunch")
    it = world.pf.create_task("Order laptop")
    await world.tick()
    assert {i["project"] for i in world.issues()} == {"HR", "IT"}

    world.pf.complete_task(hr["id"])
    world.pf.complete_task(it["id"])
    await world.tick()

    by_project = {i["project"]: i for i in world.issues()}
    assert by_project["HR"]["status_category"] == "done"
    assert by_project["HR"]["status"] == "Done"
    assert by_project["IT"]["status_category"] == "done"
    assert by_project["IT"]["status"] in {"Resolved", "Closed"}
    assert all(s.is_completed for s in world.states().values())

    # Nothing echoes: the next tick writes nothing anywhere.
    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests() == 0
    assert not [r for r in world.pf_faults.requests if r.method != "GET"]


async def test_pausing_stops_ticks_and_resuming_restarts_them(world: World) -> None:
    setup_rules(world)
    world.update_domain(is_active=False)
    assert await enqueue_due_work(world.engine, world.pool) == []

    world.update_domain(is_active=True)
    queued = await enqueue_due_work(world.engine, world.pool)
    assert queued == [tick_job_id(world.domain_id)]
    # The same domain is never queued twice.
    assert await enqueue_due_work(world.engine, world.pool) == []
    await world.run_worker()
    # Ticked just now, interval not yet passed: not due.
    world.update_domain(poll_interval_seconds=3600)
    assert await enqueue_due_work(world.engine, world.pool) == []
    # Shortening the interval takes effect on the next look, no restart. Time is the
    # shared fake clock's: 31 simulated seconds pass at once, whatever the machine's speed.
    world.update_domain(poll_interval_seconds=30)
    assert await enqueue_due_work(world.engine, world.pool) == []
    world.advance(31)
    assert await enqueue_due_work(world.engine, world.pool) == [tick_job_id(world.domain_id)]


async def test_two_workers_never_tick_one_domain_at_once(world: World) -> None:
    setup_rules(world)
    for n in range(8):
        world.pf.create_task(f"Task {n}")
    world.pf_faults.set_latency(0.2)
    # Two ticks for one domain under different job ids ("run tick now" + the cron).
    await world.pool.enqueue_job(TICK_JOB, world.domain_id, _job_id="tick-a")
    await world.pool.enqueue_job(TICK_JOB, world.domain_id, _job_id="tick-b")
    await asyncio.gather(world.run_worker(), world.run_worker())
    world.pf_faults.clear()

    # Only one tick listed the tasks; every task has exactly one issue.
    assert world.pf_list_requests() == expected_list_requests(8, PAGE_SIZE)
    assert set(world.issues_by_task().values()) == {1}
    assert len(world.issues()) == 8


async def test_lost_create_response_is_adopted_not_duplicated(world: World) -> None:
    setup_rules(world)
    task = world.pf.create_task("Welcome lunch")
    # Jira creates the issue, then the answer is lost (a 502 after the work was done).
    world.jira_faults.set_error_rate(1.0, status=502, after=True)
    await world.tick()
    world.jira_faults.clear()
    assert len(world.issues()) == 1
    assert world.states()[task["id"]].status == SyncStatus.PENDING_CREATE

    await world.tick()

    assert world.issues_by_task() == {task["id"]: 1}
    state = world.states()[task["id"]]
    assert state.status == SyncStatus.SYNCED
    assert state.jira_issue_key == world.issues()[0]["key"]
    assert len(world.events(EventType.ADOPTED)) == 1
    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests() == 0


async def test_deleted_issue_is_recreated_once(world: World) -> None:
    setup_rules(world)
    task = world.pf.create_task("Welcome lunch")
    await world.tick()
    [issue] = world.issues()
    world.jira.delete(issue["key"])

    world.pf.edit_task(task["id"], title="Welcome lunch, 12:30")
    await world.tick()  # the update meets a 404: mapping purged
    assert world.issues() == []
    assert len(world.events(EventType.ISSUE_DELETED)) == 1
    await world.tick()  # recreated
    await world.tick()  # and not again
    assert world.issues_by_task() == {task["id"]: 1}
    assert world.issues()[0]["summary"] == "Welcome lunch, 12:30"


async def test_bad_request_on_create_is_dead_lettered_and_replays_after_the_fix(
    world: World,
) -> None:
    setup_rules(world)
    world.jira.require_field("HR", "Task", "priority")
    bad = world.pf.create_task("Welcome lunch")
    good = world.pf.create_task("Order laptop")
    await world.tick()

    assert world.issues_by_task() == {good["id"]: 1}
    [letter] = world.dead_letters()
    assert letter.pf_task_id == bad["id"] and letter.error_status == 400
    assert "priority" in letter.error_message.lower()
    assert world.states()[bad["id"]].status == SyncStatus.DEAD
    # A dead task is not retried every tick.
    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests("POST") == 0

    # The admin fixes the rule: HR tasks now send a priority.
    world.add_rule(
        "lunches",
        [{"path": "title", "op": "contains", "value": "lunch"}],
        project="HR",
        priority=5,
        mappings=[("priority", MappingKind.STATIC, '{"name": "High"}')],
    )
    await world.pool.enqueue_job("replay_dead_letter", letter.id)
    await world.run_worker()

    assert world.issues_by_task() == {good["id"]: 1, bad["id"]: 1}
    [letter] = world.dead_letters()
    assert letter.replayed_at is not None
    assert world.states()[bad["id"]].status == SyncStatus.SYNCED


async def test_retry_after_is_honoured(world: World) -> None:
    setup_rules(world)
    world.pf.create_task("Welcome lunch")
    world.jira_faults.storm(1.0, retry_after=1.0)
    storm_task = asyncio.create_task(world.tick())
    # The storm ends as soon as it has answered once: from then on only Retry-After
    # decides when the request comes back, not how fast this machine is.
    await until(lambda: any(r.status == 429 for r in world.jira_faults.requests))
    world.jira_faults.clear()
    await storm_task

    assert len(world.issues()) == 1
    requests = world.jira_faults.requests
    limited = [r for r in requests if r.status == 429]
    assert limited, "the storm answered nothing with 429"
    for earlier in limited:
        later = [
            r
            for r in requests
            if r.at > earlier.at and (r.method, r.endpoint) == (earlier.method, earlier.endpoint)
        ]
        assert later, f"{earlier.method} {earlier.endpoint} was never sent again"
        assert later[0].at - earlier.at >= 1.0 - 0.01


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for ``condition`` (checked every few milliseconds); fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never came true"
        await asyncio.sleep(0.005)


async def test_dropped_tasks_are_routed_again_when_the_rules_change(world: World) -> None:
    setup_rules(world)
    private = world.pf.create_task("[private] salary review")
    await world.tick()
    assert world.issues() == []
    await world.tick()  # at rest: the drop is remembered, nothing is sent
    assert world.issues() == []

    # The admin narrows the DROP rule: the task is now routed to the fallback project.
    from sqlmodel import Session, select

    from gateway.models import RoutingRule

    with Session(world.engine) as session:
        rule = session.exec(select(RoutingRule).where(RoutingRule.action == RuleAction.DROP)).one()
        rule.conditions = [{"path": "title", "op": "contains", "value": "[secret]"}]
        session.add(rule)
        session.commit()
    await world.tick()

    assert world.issues_by_task() == {private["id"]: 1}
    assert world.states()[private["id"]].status == SyncStatus.SYNCED


async def test_a_listing_cut_short_is_never_read_as_completions(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_rules(world)
    for n in range(12):
        world.pf.create_task(f"Task {n}")
    await world.tick()
    assert len(world.issues()) == 12
    world.pf.edit_task(1, title="Task 0 (renamed)")
    world.reset_request_logs()

    # Three pages of open tasks, but the page cap allows two: the listing is incomplete.
    monkeypatch.setattr(tick, "MAX_OPEN_PAGES", 2)
    await world.tick()

    assert world.domain().last_tick_outcome == "failed"
    assert "TruncatedListingError" in (world.domain().last_tick_error or "")
    assert world.jira_requests() == 0  # no transitions, and no half-done updates either
    assert not any(s.is_completed for s in world.states().values())


async def test_assignee_is_looked_up_by_email_and_a_miss_is_audited(world: World) -> None:
    world.add_domain()
    known = world.pf.add_employee("Alice Admin", "alice@example.com")
    stranger = world.pf.add_employee("Sam Stranger", "sam@example.com")
    mapped = world.pf.create_task("Welcome lunch", assigned_to=known["id"])
    unmapped = world.pf.create_task("Desk set-up", assigned_to=stranger["id"])
    await world.tick()

    issues = {i["summary"]: i for i in world.issues()}
    alice = next(u for u in world.jira.dump()["users"] if u["email"] == "alice@example.com")
    assert issues["Welcome lunch"]["assignee"] == alice["accountId"]
    assert issues["Desk set-up"]["assignee"] is None
    [miss] = world.events(EventType.ASSIGNEE_UNMATCHED)
    assert miss.pf_task_id == unmapped["id"]
    assert world.issues_by_task() == {mapped["id"]: 1, unmapped["id"]: 1}

    # The lookup is cached: a second task for the same person asks Jira no more.
    world.reset_request_logs()
    world.pf.create_task("Laptop handover", assigned_to=known["id"])
    await world.tick()
    searches = [r for r in world.jira_faults.requests if r.endpoint.endswith("/user/search")]
    assert searches == []


async def test_a_task_deleted_in_peopleforce_follows_the_deletion_policy(world: World) -> None:
    world.add_domain()
    kept = world.pf.create_task("Welcome lunch")
    closed = world.pf.create_task("Order laptop")
    await world.tick()
    world.pf.delete_task(kept["id"])
    await world.tick()  # default policy: leave the issue as it is, audit the deletion
    assert world.states()[kept["id"]].status == SyncStatus.DELETED
    assert {i["status_category"] for i in world.issues()} == {"new"}

    from gateway.models import DeletionPolicy

    world.update_domain(deletion_policy=DeletionPolicy.CLOSE)
    world.pf.delete_task(closed["id"])
    await world.tick()
    by_summary = {i["summary"]: i for i in world.issues()}
    assert by_summary["Order laptop"]["status_category"] == "done"
    assert by_summary["Welcome lunch"]["status_category"] == "new"
    assert len(world.events(EventType.TASK_DELETED)) == 2


async def test_an_open_task_skipped_by_a_shifting_page_is_not_taken_for_deleted(
    world: World,
) -> None:
    """PeopleForce pages by number: a task completed between two page reads moves the
    rest of the list back one place, so one open task is on no page of that listing.
    It is on neither list, yet it was not deleted: the gateway looks for it on the open
    list again before it applies the deletion policy."""
    world.add_domain()
    tasks = [world.pf.create_task(f"Task {n}") for n in range(PAGE_SIZE + 2)]
    await world.tick()
    assert {s.status for s in world.states().values()} == {SyncStatus.SYNCED}
    newest, shifted = tasks[-1], tasks[1]  # newest first: page 1 ends where page 2 begins
    first_page = world.pf_faults.hold("GET", "/tasks", stage="after", limit=1)
    ticking = asyncio.create_task(world.tick())
    assert await first_page.wait_held(1)
    world.pf.complete_task(newest["id"])  # after page 1 was read, before page 2 is
    first_page.release()
    await ticking

    states = world.states()
    assert states[shifted["id"]].status == SyncStatus.SYNCED
    assert world.events(EventType.TASK_DELETED) == []
    await world.tick()  # the next listing is whole: the newest task's completion is seen
    assert world.events(EventType.TASK_DELETED) == []
    assert world.states()[newest["id"]].is_completed
    assert world.issues_by_task() == {t["id"]: 1 for t in tasks}
