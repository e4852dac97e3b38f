"""The reconciler reads tracked issues by id and repairs what people did in Jira.

No webhook reaches the gateway in these tests (no API runs): whatever a person
does in Jira is only seen by the reconcile pass, run by the real worker.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta

from gateway.jobs import RECONCILE_JOB, reconcile_job_id
from gateway.models import (
    DeletedIssuePolicy,
    EditedFieldPolicy,
    EventType,
    ReopenPolicy,
    SyncStatus,
)
from gateway.sync.scheduler import enqueue_due_work
from tests.gateway.sync.test_cli_sync import gateway
from tests.world import World

BULK = "/rest/api/3/issue/bulkfetch"


async def synced(world: World, n: int = 1, **domain: object) -> list[dict]:
    world.add_domain(**domain)
    tasks = [world.pf.create_task(f"Onboarding step {i}") for i in range(n)]
    await world.tick()
    assert len(world.issues()) == n
    return tasks


async def reconcile(world: World) -> None:
    job = await world.pool.enqueue_job(
        RECONCILE_JOB, world.domain_id, _job_id=reconcile_job_id(world.domain_id)
    )
    assert job is not None
    await world.run_worker()


def jira_writes(world: World) -> list[str]:
    return [
        f"{r.method} {r.endpoint}"
        for r in world.jira_faults.requests
        if r.method != "GET" and r.endpoint != BULK
    ]


def pf_writes(world: World) -> list[str]:
    return [f"{r.method} {r.endpoint}" for r in world.pf_faults.requests if r.method != "GET"]


def bulk_reads(world: World) -> int:
    return sum(1 for r in world.jira_faults.requests if r.endpoint == BULK)


def only_issue(world: World) -> dict:
    [issue] = world.issues()
    return issue


async def test_a_pass_with_no_drift_reads_once_and_writes_nothing(world: World) -> None:
    await synced(world, 3)
    world.reset_request_logs()
    events_before = len(world.events())
    await reconcile(world)
    assert bulk_reads(world) == 1
    assert world.jira_requests() == 1
    assert pf_writes(world) == []
    assert len(world.events()) == events_before
    domain = world.domain()
    assert domain.last_reconcile_at is not None
    assert domain.last_reconcile_outcome == "read 3 in 1 requests"


async def test_a_removed_label_is_restored_once(world: World) -> None:
    await synced(world)
    key = only_issue(world)["key"]
    world.jira.remove_labels(key, "PeopleForce")
    world.jira.add_labels(key, "mine")
    await reconcile(world)
    assert sorted(only_issue(world)["labels"]) == ["PeopleForce", "mine"]
    [event] = world.events(EventType.LABEL_RESTORED)
    assert "restored" in event.reason
    world.reset_request_logs()
    await reconcile(world)
    await world.tick()
    assert jira_writes(world) == []


async def test_a_moved_issue_is_followed_to_its_new_key(world: World) -> None:
    await synced(world)
    issue = only_issue(world)
    new_key = world.jira.move(issue["key"], "IT")
    await reconcile(world)
    [state] = world.states().values()
    assert (state.jira_issue_id, state.jira_issue_key) == (issue["id"], new_key)
    [event] = world.events(EventType.ISSUE_MOVED)
    assert new_key in event.reason
    world.reset_request_logs()
    await reconcile(world)
    await world.tick()
    assert jira_writes(world) == [] and pf_writes(world) == []


async def test_a_deleted_issue_is_recreated_once_by_default(world: World) -> None:
    [task] = await synced(world)
    world.jira.delete(only_issue(world)["key"])
    await reconcile(world)
    assert len(world.events(EventType.ISSUE_DELETED)) == 1
    await world.tick()
    recreated = only_issue(world)
    assert world.issues_by_task() == {task["id"]: 1}
    [state] = world.states().values()
    assert state.jira_issue_id == recreated["id"]
    world.reset_request_logs()
    await reconcile(world)
    await world.tick()
    assert jira_writes(world) == []


async def test_a_deleted_issue_is_let_go_under_policy_leave(world: World) -> None:
    await synced(world, deleted_issue_policy=DeletedIssuePolicy.LEAVE)
    world.jira.delete(only_issue(world)["key"])
    await reconcile(world)
    await world.tick()
    assert world.issues() == []
    [state] = world.states().values()
    assert state.status == SyncStatus.DELETED
    world.reset_request_logs()
    await reconcile(world)
    assert world.jira_requests() == 0  # nothing left to read


async def test_done_without_a_webhook_completes_the_task(world: World) -> None:
    [task] = await synced(world)
    world.jira.transition(only_issue(world)["key"], to_category="done")
    await reconcile(world)
    assert world.pf.get_task(task["id"])["completed"] is True
    assert len(world.events(EventType.REPAIRED_BY_RECONCILER)) == 1
    world.reset_request_logs()
    await world.tick()
    await reconcile(world)
    assert jira_writes(world) == [] and pf_writes(world) == []


async def test_reopened_in_jira_marks_the_task_incomplete_under_that_policy(
    world: World,
) -> None:
    [task] = await synced(world, reopen_policy=ReopenPolicy.INCOMPLETE)
    key = only_issue(world)["key"]
    world.jira.transition(key, to_category="done")
    await reconcile(world)
    world.jira.reopen(key)
    await reconcile(world)
    assert world.pf.get_task(task["id"])["completed"] is False
    await world.tick()
    world.reset_request_logs()
    await world.tick()
    await reconcile(world)
    assert jira_writes(world) == [] and pf_writes(world) == []
    assert only_issue(world)["status_category"] != "done"


async def test_reopened_in_jira_is_audited_once_under_policy_leave(world: World) -> None:
    [task] = await synced(world)
    key = only_issue(world)["key"]
    world.jira.transition(key, to_category="done")
    await reconcile(world)
    world.jira.reopen(key)
    await reconcile(world)
    await reconcile(world)
    assert world.pf.get_task(task["id"])["completed"] is True
    assert len(world.events(EventType.REOPENED_FROM_JIRA)) == 1
    # Done again: the acknowledgement is cleared, so a second reopen is seen again.
    world.jira.transition(key, to_category="done")
    await reconcile(world)
    world.jira.reopen(key)
    await reconcile(world)
    assert len(world.events(EventType.REOPENED_FROM_JIRA)) == 2


async def test_an_edited_summary_is_left_and_audited_once_by_default(world: World) -> None:
    await synced(world)
    key = only_issue(world)["key"]
    world.jira.edit(key, summary="Renamed by a person")
    world.reset_request_logs()
    await reconcile(world)
    await reconcile(world)
    assert only_issue(world)["summary"] == "Renamed by a person"
    [event] = world.events(EventType.FIELD_EDITED_IN_JIRA)
    assert "summary" in event.reason and "leave" in event.reason
    assert jira_writes(world) == []


async def test_an_edited_summary_is_overwritten_under_that_policy(world: World) -> None:
    await synced(world, edited_field_policy=EditedFieldPolicy.OVERWRITE)
    key = only_issue(world)["key"]
    world.jira.edit(key, summary="Renamed by a person", duedate="2030-01-01")
    await reconcile(world)
    issue = only_issue(world)
    assert issue["summary"] == "Onboarding step 0"
    [event] = world.events(EventType.FIELD_EDITED_IN_JIRA)
    assert "overwritten" in event.reason
    world.reset_request_logs()
    await reconcile(world)
    await world.tick()
    assert jira_writes(world) == []


async def test_issue_errors_are_read_again_not_taken_for_deletions(world: World) -> None:
    await synced(world, 2)
    first, second = world.issues()
    world.jira.bulkfetch_errors = {int(first["id"])}
    world.jira.delete(second["key"])
    await reconcile(world)
    assert len(world.events(EventType.ISSUE_DELETED)) == 1
    [event] = world.events(EventType.RECONCILE)
    assert event.details is not None and event.details["unread"] == 1
    assert any(s.jira_issue_id == first["id"] for s in world.states().values())


async def test_mappings_are_read_100_per_request(world: World) -> None:
    await synced(world, 101)
    world.reset_request_logs()
    await reconcile(world)
    assert bulk_reads(world) == math.ceil(101 / 100)
    assert world.jira_requests() == 2


async def test_completed_mappings_are_read_only_within_the_reopen_window(world: World) -> None:
    await synced(world, 2, reopen_window_days=1)
    first, second = world.issues()
    for issue in (first, second):
        world.jira.transition(issue["key"], to_category="done")
    await reconcile(world)
    world.jira.reopen(first["key"])
    world.reset_request_logs()
    await reconcile(world)
    assert bulk_reads(world) == 1
    assert len(world.events(EventType.REOPENED_FROM_JIRA)) == 1
    world.advance(2 * 24 * 3600)
    world.jira.reopen(second["key"])
    world.reset_request_logs()
    await reconcile(world)
    assert bulk_reads(world) == 0  # both completed more than a day ago: no longer read
    assert len(world.events(EventType.REOPENED_FROM_JIRA)) == 1


def just_ticked(world: World) -> None:
    """The domain as a tick leaves it: started now, next slot one interval later."""
    now = world.now()
    interval = timedelta(seconds=world.domain().poll_interval_seconds)
    world.update_domain(last_poll_at=now, next_poll_at=now + interval)


async def test_the_scheduler_queues_a_pass_each_interval(world: World) -> None:
    await synced(world)
    # The daily sweep runs at a time of day: an hour from the real clock can cross it.
    world.update_domain(next_sweep_at=world.now() + timedelta(days=7))
    just_ticked(world)
    assert await enqueue_due_work(world.engine, world.pool) == []
    first = world.domain().next_reconcile_at
    assert first is not None
    world.advance(61 * 60)
    just_ticked(world)
    queued = await enqueue_due_work(world.engine, world.pool)
    assert queued == [reconcile_job_id(world.domain_id)]
    await world.run_worker()
    domain = world.domain()
    assert domain.last_reconcile_at is not None and domain.next_reconcile_at is not None
    assert domain.next_reconcile_at - domain.last_reconcile_at == timedelta(minutes=60)


async def test_the_reconcile_command_runs_one_pass_now(world: World) -> None:
    [task] = await synced(world)
    world.jira.transition(only_issue(world)["key"], to_category="done")
    result = gateway(world, "reconcile", "acme")
    assert result.returncode == 0, result.stderr
    assert "acme: read 1 in 1 requests, 1 completed" in result.stdout
    assert world.pf.get_task(task["id"])["completed"] is True
    as_json = gateway(world, "reconcile", "acme", "--json")
    assert json.loads(as_json.stdout)["requests"] == 1


async def test_a_reopen_left_by_the_policy_is_counted_in_both_outputs(world: World) -> None:
    [task] = await synced(world)  # reopen_policy leave, the default
    key = only_issue(world)["key"]
    world.jira.transition(key, to_category="done")
    await reconcile(world)
    world.jira.reopen(key)

    as_json = gateway(world, "reconcile", "acme", "--json")

    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert (report["reopened"], report["reopens_left"]) == (0, 1)
    assert world.domain().last_reconcile_outcome == "read 1 in 1 requests, 1 reopens left"
    assert len(world.events(EventType.REOPENED_FROM_JIRA)) == 1
    assert world.pf.get_task(task["id"])["completed"] is True
    await reconcile(world)  # seen before: neither audited nor counted again
    assert world.domain().last_reconcile_outcome == "read 1 in 1 requests"


async def test_a_reopen_applied_by_the_policy_is_not_counted_as_left(world: World) -> None:
    """Negative: under ``incomplete`` the reopen is a repair, not a reopen left alone."""
    await synced(world, reopen_policy=ReopenPolicy.INCOMPLETE)
    key = only_issue(world)["key"]
    world.jira.transition(key, to_category="done")
    await reconcile(world)
    world.jira.reopen(key)
    await reconcile(world)
    assert world.domain().last_reconcile_outcome == "read 1 in 1 requests, 1 reopened"
