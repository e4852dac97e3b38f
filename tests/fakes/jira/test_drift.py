"""What people do to issues, through Jira's REST API, and how bulkfetch then sees them.

The reconciler reads tracked issues by id in batches of 100: these tests pin the
fake to Jira's semantics for that read (absent, not an error, when an issue is
gone; the new key when it moved) and for every human drift it must notice.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fakes.jira import FakeJira
from tests.fakes.jira.support import issue_body

BULK = "/rest/api/3/issue/bulkfetch"


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    r = await client.post("/rest/api/3/issue", json=issue_body(labels=["PeopleForce"], **fields))
    assert r.status_code == 201, r.text
    return r.json()


async def bulk(client: httpx.AsyncClient, ids: list[str], **body: Any) -> dict[str, Any]:
    r = await client.post(BULK, json={"issueIdsOrKeys": ids, **body})
    assert r.status_code == 200, r.text
    return r.json()


async def fields_of(client: httpx.AsyncClient, issue_id: str, *names: str) -> dict[str, Any]:
    found = await bulk(client, [issue_id], fields=list(names))
    assert [i["id"] for i in found["issues"]] == [issue_id]
    return found["issues"][0]["fields"]


# -- bulkfetch -----------------------------------------------------------------------------


async def test_bulkfetch_returns_only_the_fields_asked_for(client: httpx.AsyncClient) -> None:
    a, b = await create(client), await create(client, summary="Second")
    found = await bulk(client, [a["id"], b["key"]], fields=["status", "labels"])
    assert [i["id"] for i in found["issues"]] == [a["id"], b["id"]]
    assert [i["key"] for i in found["issues"]] == ["HR-1", "HR-2"]
    assert all(set(i["fields"]) == {"status", "labels"} for i in found["issues"])
    assert found["issues"][0]["fields"]["status"]["statusCategory"]["key"] == "new"
    assert found["issueErrors"] == []
    everything = await bulk(client, [a["id"]])
    assert {"summary", "labels", "status", "project"} <= set(everything["issues"][0]["fields"])


async def test_bulkfetch_leaves_unknown_issues_out_without_an_error(
    client: httpx.AsyncClient,
) -> None:
    a = await create(client)
    found = await bulk(client, ["99999", a["id"], "NOPE-1", a["key"], "HR-77"], fields=["status"])
    assert [i["id"] for i in found["issues"]] == [a["id"]]  # once, though named twice
    assert found["issueErrors"] == []


@pytest.mark.parametrize("ids", [[], [str(n) for n in range(101)], "10000"])
async def test_bulkfetch_refuses_more_than_100_or_no_ids(
    client: httpx.AsyncClient, ids: Any
) -> None:
    r = await client.post(BULK, json={"issueIdsOrKeys": ids})
    assert r.status_code == 400
    assert r.json()["errorMessages"]


async def test_bulkfetch_reads_100_at_once(client: httpx.AsyncClient) -> None:
    ids = [(await create(client, summary=f"T{n}"))["id"] for n in range(100)]
    found = await bulk(client, ids, fields=["summary"])
    assert [i["fields"]["summary"] for i in found["issues"]] == [f"T{n}" for n in range(100)]


async def test_issue_errors_list_ids_jira_could_not_return_now(
    client: httpx.AsyncClient, jira: FakeJira
) -> None:
    a, b = await create(client), await create(client)
    r = await client.put("/_fake/bulkfetch-errors", json={"issue_ids": [b["id"]]})
    assert r.json() == {"issue_ids": [b["id"]]}
    found = await bulk(client, [a["id"], b["id"]], fields=["status"])
    assert [i["id"] for i in found["issues"]] == [a["id"]]
    assert [e["id"] for e in found["issueErrors"]] == [b["id"]]
    assert found["issueErrors"][0]["errorMessage"]
    await client.put("/_fake/bulkfetch-errors", json={"issue_ids": []})
    assert len((await bulk(client, [a["id"], b["id"]]))["issues"]) == 2
    assert jira.bulkfetch_errors == set()


async def test_bulkfetch_returns_the_entity_properties_asked_for(
    client: httpx.AsyncClient,
) -> None:
    body = issue_body(labels=["PeopleForce"])
    body["properties"] = [{"key": "pf_sync_metadata", "value": {"pf_task_id": 7}}]
    created = (await client.post("/rest/api/3/issue", json=body)).json()
    found = await bulk(client, [created["id"]], fields=["status"], properties=["pf_sync_metadata"])
    assert found["issues"][0]["properties"] == {"pf_sync_metadata": {"pf_task_id": 7}}


# -- human drift through the REST API -------------------------------------------------------


async def test_a_label_removed_by_an_update_or_by_setting_the_field(
    client: httpx.AsyncClient,
) -> None:
    a, b = await create(client), await create(client)
    r = await client.put(
        f"/rest/api/3/issue/{a['id']}", json={"update": {"labels": [{"remove": "PeopleForce"}]}}
    )
    assert r.status_code == 204
    r = await client.put(f"/rest/api/3/issue/{b['id']}", json={"fields": {"labels": ["other"]}})
    assert r.status_code == 204
    assert (await fields_of(client, a["id"], "labels"))["labels"] == []
    assert (await fields_of(client, b["id"], "labels"))["labels"] == ["other"]


async def test_a_moved_issue_keeps_its_id_and_bulkfetch_answers_the_new_key(
    client: httpx.AsyncClient,
) -> None:
    a = await create(client)
    r = await client.post(f"/_fake/issues/{a['key']}/move", json={"project": "IT"})
    assert r.json()["key"] == "IT-1"
    by_id = await bulk(client, [a["id"]], fields=["project"])
    by_old_key = await bulk(client, ["HR-1"], fields=["project"])
    for found in (by_id, by_old_key):
        issue = found["issues"][0]
        assert (issue["id"], issue["key"]) == (a["id"], "IT-1")
        assert issue["fields"]["project"]["key"] == "IT"
    old = await client.get("/rest/api/3/issue/HR-1", params={"fields": "summary"})
    assert old.status_code == 200 and old.json()["key"] == "IT-1"


async def test_a_deleted_issue_is_absent_from_bulkfetch_and_404_on_read(
    client: httpx.AsyncClient,
) -> None:
    a, b = await create(client), await create(client)
    assert (await client.delete(f"/rest/api/3/issue/{a['id']}")).status_code == 204
    found = await bulk(client, [a["id"], b["id"]], fields=["status"])
    assert [i["id"] for i in found["issues"]] == [b["id"]]
    assert found["issueErrors"] == []
    assert (await client.get(f"/rest/api/3/issue/{a['id']}")).status_code == 404


async def test_reopened_through_the_transitions_api(client: httpx.AsyncClient) -> None:
    a = await create(client)
    url = f"/rest/api/3/issue/{a['id']}/transitions"
    assert (await client.post(url, json={"transition": {"id": "31"}})).status_code == 204
    done = await fields_of(client, a["id"], "status", "resolution")
    assert done["status"]["statusCategory"]["key"] == "done" and done["resolution"]
    offered = (await client.get(url)).json()["transitions"]
    reopen = next(t for t in offered if t["to"]["statusCategory"]["key"] != "done")
    assert (await client.post(url, json={"transition": {"id": reopen["id"]}})).status_code == 204
    again = await fields_of(client, a["id"], "status", "resolution")
    assert again["status"]["statusCategory"]["key"] == "new" and again["resolution"] is None


async def test_a_summary_edited_through_the_api(client: httpx.AsyncClient) -> None:
    a = await create(client, summary="Onboard Ada")
    r = await client.put(f"/rest/api/3/issue/{a['id']}", json={"fields": {"summary": "Mine"}})
    assert r.status_code == 204
    assert (await fields_of(client, a["id"], "summary"))["summary"] == "Mine"


# -- people whose email is hidden ------------------------------------------------------------


async def test_a_hidden_email_still_matches_but_is_never_shown(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/_fake/users", json={"email": "quiet@example.com", "email_visible": False}
    )
    account_id = r.json()["accountId"]
    await client.post("/_fake/users", json={"email": "loud@example.com"})
    found = await client.get("/rest/api/3/user/search", params={"query": "quiet@example.com"})
    assert [u["accountId"] for u in found.json()] == [account_id]
    assert "emailAddress" not in found.json()[0]
    one = await client.get("/rest/api/3/user", params={"accountId": account_id})
    assert "emailAddress" not in one.json()
    loud = (await client.get("/rest/api/3/user/search", params={"query": "loud@"})).json()
    assert loud[0]["emailAddress"] == "loud@example.com"
    a = await create(client, assignee={"accountId": account_id})
    assignee = (await fields_of(client, a["id"], "assignee"))["assignee"]
    assert assignee["accountId"] == account_id and "emailAddress" not in assignee
