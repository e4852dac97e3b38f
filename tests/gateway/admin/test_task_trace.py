"""``gateway task show`` and the JSON trace: why each kind of task did (or did not) sync."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from gateway.models import RuleAction
from tests.gateway.admin.conftest import Admin
from tests.gateway.sync.test_cli_sync import gateway
from tests.world import World

PF_API = "/api/public/v3"


def story(world: World) -> dict[str, int]:
    """A synced, a dropped, an edited and a new task in a domain on the real path prefix."""
    world.add_domain(pf_base_url=world.pf_server.url + PF_API)
    world.add_rule("Payroll stays in HR", [{"path": "title", "op": "contains", "value": "payroll"}],
                   action=RuleAction.DROP, priority=10)  # fmt: skip
    world.add_rule("Laptops to IT", [{"path": "title", "op": "contains", "value": "laptop"}],
                   project="IT", issue_type="Task", priority=20)  # fmt: skip
    return {
        "laptop": world.pf.create_task("Order laptop")["id"],
        "payroll": world.pf.create_task("Payroll change")["id"],
        "lunch": world.pf.create_task("Welcome lunch")["id"],
    }


async def test_task_show_explains_synced_dropped_changed_new_and_unknown_tasks(
    world: World,
) -> None:
    tasks = story(world)
    await world.tick()
    world.pf.edit_task(tasks["lunch"], title="Welcome lunch on Friday")
    tasks["monitor"] = world.pf.create_task("Order laptop monitor")["id"]
    laptop_key = world.states()[tasks["laptop"]].jira_issue_key
    world.reset_request_logs()

    shown = gateway(world, "task", "show", "acme", str(tasks["laptop"]))
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert f"verdict: Synced as {laptop_key}; in step with the task." in text
    assert "routing now: SYNC IT/Task by Laptops to IT: matched rule 'Laptops to IT'" in text
    assert f"jira issue: {world.jira_server.url}/browse/{laptop_key}" in text
    assert "created" in text and "(unchanged)" in text

    dropped = " ".join(gateway(world, "task", "show", "acme", str(tasks["payroll"])).stdout.split())
    assert "verdict: Dropped by a rule when it was first seen" in dropped
    assert "routing now: DROP - by Payroll stays in HR" in dropped

    edited = gateway(world, "task", "show", "acme", str(tasks["lunch"]), "--json")
    trace = json.loads(edited.stdout)
    assert trace["verdict"].endswith("changed since: the next tick updates it.")
    assert trace["state"]["changed_since_sync"] is True
    assert trace["routing"]["project_key"] == "HR" and trace["routing"]["rule_name"] is None
    assert [e["event_type"] for e in trace["events"]] == ["created"]

    new = " ".join(gateway(world, "task", "show", "acme", str(tasks["monitor"])).stdout.split())
    assert "verdict: Not synced yet: the next tick creates it in IT/Task" in new
    assert "sync state: none" in new

    unknown = " ".join(gateway(world, "task", "show", "acme", "999").stdout.split())
    assert "verdict: Never seen by a tick, and not in PeopleForce's open or completed" in unknown
    missing = gateway(world, "task", "show", "nope", "1")
    assert missing.returncode == 1 and "no domain named 'nope'" in missing.stderr

    # Read-only: PeopleForce was only listed, under its real path; Jira was asked only
    # for the mapped issues (the synced and the edited task's: one GET each).
    assert world.jira_requests() == world.jira_requests("GET") == 2
    assert {(r.method, r.path) for r in world.pf_faults.requests} == {("GET", PF_API + "/tasks")}


async def test_json_api_trace_of_a_completed_task_with_a_dead_letter(
    world: World, client: TestClient, bearer: dict[str, str]
) -> None:
    tasks = story(world)
    await world.tick()
    world.pf.complete_task(tasks["laptop"])
    await world.tick()
    world.jira.require_field("IT", "Task", "customfield_10050", name="Cost centre")
    fresh = world.pf.create_task("Order laptop bag")["id"]
    await world.tick()

    done = client.get(f"/api/v1/admin/domains/acme/tasks/{tasks['laptop']}", headers=bearer)
    assert done.status_code == 200, done.text
    trace = done.json()
    assert trace["verdict"].endswith("completed on both sides.")
    assert trace["peopleforce"] == "found in the completed list"
    assert trace["state"]["is_completed"] is True
    assert [e["event_type"] for e in trace["events"]][:1] == ["created"]
    assert "transitioned" in [e["event_type"] for e in trace["events"]]

    # A person reopens the issue of the completed task: the trace says so, and what follows.
    world.jira.reopen(world.states()[tasks["laptop"]].jira_issue_key or "")
    reopened = client.get(f"/api/v1/admin/domains/acme/tasks/{tasks['laptop']}", headers=bearer)
    assert reopened.json()["jira"]["drift"] == [
        "reopened in Jira after the task was completed: the task stays completed "
        "(reopen policy 'leave')"
    ]
    assert "In Jira now: reopened in Jira" in reopened.json()["verdict"]

    failed = client.get(f"/api/v1/admin/domains/acme/tasks/{fresh}", headers=bearer).json()
    assert failed["verdict"].startswith("Failed permanently: dead letter")
    assert "Cost centre" in failed["verdict"] and failed["dead_letters"][0]["state"] == "open"
    assert client.get("/api/v1/admin/domains/acme/tasks/1").status_code == 401


async def test_task_show_tells_what_a_person_did_to_the_issue_in_jira(
    world: World, admin: Admin
) -> None:
    tasks = story(world)
    await world.tick()
    laptop = world.states()[tasks["laptop"]]
    lunch = world.states()[tasks["lunch"]]
    assert laptop.jira_issue_key and lunch.jira_issue_key

    clean = gateway(world, "task", "show", "acme", str(tasks["laptop"]), "--json")
    trace = json.loads(clean.stdout)
    assert trace["jira"]["found"] == "found" and trace["jira"]["drift"] == []
    assert trace["jira"]["key"] == laptop.jira_issue_key and trace["jira"]["done"] is False
    assert trace["verdict"].endswith("in step with the task.")

    # A person moves one issue, strips its label and closes it; deletes the other.
    moved = world.jira.move(laptop.jira_issue_key, "HR")
    world.jira.remove_labels(moved, "PeopleForce")
    world.jira.transition(moved, to_category="done")
    world.jira.delete(lunch.jira_issue_key)

    shown = " ".join(gateway(world, "task", "show", "acme", str(tasks["laptop"])).stdout.split())
    assert f"jira now: {moved} in HR" in shown and "(done)" in shown
    assert f"drift: moved in Jira: {laptop.jira_issue_key} is now {moved}" in shown
    assert "drift: the tracking label 'PeopleForce' was removed" in shown
    assert "drift: done in Jira while the task is open" in shown
    assert "In Jira now: moved in Jira" in shown

    gone = json.loads(gateway(world, "task", "show", "acme", str(tasks["lunch"]), "--json").stdout)
    assert gone["jira"]["found"].startswith(f"issue {lunch.jira_issue_key} is deleted in Jira")
    assert "policy (recreate)" in gone["jira"]["found"]
    assert gone["verdict"].startswith(f"Synced as {lunch.jira_issue_key}")
    assert "In Jira now: issue" in gone["verdict"]

    # The admin UI's task page shows the same Jira side.
    page = admin.client.get(f"/admin/domains/acme/tasks/{tasks['laptop']}")
    assert page.status_code == 200, page.text
    assert "In Jira now" in page.text and f"{moved} in HR" in page.text
    assert "Drift: the tracking label &#39;PeopleForce&#39; was removed" in page.text
