"""Contract tests of the fake Jira's REST v3 surface, in-process over ASGI."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fakes.clock import FakeClock
from fakes.jira_human import FakeJira
from tests.fakes.jira_fake_support import BASE, adf, client_for, issue_body

NOT_FOUND = "Issue does not exist or you do not have permission to see it."


async def create(client: httpx.AsyncClient, project: str = "HR", **fields: Any) -> dict:
    r = await client.post("/rest/api/3/issue", json=issue_body(project, **fields))
    assert r.status_code == 201, r.text
    return r.json()


# -- auth ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth", [None, ("bot@example.com", "wrong"), ("other@example.com", "jira-test-token")]
)
async def test_bad_credentials_get_401_that_is_not_json(
    app: FastAPI, auth: tuple[str, str] | None
) -> None:
    async with client_for(app, auth=auth) as c:
        r = await c.get("/rest/api/3/myself")
    assert r.status_code == 401
    assert not r.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)


async def test_site_endpoints_the_jira_client_calls_at_startup(
    client: httpx.AsyncClient,
) -> None:
    info = (await client.get("/rest/api/3/serverInfo")).json()
    assert info["deploymentType"] == "Cloud"
    assert info["versionNumbers"][0] >= 1000
    me = (await client.get("/rest/api/3/myself")).json()
    assert me["emailAddress"] == "bot@example.com" and me["accountId"]
    fields = (await client.get("/rest/api/3/field")).json()
    assert {"summary", "labels", "status"} <= {f["id"] for f in fields}
    assert all("clauseNames" in f for f in fields)


# -- create ------------------------------------------------------------------------------


async def test_create_answers_201_with_string_ids_and_properties_ride_along(
    client: httpx.AsyncClient,
) -> None:
    body = issue_body(
        summary="Onboard Ada",
        labels=["PeopleForce"],
        description=adf("Laptop and badge"),
        duedate="2025-04-01",
    )
    body["properties"] = [{"key": "pf_sync_metadata", "value": {"pf_task_id": 42, "domain": "d"}}]
    r = await client.post("/rest/api/3/issue", json=body)
    assert r.status_code == 201
    created = r.json()
    assert created == {
        "id": "10000",
        "key": "HR-1",
        "self": f"{BASE}/rest/api/3/issue/10000",
    }
    second = await create(client)
    assert (second["id"], second["key"]) == ("10001", "HR-2")

    prop = await client.get("/rest/api/3/issue/HR-1/properties/pf_sync_metadata")
    assert prop.json() == {"key": "pf_sync_metadata", "value": {"pf_task_id": 42, "domain": "d"}}
    got = (await client.get("/rest/api/3/issue/10000")).json()
    fields = got["fields"]
    assert fields["labels"] == ["PeopleForce"]
    assert fields["description"] == adf("Laptop and badge")
    assert fields["duedate"] == "2025-04-01"
    assert fields["status"]["statusCategory"]["key"] == "new"
    assert fields["project"]["key"] == "HR"
    assert fields["reporter"]["emailAddress"] == "bot@example.com"
    assert "properties" not in got


@pytest.mark.parametrize(
    ("fields", "errors_key", "fragment"),
    [
        ({"summary": None}, "summary", "You must specify a summary"),
        ({"summary": "  "}, "summary", "You must specify a summary"),
        ({"project": {"key": "NOPE"}}, "project", "valid project is required"),
        ({"project": None}, "project", "Specify a valid project"),
        ({"issuetype": {"name": "Saga"}}, "issuetype", "issue type selected is invalid"),
        ({"issuetype": None}, "issuetype", "Specify an issue type"),
        ({"description": "plain text is v2 only"}, "description", "Atlassian Document"),
        ({"description": {"type": "doc", "content": []}}, "description", "Atlassian Document"),
        ({"labels": ["two words"]}, "labels", "contains spaces"),
        ({"duedate": "01/04/2025"}, "duedate", "Error parsing date"),
        ({"priority": {"name": "Ultra"}}, "priority", "priority selected is invalid"),
        ({"assignee": {"accountId": "nobody"}}, "assignee", "does not exist"),
        ({"customfield_10020": {"value": "Nope"}}, "customfield_10020", "Team"),
        ({"customfield_99999": "x"}, "customfield_99999", "cannot be set"),
        ({"status": {"name": "Done"}}, "status", "cannot be set"),
    ],
)
async def test_create_400_shapes(
    client: httpx.AsyncClient, fields: dict, errors_key: str, fragment: str
) -> None:
    body = issue_body()
    body["fields"].update(fields)
    body["fields"] = {k: v for k, v in body["fields"].items() if v is not None}
    r = await client.post("/rest/api/3/issue", json=body)
    assert r.status_code == 400
    payload = r.json()
    assert set(payload) == {"errorMessages", "errors"}
    assert fragment in payload["errors"][errors_key]


async def test_priority_allowed_values_differ_per_project(client: httpx.AsyncClient) -> None:
    ok = await client.post("/rest/api/3/issue", json=issue_body("HR", priority={"name": "Highest"}))
    assert ok.status_code == 201
    refused = await client.post(
        "/rest/api/3/issue", json=issue_body("IT", priority={"name": "Highest"})
    )
    assert refused.status_code == 400
    assert "priority" in refused.json()["errors"]


async def test_create_rejects_bad_properties_and_malformed_json(client: httpx.AsyncClient) -> None:
    body = issue_body()
    body["properties"] = [{"key": "big", "value": {"blob": "x" * 40000}}]
    r = await client.post("/rest/api/3/issue", json=body)
    assert r.status_code == 400 and r.json()["errorMessages"]
    r = await client.post(
        "/rest/api/3/issue", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["errorMessages"]


async def test_create_with_transition_lands_in_the_target_status(
    client: httpx.AsyncClient,
) -> None:
    body = issue_body()
    body["transition"] = {"id": "31"}
    created = (await client.post("/rest/api/3/issue", json=body)).json()
    issue = (await client.get(f"/rest/api/3/issue/{created['id']}?fields=status")).json()
    assert issue["fields"]["status"]["name"] == "Done"


# -- get ----------------------------------------------------------------------------------


async def test_get_with_field_and_property_selection(client: httpx.AsyncClient) -> None:
    body = issue_body(labels=["PeopleForce"])
    body["properties"] = [
        {"key": "pf_sync_metadata", "value": {"pf_task_id": 1}},
        {"key": "other", "value": [1, 2]},
    ]
    await client.post("/rest/api/3/issue", json=body)
    r = await client.get(
        "/rest/api/3/issue/HR-1",
        params={"fields": "summary,status", "properties": "pf_sync_metadata"},
    )
    got = r.json()
    assert set(got["fields"]) == {"summary", "status"}
    assert got["properties"] == {"pf_sync_metadata": {"pf_task_id": 1}}
    status = got["fields"]["status"]
    assert set(status) >= {"self", "description", "iconUrl", "name", "id", "statusCategory"}
    assert status["statusCategory"] == {
        "self": f"{BASE}/rest/api/3/statuscategory/2",
        "id": 2,
        "key": "new",
        "colorName": "blue-gray",
        "name": "To Do",
    }
    everything = (
        await client.get("/rest/api/3/issue/HR-1", params={"fields": "*all", "properties": "*all"})
    ).json()
    assert {"summary", "labels", "created", "updated", "issuetype", "project"} <= set(
        everything["fields"]
    )
    assert set(everything["properties"]) == {"pf_sync_metadata", "other"}
    minus = (await client.get("/rest/api/3/issue/HR-1", params={"fields": "*all,-labels"})).json()
    assert "labels" not in minus["fields"] and "summary" in minus["fields"]


async def test_missing_issue_is_404_with_jira_body(client: httpx.AsyncClient) -> None:
    for ref in ("HR-999", "99999"):
        r = await client.get(f"/rest/api/3/issue/{ref}")
        assert r.status_code == 404
        assert r.json() == {"errorMessages": [NOT_FOUND], "errors": {}}


async def test_v2_renders_description_as_plain_text(client: httpx.AsyncClient) -> None:
    await create(client, description=adf("Hello"))
    v2 = (await client.get("/rest/api/2/issue/HR-1", params={"fields": "description"})).json()
    assert v2["fields"]["description"] == "Hello"
    assert v2["self"].endswith("/rest/api/2/issue/10000")


async def test_moved_issue_keeps_id_and_old_key_resolves(
    client: httpx.AsyncClient, jira: FakeJira
) -> None:
    await create(client)
    new_key = jira.move("HR-1", "IT")
    assert new_key == "IT-1"
    for ref in ("HR-1", "IT-1", "10000"):
        got = (await client.get(f"/rest/api/3/issue/{ref}", params={"fields": "project"})).json()
        assert (got["id"], got["key"], got["fields"]["project"]["key"]) == ("10000", "IT-1", "IT")


# -- edit -------------------------------------------------------------------------------------


async def test_edit_fields_and_label_updates(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await create(client, labels=["PeopleForce"])
    before = (await client.get("/rest/api/3/issue/HR-1")).json()["fields"]["updated"]
    clock.advance(5)
    r = await client.put(
        "/rest/api/3/issue/HR-1",
        json={
            "fields": {"summary": "Renamed", "duedate": "2025-05-05"},
            "update": {"labels": [{"add": "urgent"}, {"remove": "missing"}]},
            "transition": {"id": "31"},
        },
    )
    assert r.status_code == 204 and r.content == b""
    fields = (await client.get("/rest/api/3/issue/HR-1")).json()["fields"]
    assert fields["summary"] == "Renamed"
    assert fields["labels"] == ["PeopleForce", "urgent"]
    assert fields["status"]["name"] == "To Do"  # the transition in an edit is ignored
    assert fields["updated"] > before
    await client.put("/rest/api/3/issue/HR-1", json={"update": {"labels": [{"remove": "urgent"}]}})
    fields = (await client.get("/rest/api/3/issue/HR-1")).json()["fields"]
    assert fields["labels"] == ["PeopleForce"]


async def test_edit_rejects_invalid_fields(client: httpx.AsyncClient) -> None:
    await create(client)
    for body, key in (
        ({"fields": {"summary": ""}}, "summary"),
        ({"fields": {"description": "not adf"}}, "description"),
        ({"fields": {"project": {"key": "IT"}}}, "project"),
        ({"fields": {"labels": ["a"]}, "update": {"labels": [{"add": "b"}]}}, "labels"),
    ):
        r = await client.put("/rest/api/3/issue/HR-1", json=body)
        assert r.status_code == 400, body
        assert key in r.json()["errors"]
    r = await client.put("/rest/api/3/issue/HR-404", json={"fields": {"summary": "x"}})
    assert r.status_code == 404


async def test_edit_can_return_the_issue(client: httpx.AsyncClient) -> None:
    await create(client)
    r = await client.put(
        "/rest/api/3/issue/HR-1?returnIssue=true", json={"fields": {"summary": "Back"}}
    )
    assert r.status_code == 200 and r.json()["fields"]["summary"] == "Back"


async def test_delete_issue(client: httpx.AsyncClient) -> None:
    await create(client)
    assert (await client.delete("/rest/api/3/issue/HR-1")).status_code == 204
    assert (await client.get("/rest/api/3/issue/HR-1")).status_code == 404


# -- entity properties ------------------------------------------------------------------------


async def test_entity_property_lifecycle(client: httpx.AsyncClient) -> None:
    await create(client)
    url = "/rest/api/3/issue/HR-1/properties/pf_sync_metadata"
    assert (await client.get(url)).status_code == 404
    assert (await client.put(url, json={"pf_task_id": 1})).status_code == 201
    assert (await client.put(url, json={"pf_task_id": 2})).status_code == 200
    assert (await client.get(url)).json() == {"key": "pf_sync_metadata", "value": {"pf_task_id": 2}}
    keys = (await client.get("/rest/api/3/issue/10000/properties")).json()
    assert keys == {
        "keys": [
            {
                "self": f"{BASE}/rest/api/3/issue/10000/properties/pf_sync_metadata",
                "key": "pf_sync_metadata",
            }
        ]
    }
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.get("/rest/api/3/issue/HR-9/properties/x")).status_code == 404


async def test_entity_property_size_limit_and_empty_value(client: httpx.AsyncClient) -> None:
    await create(client)
    url = "/rest/api/3/issue/HR-1/properties/blob"
    overhead = len(json.dumps({"v": ""}, separators=(",", ":")))
    fits = {"v": "x" * (32768 - overhead)}
    assert (await client.put(url, json=fits)).status_code == 201
    too_big = {"v": "x" * (32768 - overhead + 1)}
    r = await client.put(url, json=too_big)
    assert r.status_code == 400 and "32768" in r.json()["errorMessages"][0]
    r = await client.put(url, content=b"", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["errorMessages"]


async def test_property_writes_do_not_touch_updated(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await create(client)
    before = (await client.get("/rest/api/3/issue/HR-1")).json()["fields"]["updated"]
    clock.advance(60)
    await client.put("/rest/api/3/issue/HR-1/properties/k", json={"a": 1})
    after = (await client.get("/rest/api/3/issue/HR-1")).json()["fields"]["updated"]
    assert after == before


# -- transitions ---------------------------------------------------------------------------------


async def transitions(client: httpx.AsyncClient, key: str) -> dict[str, dict]:
    r = await client.get(f"/rest/api/3/issue/{key}/transitions")
    assert r.status_code == 200
    return {t["name"]: t for t in r.json()["transitions"]}


async def test_hr_reaches_done_through_done(client: httpx.AsyncClient) -> None:
    await create(client, "HR")
    available = await transitions(client, "HR-1")
    done = available["Done"]
    assert done["to"]["statusCategory"]["key"] == "done"
    assert done["isAvailable"] is True and done["hasScreen"] is False
    assert set(done["to"]) >= {"id", "name", "statusCategory"}
    r = await client.post(
        "/rest/api/3/issue/HR-1/transitions", json={"transition": {"id": done["id"]}}
    )
    assert r.status_code == 204
    fields = (await client.get("/rest/api/3/issue/HR-1")).json()["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["resolution"]["name"] == "Done"
    assert "Reopen" in await transitions(client, "HR-1")


async def test_it_needs_intermediate_steps_to_resolve_or_close(client: httpx.AsyncClient) -> None:
    await create(client, "IT")
    path = []
    for _ in range(5):
        available = await transitions(client, "IT-1")
        done = [t for t in available.values() if t["to"]["statusCategory"]["key"] == "done"]
        if done:
            assert {t["name"] for t in done} == {"Resolve", "Close"}
            choice = available["Resolve"]
        else:
            choice = next(iter(available.values()))
        path.append(choice["name"])
        r = await client.post(
            "/rest/api/3/issue/IT-1/transitions", json={"transition": {"id": choice["id"]}}
        )
        assert r.status_code == 204
        if choice["name"] == "Resolve":
            break
    assert path == ["Start Progress", "Submit for Review", "Resolve"]
    assert set(await transitions(client, "IT-1")) == {"Close", "Reopen"}


async def test_unavailable_transition_is_400(client: httpx.AsyncClient) -> None:
    await create(client, "IT")
    r = await client.post("/rest/api/3/issue/IT-1/transitions", json={"transition": {"id": "31"}})
    assert r.status_code == 400
    assert "not valid" in r.json()["errorMessages"][0]
    r = await client.post("/rest/api/3/issue/IT-1/transitions", json={})
    assert r.status_code == 400


# -- createmeta, projects, users ------------------------------------------------------------------


async def test_createmeta_issue_types_page_with_start_at(client: httpx.AsyncClient) -> None:
    r = await client.get("/rest/api/3/issue/createmeta/IT/issuetypes", params={"maxResults": 2})
    page = r.json()
    assert [t["name"] for t in page["issueTypes"]] == ["Task", "Bug"]
    assert (page["startAt"], page["maxResults"], page["total"], page["isLast"]) == (0, 2, 3, False)
    rest = (
        await client.get(
            "/rest/api/3/issue/createmeta/IT/issuetypes", params={"startAt": 2, "maxResults": 2}
        )
    ).json()
    assert [t["name"] for t in rest["issueTypes"]] == ["Onboarding"] and rest["isLast"] is True


async def test_createmeta_fields_show_required_and_allowed_values(
    client: httpx.AsyncClient, jira: FakeJira
) -> None:
    task = jira.project("IT").issue_type("Task")
    assert task is not None
    task_id = task.id
    url = f"/rest/api/3/issue/createmeta/IT/issuetypes/{task_id}"
    fields = {f["fieldId"]: f for f in (await client.get(url)).json()["fields"]}
    assert fields["summary"]["required"] is True
    assert fields["duedate"]["required"] is False
    assert [v["name"] for v in fields["priority"]["allowedValues"]] == ["High", "Medium", "Low"]
    assert [v["value"] for v in fields["customfield_10020"]["allowedValues"]] == [
        "People",
        "Platform",
        "Workplace",
    ]
    assert (await client.get("/rest/api/3/issue/createmeta/IT/issuetypes/1")).status_code == 404
    assert (await client.get("/rest/api/3/issue/createmeta/NOPE/issuetypes")).status_code == 404


async def test_schema_drift_makes_create_fail_until_the_field_is_sent(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/_fake/projects/HR/required", json={"issue_type": "Task", "field": "customfield_10020"}
    )
    assert r.status_code == 200
    task = await client.get("/rest/api/3/issue/createmeta/HR/issuetypes/10001")
    team = next(f for f in task.json()["fields"] if f["fieldId"] == "customfield_10020")
    assert team["required"] is True
    refused = await client.post("/rest/api/3/issue", json=issue_body())
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"customfield_10020": "Team is required."}
    ok = await client.post(
        "/rest/api/3/issue", json=issue_body(customfield_10020={"value": "People"})
    )
    assert ok.status_code == 201
    await client.post(
        "/_fake/projects/HR/required",
        json={"issue_type": "Task", "field": "customfield_10020", "required": False},
    )
    assert (await client.post("/rest/api/3/issue", json=issue_body())).status_code == 201


async def test_schema_drift_with_a_brand_new_custom_field(
    client: httpx.AsyncClient, jira: FakeJira
) -> None:
    jira.require_field(
        "IT", "Task", "customfield_10500", name="Cost centre", allowed_values=["A1", "B2"]
    )
    refused = await client.post("/rest/api/3/issue", json=issue_body("IT"))
    assert refused.json()["errors"] == {"customfield_10500": "Cost centre is required."}
    ok = await client.post(
        "/rest/api/3/issue", json=issue_body("IT", customfield_10500={"value": "B2"})
    )
    assert ok.status_code == 201
    got = (
        await client.get("/rest/api/3/issue/IT-1", params={"fields": "customfield_10500"})
    ).json()
    assert got["fields"]["customfield_10500"]["value"] == "B2"


async def test_project_pickers(client: httpx.AsyncClient) -> None:
    found = (await client.get("/rest/api/3/project/search", params={"query": "it"})).json()
    assert [p["key"] for p in found["values"]] == ["IT"]
    assert found["isLast"] is True and found["total"] == 1
    everything = (await client.get("/rest/api/3/project/search", params={"maxResults": 1})).json()
    assert everything["isLast"] is False and "nextPage" in everything
    project = (await client.get("/rest/api/3/project/HR")).json()
    assert project["key"] == "HR" and [t["name"] for t in project["issueTypes"]] == ["Task", "Bug"]
    assert (await client.get("/rest/api/3/project/NOPE")).status_code == 404
    statuses = (await client.get("/rest/api/3/project/IT/statuses")).json()
    names = {s["name"] for s in statuses[0]["statuses"]}
    assert names == {"Open", "In Progress", "In Review", "Resolved", "Closed"}


async def test_user_search_by_email(client: httpx.AsyncClient, jira: FakeJira) -> None:
    jira.add_user("olena@example.com", "Olena Kovalenko")
    found = (
        await client.get("/rest/api/3/user/search", params={"query": "olena@example.com"})
    ).json()
    assert len(found) == 1
    user = found[0]
    assert user["emailAddress"] == "olena@example.com"
    assert user["displayName"] == "Olena Kovalenko"
    assert user["active"] is True and user["accountType"] == "atlassian"
    assert user["accountId"]
    assert (
        await client.get("/rest/api/3/user/search", params={"query": "zz@nowhere"})
    ).json() == []
    assert (await client.get("/rest/api/3/user/search")).status_code == 400
    inactive = (await client.get("/rest/api/3/user/search", params={"query": "carol"})).json()
    assert inactive[0]["active"] is False


async def test_assignee_by_account_id(client: httpx.AsyncClient) -> None:
    bob = (await client.get("/rest/api/3/user/search", params={"query": "bob@example.com"})).json()
    await create(client, assignee={"accountId": bob[0]["accountId"]})
    got = (await client.get("/rest/api/3/issue/HR-1", params={"fields": "assignee"})).json()
    assert got["fields"]["assignee"]["displayName"] == "Bob Builder"
    carol = (await client.get("/rest/api/3/user/search", params={"query": "carol"})).json()
    r = await client.post(
        "/rest/api/3/issue", json=issue_body(assignee={"accountId": carol[0]["accountId"]})
    )
    assert r.status_code == 400 and "assignee" in r.json()["errors"]
