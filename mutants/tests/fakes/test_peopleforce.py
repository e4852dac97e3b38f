"""Contract of the fake PeopleForce: every documented behaviour the gateway relies on."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fakes.__main__ import build_parser
from fakes.clock import FakeClock
from fakes.faults import FaultyASGITransport
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app, html_to_plain
from fakes.server import FakeServer
from tests.fakes.conftest import PF_KEY, PF_PAGE_SIZE

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TASK_KEYS = {
    "id",
    "title",
    "type",
    "description",
    "description_plain",
    "starts_on",
    "ends_on",
    "completed",
    "completed_at",
    "created_by",
    "created_at",
    "updated_at",
}


def make_tasks(pf: FakePeopleForce, n: int, **kwargs: Any) -> list[int]:
    return [pf.create_task(f"Task {i}", **kwargs)["id"] for i in range(n)]


def assert_not_json(response: httpx.Response) -> None:
    assert "json" not in response.headers.get("content-type", "")
    if response.content:
        with pytest.raises(json.JSONDecodeError):
            response.json()


# -- pagination ------------------------------------------------------------------------


async def test_empty_list_has_one_page_and_empty_data(pf_client: httpx.AsyncClient) -> None:
    body = (await pf_client.get("/tasks")).json()
    assert body == {
        "data": [],
        "metadata": {"pagination": {"page": 1, "pages": 1, "count": 0, "items": PF_PAGE_SIZE}},
    }


async def test_exact_multiple_of_page_size_and_page_past_end(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce
) -> None:
    ids = make_tasks(pf, 2 * PF_PAGE_SIZE)
    first = (await pf_client.get("/tasks", params={"page": 1})).json()
    second = (await pf_client.get("/tasks", params={"page": 2})).json()
    past = (await pf_client.get("/tasks", params={"page": 3})).json()
    assert first["metadata"]["pagination"] == {"page": 1, "pages": 2, "count": 6, "items": 3}
    assert [t["id"] for t in first["data"] + second["data"]] == sorted(ids, reverse=True)
    assert past["data"] == []
    assert past["metadata"]["pagination"]["page"] == 3
    assert past["metadata"]["pagination"]["pages"] == 2


async def test_last_page_is_partial(pf_client: httpx.AsyncClient, pf: FakePeopleForce) -> None:
    make_tasks(pf, 2 * PF_PAGE_SIZE + 1)
    last = (await pf_client.get("/tasks", params={"page": 3})).json()
    assert last["metadata"]["pagination"]["pages"] == 3
    assert [t["id"] for t in last["data"]] == [1]


@pytest.mark.parametrize("page", ["0", "-2", "abc", ""])
async def test_junk_page_means_page_one(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce, page: str
) -> None:
    make_tasks(pf, 4)
    body = (await pf_client.get("/tasks", params={"page": page})).json()
    assert body["metadata"]["pagination"]["page"] == 1
    assert [t["id"] for t in body["data"]] == [4, 3, 2]


async def test_unknown_query_parameters_are_ignored(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce
) -> None:
    make_tasks(pf, 5)
    plain = (await pf_client.get("/tasks")).json()
    noisy = await pf_client.get(
        "/tasks", params={"per_page": 1, "updated_since": "2020-01-01", "status": "done"}
    )
    assert noisy.json() == plain


# -- completed filter ------------------------------------------------------------------


async def test_completed_defaults_to_false(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce
) -> None:
    open_id, done_id = make_tasks(pf, 2)
    pf.complete_task(done_id)
    default = (await pf_client.get("/tasks")).json()["data"]
    explicit = (await pf_client.get("/tasks", params={"completed": "false"})).json()["data"]
    done = (await pf_client.get("/tasks", params={"completed": "true"})).json()["data"]
    assert [t["id"] for t in default] == [t["id"] for t in explicit] == [open_id]
    assert [t["id"] for t in done] == [done_id]
    assert done[0]["completed"] is True


# -- auth ------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-API-KEY": "wrong"}, {"X-API-KEY": ""}])
async def test_missing_or_wrong_key_is_401_bad_credentials(
    pf_app: FastAPI, headers: dict[str, str]
) -> None:
    transport = FaultyASGITransport(pf_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pf", headers=headers) as c:
        for response in (await c.get("/tasks"), await c.put("/tasks/1/complete")):
            assert response.status_code == 401
            assert response.json() == {"message": "Bad Credentials"}


async def test_key_without_permission_is_403(pf_app: FastAPI) -> None:
    transport = FaultyASGITransport(pf_app)
    headers = {"X-API-KEY": "pf-no-perm"}
    async with httpx.AsyncClient(transport=transport, base_url="http://pf", headers=headers) as c:
        response = await c.get("/tasks")
    assert response.status_code == 403


# -- create ----------------------------------------------------------------------------


async def test_post_task_takes_name_and_answers_title(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce, clock: FakeClock
) -> None:
    body = {
        "name": "Prepare laptop",
        "description": "<p>Charger &amp; <b>hub</b></p>",
        "employee_id": 2,
        "starts_on": "2026-11-02",
        "ends_on": "2026-11-09",
    }
    response = await pf_client.post("/tasks", json=body)
    assert response.status_code == 200
    task = response.json()["data"]
    assert task["title"] == "Prepare laptop"
    assert "name" not in task
    assert task["type"] == "Tasks::General"
    assert task["description_plain"] == "Charger & hub"
    assert (task["starts_on"], task["ends_on"]) == ("2026-11-02", "2026-11-09")
    assert task["assigned_to"] == {
        "id": 2,
        "full_name": "Marco Rossi",
        "email": "marco@example.com",
    }
    assert "associated_to" not in task
    assert (task["completed"], task["completed_at"]) == (False, None)
    assert ISO_Z.match(task["created_at"]) and task["created_at"] == task["updated_at"]
    assert task["created_at"][:10] == clock.now().date().isoformat()
    assert pf.get_task(task["id"]) == task


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"employee_id": 1}, "Name can't be blank"),
        ({"name": "  ", "employee_id": 1}, "Name can't be blank"),
        ({"name": "x"}, "Employee must exist"),
        ({"name": "x", "employee_id": 99}, "Employee must exist"),
        ({"name": "x", "employee_id": 1, "ends_on": "next week"}, "Ends on is not a valid date"),
    ],
)
async def test_invalid_task_is_422_in_peopleforce_shape(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce, body: dict, message: str
) -> None:
    response = await pf_client.post("/tasks", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["success"] is False
    assert {"message": message} in payload["errors"]
    assert pf.tasks == {}


async def test_non_json_body_is_400(pf_client: httpx.AsyncClient) -> None:
    response = await pf_client.post("/tasks", content=b"name=x")
    assert response.status_code == 400
    assert response.json()["success"] is False


# -- complete / incomplete -------------------------------------------------------------


async def test_complete_and_incomplete_move_the_task_and_stamp_it(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce, clock: FakeClock
) -> None:
    [task_id] = make_tasks(pf, 1, assigned_to=1)
    created = pf.get_task(task_id)

    clock.advance(60)
    response = await pf_client.put(f"/tasks/{task_id}/complete")
    assert response.status_code == 200
    assert response.content == b""
    done = pf.get_task(task_id)
    assert done["completed"] is True
    assert done["completed_at"] == done["updated_at"]
    assert done["updated_at"] > created["updated_at"]
    assert (await pf_client.get("/tasks")).json()["data"] == []

    clock.advance(60)
    again = await pf_client.put(f"/tasks/{task_id}/complete")
    assert again.status_code == 200
    assert pf.get_task(task_id) == done  # completing twice changes nothing

    clock.advance(60)
    assert (await pf_client.put(f"/tasks/{task_id}/incomplete")).status_code == 200
    reopened = pf.get_task(task_id)
    assert (reopened["completed"], reopened["completed_at"]) == (False, None)
    assert reopened["updated_at"] > done["updated_at"]
    assert [t["id"] for t in (await pf_client.get("/tasks")).json()["data"]] == [task_id]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/tasks/404/complete"),
        ("PUT", "/tasks/404/incomplete"),
        ("PUT", "/tasks/abc/complete"),
        ("GET", "/tasks/1"),
        ("PATCH", "/tasks/1"),
        ("DELETE", "/tasks/1"),
        ("GET", "/employees/99/tasks"),
    ],
)
async def test_not_found_is_never_json(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce, method: str, path: str
) -> None:
    make_tasks(pf, 1)
    response = await pf_client.request(method, path)
    assert response.status_code == 404
    assert_not_json(response)


# -- task shape ------------------------------------------------------------------------


async def test_unset_people_are_absent_not_null(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce
) -> None:
    pf.create_task("Bare task")
    pf.create_task("Full task", assigned_to=1, associated_to=3, description="<p>x</p>")
    full, bare = (await pf_client.get("/tasks")).json()["data"]
    assert set(bare) == TASK_KEYS
    assert set(full) == TASK_KEYS | {"assigned_to", "associated_to"}
    assert full["associated_to"] == {
        "id": 3,
        "type": "Employee",
        "full_name": "Zoë Łukasiewicz",
        "email": "zoe@example.com",
    }
    assert bare["description"] is None and bare["description_plain"] is None


async def test_updated_at_bumps_on_every_change_even_within_a_second(
    pf: FakePeopleForce,
) -> None:
    [task_id] = make_tasks(pf, 1)
    stamps = [pf.get_task(task_id)["updated_at"]]
    for title in ("one", "two", "three"):
        stamps.append(pf.edit_task(task_id, title=title)["updated_at"])
    assert stamps == sorted(set(stamps))
    assert pf.edit_task(task_id, title="three")["updated_at"] == stamps[-1]  # no change, no bump


def test_description_plain_strips_markup() -> None:
    html = '<p>Steps:</p><ol><li>Open <a href="https://x">ticket</a></li><li>Wait</li></ol>'
    assert html_to_plain(html) == "Steps:\nOpen ticket\nWait"
    assert html_to_plain("<div>a&nbsp;&lt;b&gt;<br>c</div>") == "a <b>\nc"


# -- employee tasks --------------------------------------------------------------------


async def test_employee_tasks_lists_only_their_assignments(
    pf_client: httpx.AsyncClient, pf: FakePeopleForce
) -> None:
    mine = make_tasks(pf, 4, assigned_to=2)
    make_tasks(pf, 2, assigned_to=1)
    pf.complete_task(mine[0])
    body = (await pf_client.get("/employees/2/tasks")).json()
    assert body["metadata"]["pagination"] == {"page": 1, "pages": 1, "count": 3, "items": 3}
    assert [t["id"] for t in body["data"]] == sorted(mine[1:], reverse=True)
    empty = (await pf_client.get("/employees/3/tasks")).json()
    assert empty["data"] == [] and empty["metadata"]["pagination"]["pages"] == 1


# -- rate limit ------------------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after() -> None:
    app = create_peopleforce_app(api_key=PF_KEY, rate_limit=2)
    transport = FaultyASGITransport(app)
    headers = {"X-API-KEY": PF_KEY}
    async with httpx.AsyncClient(transport=transport, base_url="http://pf", headers=headers) as c:
        statuses = [(await c.get("/tasks")).status_code for _ in range(3)]
        limited = await c.get("/tasks")
    assert statuses == [200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert app.state.faults.requests[-1].fault == "rate_limit"


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


# -- over a real socket, under a base path ---------------------------------------------


async def test_served_on_loopback_under_a_base_path() -> None:
    app = create_peopleforce_app(api_key=PF_KEY, base_path="/api/public/v3")
    app.state.pf.add_employee("Olena Kovalenko", "olena@example.com", id=1)
    with FakeServer(app) as server:
        base = f"{server.url}/api/public/v3"
        async with httpx.AsyncClient(base_url=base, headers={"X-API-KEY": PF_KEY}) as client:
            created = await client.post("/tasks", json={"name": "Over TCP", "employee_id": 1})
            listed = await client.get("/tasks")
            app.state.faults.partition("refuse")
            with pytest.raises(httpx.TransportError):
                await client.get("/tasks")
            app.state.faults.heal()
    assert created.status_code == 200
    assert [t["title"] for t in listed.json()["data"]] == ["Over TCP"]
    assert app.state.faults.counts()[("GET", "/api/public/v3/tasks", 0)] == 1


# -- command line ----------------------------------------------------------------------


def test_command_line_builds_a_seeded_fake() -> None:
    args = build_parser().parse_args(
        ["peopleforce", "--port", "9001", "--api-key", "K", "--page-size", "10", "--tasks", "4"]
    )
    app = args.build(args)
    assert (args.port, app.state.pf.api_key, app.state.pf.page_size) == (9001, "K", 10)
    assert len(app.state.pf.tasks) == 4
    jira = build_parser().parse_args(["jira", "--webhook-url", "http://gw/hook", "--seed", "3"])
    assert (jira.webhook_url, jira.seed, jira.port) == ("http://gw/hook", 3, 9002)
    # Issue links name the fake's real address, as the gateway's site lookup needs.
    assert jira.build(jira).state.jira.base_url == "http://127.0.0.1:9002"


def test_command_line_serves_in_another_process() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "fakes", "peopleforce", "--port", str(port)]
    command += ["--api-key", "cli-key", "--tasks", "2", "--log-level", "warning"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            response = None
            deadline = time.monotonic() + 15
            while response is None and time.monotonic() < deadline:
                try:
                    url = f"http://127.0.0.1:{port}/tasks?completed=true"
                    response = httpx.get(url, headers={"X-API-KEY": "cli-key"})
                except httpx.TransportError:
                    assert process.poll() is None, process.stderr and process.stderr.read()
                    time.sleep(0.05)
            assert response is not None and response.status_code == 200
            state = httpx.get(f"http://127.0.0.1:{port}/_fake/state").json()
            assert len(state["tasks"]) == 2
        finally:
            process.terminate()
            process.wait(timeout=10)
