"""Contract of the fake PeopleForce's REST API: every documented behaviour the gateway relies on."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI

from fakes.clock import FakeClock
from fakes.faults import FaultyASGITransport
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app, html_to_plain
from fakes.server import FakeServer
from tests.fakes.conftest import PF_KEY, PF_PAGE_SIZE
from tests.fakes.peopleforce.support import make_tasks

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


# -- the real path prefix, employees and the OpenAPI document ----------------------------


async def test_the_real_path_prefix_and_the_root_alias_serve_the_same_account() -> None:
    app = create_peopleforce_app(api_key=PF_KEY)
    app.state.pf.add_employee("Olena Kovalenko", "olena@example.com", id=1)
    transport = FaultyASGITransport(app)
    headers = {"X-API-KEY": PF_KEY}
    async with httpx.AsyncClient(transport=transport, base_url="http://pf", headers=headers) as c:
        created = await c.post("/api/public/v3/tasks", json={"name": "Real path", "employee_id": 1})
        at_root = (await c.get("/tasks")).json()["data"]
        under_prefix = (await c.get("/api/public/v3/tasks")).json()["data"]
        unauthenticated = await c.get("/api/public/v3/tasks", headers={"X-API-KEY": "wrong"})
    assert created.status_code == 200
    assert [t["title"] for t in at_root] == [t["title"] for t in under_prefix] == ["Real path"]
    assert unauthenticated.status_code == 401


async def test_employees_are_listed_in_the_paged_envelope() -> None:
    app = create_peopleforce_app(api_key=PF_KEY, page_size=2)
    for n in (3, 1, 2):
        app.state.pf.add_employee(f"Person {n}", f"p{n}@example.com", id=n)
    transport = FaultyASGITransport(app)
    headers = {"X-API-KEY": PF_KEY}
    async with httpx.AsyncClient(transport=transport, base_url="http://pf", headers=headers) as c:
        first = (await c.get("/api/public/v3/employees")).json()
        second = (await c.get("/api/public/v3/employees", params={"page": 2})).json()
        refused = await c.get("/api/public/v3/employees", headers={"X-API-KEY": "nope"})
    assert [e["id"] for e in first["data"]] == [1, 2]
    assert first["data"][0] == {"id": 1, "full_name": "Person 1", "email": "p1@example.com"}
    assert first["metadata"]["pagination"] == {"page": 1, "pages": 2, "count": 3, "items": 2}
    assert [e["id"] for e in second["data"]] == [3]
    assert refused.status_code == 401


async def test_openapi_document_describes_the_api_under_the_real_prefix() -> None:
    app = create_peopleforce_app(api_key=PF_KEY)
    transport = FaultyASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pf") as c:
        schema = (await c.get("/openapi.json")).json()
        docs = await c.get("/docs")
    paths = schema["paths"]
    api_paths = {p for p in paths if not p.startswith("/_fake")}
    assert api_paths == {
        "/api/public/v3/tasks",
        "/api/public/v3/tasks/{task_id}/complete",
        "/api/public/v3/tasks/{task_id}/incomplete",
        "/api/public/v3/employees",
        "/api/public/v3/employees/{employee_id}/tasks",
    }
    create = paths["/api/public/v3/tasks"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["name", "employee_id"]
    for path in api_paths:
        for operation in paths[path].values():
            assert operation.get("description"), f"{path} is not described"
    assert "X-API-KEY" in schema["info"]["description"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
