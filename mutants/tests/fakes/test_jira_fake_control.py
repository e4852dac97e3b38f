"""The ``/_fake`` control plane: human actions, catalog changes, the state dump."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from fakes.clock import FakeClock
from fakes.jira import JiraError
from fakes.jira_human import FakeJira
from tests.fakes.jira_fake_support import client_for


@pytest.fixture
async def control(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, auth=None) as c:
        yield c


async def test_create_and_transition_to_done_through_the_workflow(
    control: httpx.AsyncClient,
) -> None:
    created = await control.post(
        "/_fake/issues",
        json={
            "project": "IT",
            "summary": "Laptop",
            "labels": ["PeopleForce"],
            "as_user": "bob@example.com",
        },
    )
    assert created.status_code == 201
    key = created.json()["key"]
    r = await control.post(f"/_fake/issues/{key}/transition", json={"to_category": "done"})
    assert r.json()["transitions"] == ["Start Progress", "Submit for Review", "Resolve"]
    assert r.json()["issue"]["status_category"] == "done"
    r = await control.post(f"/_fake/issues/{key}/transition", json={"status": "Closed"})
    assert r.json()["transitions"] == ["Close"]
    r = await control.post(f"/_fake/issues/{key}/reopen", json={})
    assert r.json()["transitions"] == ["Reopen"] and r.json()["issue"]["status"] == "Open"
    r = await control.post(f"/_fake/issues/{key}/transition", json={"name": "Resolve"})
    assert r.status_code == 400 and "not available" in r.json()["errorMessages"][0]


def test_python_transition_variants(jira: FakeJira) -> None:
    key = jira.create("HR", "t").key
    assert jira.transition(key, "start progress") == ["Start Progress"]
    assert jira.transition(key, status="Done") == ["Done"]
    issue = jira.issue(key)
    assert issue.status == "Done" and issue.resolution == "Done"
    assert jira.reopen(key) == ["Reopen"]
    assert jira.issue(key).resolution is None
    assert jira.transition(key, to_category="done") == ["Done"]
    with pytest.raises(ValueError):
        jira.transition(key)
    with pytest.raises(JiraError):
        jira.transition(key, status="Nowhere")


async def test_edit_labels_move_delete(control: httpx.AsyncClient, jira: FakeJira) -> None:
    key = jira.create("HR", "t", labels=["PeopleForce"]).key
    r = await control.post(
        f"/_fake/issues/{key}/edit",
        json={"fields": {"summary": "Renamed", "description": "Text", "priority": "High"}},
    )
    assert {i["fieldId"] for i in r.json()["changelog"]} == {"summary", "description", "priority"}
    r = await control.post(
        f"/_fake/issues/{key}/labels", json={"add": ["x"], "remove": ["PeopleForce"]}
    )
    assert r.json()["issue"]["labels"] == ["x"]
    r = await control.post(f"/_fake/issues/{key}/move", json={"project": "IT"})
    assert r.json()["key"] == "IT-1" and r.json()["id"] == "10000"
    assert jira.issue("HR-1").key == "IT-1"
    assert (await control.delete("/_fake/issues/HR-1")).status_code == 204
    with pytest.raises(JiraError):
        jira.issue("IT-1")
    assert (await control.post("/_fake/issues/IT-1/reopen", json={})).status_code == 404


def test_move_maps_status_into_the_target_workflow(jira: FakeJira) -> None:
    key = jira.create("IT", "t").key
    jira.transition(key, status="In Review")
    new_key = jira.move(key, "HR")
    moved = jira.issue(new_key)
    assert moved.status == "In Progress"  # same category, the target has no "In Review"
    done = jira.create("HR", "d").key
    jira.transition(done, "Done")
    assert jira.issue(jira.move(done, "IT")).status == "Resolved"


async def test_catalog_changes(control: httpx.AsyncClient, jira: FakeJira) -> None:
    r = await control.post(
        "/_fake/projects", json={"key": "LEGAL", "name": "Legal", "workflow": "it"}
    )
    assert r.status_code == 201
    r = await control.post("/_fake/projects/LEGAL/issuetypes", json={"name": "Contract"})
    assert r.json()["name"] == "Contract"
    issue = jira.create("LEGAL", "NDA", issue_type="Contract")
    assert issue.key == "LEGAL-1" and issue.status == "Open"
    r = await control.post(
        "/_fake/users", json={"email": "dina@example.com", "display_name": "Dina"}
    )
    assert r.json()["displayName"] == "Dina"
    assert [u.email for u in jira.find_user("dina")] == ["dina@example.com"]
    assert (await control.post("/_fake/projects", json={"key": "HR"})).status_code == 400


async def test_state_dump(control: httpx.AsyncClient, jira: FakeJira) -> None:
    jira.create(
        "HR", "t", labels=["PeopleForce"], properties={"pf_sync_metadata": {"pf_task_id": 9}}
    )
    state = (await control.get("/_fake/state")).json()
    [issue] = state["issues"]
    assert issue["key"] == "HR-1" and issue["status"] == "To Do"
    assert issue["status_category"] == "new"
    assert issue["labels"] == ["PeopleForce"]
    assert issue["properties"] == {"pf_sync_metadata": {"pf_task_id": 9}}
    assert {p["key"] for p in state["projects"]} == {"HR", "IT"}
    assert "webhooks" in state and "index_lag" in state


async def test_fault_routes_are_mounted(control: httpx.AsyncClient, clock: FakeClock) -> None:
    before = clock.timestamp()
    await control.post("/_fake/clock/advance", json={"seconds": 3600})
    assert clock.timestamp() - before >= 3600
    assert (await control.get("/_fake/faults")).status_code == 200
