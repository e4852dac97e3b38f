"""The fake PeopleForce's ``/_fake`` control plane and seeder: the HR side scenarios play."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fakes.clock import FakeClock
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app
from tests.fakes.peopleforce.support import make_tasks

# -- human actions through the control plane -------------------------------------------


async def test_control_plane_plays_the_hr_user(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce
) -> None:
    employee = {"id": 7, "full_name": "Priya Sharma", "email": "priya@example.com"}
    assert (await pf_client.post("/_fake/employees", json=employee)).status_code == 201
    created = await pf_client.post(
        "/_fake/tasks",
        json={
            "title": "Order badge",
            "description": "<p><strong>Before</strong> day one</p>",
            "assigned_to": 7,
            "associated_to": 1,
            "ends_on": "2026-12-01",
            "created_at": "2026-11-01T09:00:00Z",
        },
    )
    assert created.status_code == 201
    task = created.json()
    assert (task["created_at"], task["updated_at"]) == ("2026-11-01T09:00:00Z",) * 2
    assert task["assigned_to"]["id"] == 7

    edited = await pf_client.patch(
        f"/_fake/tasks/{task['id']}", json={"title": "Order access badge", "assigned_to": None}
    )
    assert edited.status_code == 200
    assert edited.json()["title"] == "Order access badge"
    assert "assigned_to" not in edited.json()
    assert edited.json()["updated_at"] > task["updated_at"]

    assert (await pf_client.post(f"/_fake/tasks/{task['id']}/complete")).json()["completed"]
    assert not (await pf_client.post(f"/_fake/tasks/{task['id']}/reopen")).json()["completed"]

    state = (await pf_client.get("/_fake/state")).json()
    assert [t["id"] for t in state["tasks"]] == [task["id"]]
    assert {e["id"] for e in state["employees"]} == {1, 2, 3, 7}

    assert (await pf_client.delete(f"/_fake/tasks/{task['id']}")).status_code == 204
    for completed in ("false", "true"):
        listed = await pf_client.get("/tasks", params={"completed": completed})
        assert listed.json()["data"] == []
    assert (await pf_client.post(f"/_fake/tasks/{task['id']}/complete")).status_code == 404
    assert pf.tasks == {}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_fake/tasks", {"description": "no title"}),
        ("POST", "/_fake/tasks", {"title": "x", "assigned_to": 99}),
        ("POST", "/_fake/tasks", {"title": "x", "created_at": "2026-11-01T09:00:00"}),
        ("POST", "/_fake/tasks", {"title": "x", "colour": "red"}),
        ("PATCH", "/_fake/tasks/1", {"title": ""}),
        ("POST", "/_fake/employees", {"full_name": "No Mail"}),
    ],
)
async def test_control_plane_rejects_bad_input(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce, method: str, path: str, body: dict
) -> None:
    make_tasks(pf, 1)
    response = await pf_client.request(method, path, json=body)
    assert response.status_code in (404, 422)
    assert response.json()["detail"]
    assert len(pf.tasks) == 1


# -- seeding ---------------------------------------------------------------------------


def test_seeded_tasks_are_varied_and_reproducible() -> None:
    def seeded(seed: int) -> dict[int, dict[str, Any]]:
        app = create_peopleforce_app(seed=seed, clock=FakeClock(offset=0))
        app.state.pf.seed_tasks(40)
        return app.state.pf.tasks

    first = seeded(5)
    again = seeded(5)
    strip = ("created_at", "updated_at", "completed_at", "starts_on", "ends_on")

    def shape(tasks: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in t.items() if k not in strip} for t in tasks.values()]

    assert shape(first) == shape(again)
    assert shape(first) != shape(seeded(6))
    tasks = list(first.values())
    assert len({t["title"] for t in tasks}) > 20
    assert any("assigned_to" in t for t in tasks) and any("assigned_to" not in t for t in tasks)
    assert any(t["description"] is None for t in tasks)
    descriptions = " ".join(t["description"] or "" for t in tasks)
    for tag in ("<ul>", "<strong>", "<a href="):
        assert tag in descriptions
    assert any(t["completed"] for t in tasks) and any(not t["completed"] for t in tasks)


async def test_seed_through_control_plane_uses_the_plane_rng(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce, pf_app: FastAPI
) -> None:
    response = await pf_client.post("/_fake/seed", json={"tasks": 5})
    assert response.status_code == 201
    assert len(response.json()["tasks"]) == 5
    assert len(pf.tasks) == 5
    assert pf.rng is pf_app.state.faults.rng  # one seeded generator for every choice
