"""The Jira client's bulk read, against the fake Jira over HTTP and respx for retries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from fastapi import FastAPI

from fakes.jira import FakeJira, create_jira_app
from gateway.clients.errors import PermanentUpstreamError
from gateway.clients.jira import JiraClient
from gateway.clients.retry import RetryPolicy
from tests.gateway.clients.conftest import JIRA_BASE, RecordingSleep

BULK = f"{JIRA_BASE}/rest/api/3/issue/bulkfetch"


@pytest.fixture
def app() -> FastAPI:
    return create_jira_app()


@pytest.fixture
def fake(app: FastAPI) -> FakeJira:
    return app.state.jira


@pytest.fixture
async def over_http(app: FastAPI, fake: FakeJira, policy: RetryPolicy) -> AsyncIterator[JiraClient]:
    """The real client talking to the fake Jira in-process over ASGI."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://jira.test") as http:
        yield JiraClient(http, "http://jira.test", fake.email, fake.api_token, policy=policy)


async def test_bulk_fetch_reads_moved_issues_and_leaves_deleted_ones_out(
    fake: FakeJira, over_http: JiraClient
) -> None:
    kept = fake.create("HR", "kept", labels=["PeopleForce"])
    moved = fake.create("HR", "moved", labels=["PeopleForce"])
    gone = fake.create("HR", "gone", labels=["PeopleForce"])
    fake.move(moved.id, "IT")
    fake.delete(gone.id)
    ids = [str(kept.id), str(moved.id), str(gone.id)]
    result = await over_http.bulk_fetch(ids, ["status", "labels"])
    assert [(i.id, i.key) for i in result.issues] == [
        (str(kept.id), "HR-1"),
        (str(moved.id), "IT-1"),
    ]
    assert result.issues[0].fields["labels"] == ["PeopleForce"]
    assert set(result.issues[0].fields) == {"status", "labels"}
    assert result.error_ids == set()


async def test_bulk_fetch_reports_issue_errors_apart_from_absence(
    fake: FakeJira, over_http: JiraClient
) -> None:
    a, b = fake.create("HR", "a"), fake.create("HR", "b")
    fake.bulkfetch_errors = {b.id}
    result = await over_http.bulk_fetch([str(a.id), str(b.id)], ["status"])
    assert [i.id for i in result.issues] == [str(a.id)]
    assert result.error_ids == {str(b.id)}


async def test_bulk_fetch_refuses_more_than_100_ids_without_a_request(
    over_http: JiraClient,
) -> None:
    with pytest.raises(ValueError, match="at most 100"):
        await over_http.bulk_fetch([str(n) for n in range(101)], ["status"])
    assert (await over_http.bulk_fetch([], ["status"])).issues == []


async def test_bulk_fetch_is_retried_after_429_and_503(
    jira: JiraClient, mock: respx.MockRouter, sleep: RecordingSleep
) -> None:
    answer = {"issues": [{"id": "10001", "key": "HR-1", "fields": {}}], "issueErrors": []}
    route = mock.post(BULK).mock(
        side_effect=[
            httpx.Response(429, text="<html>slow</html>", headers={"Retry-After": "4"}),
            httpx.Response(503, text="busy"),
            httpx.Response(200, json=answer),
        ]
    )
    result = await jira.bulk_fetch(["10001"], ["status"], properties=["pf_sync_metadata"])
    assert [i.key for i in result.issues] == ["HR-1"]
    assert route.call_count == 3
    assert sleep.delays[0] >= 4
    sent = json.loads(route.calls[0].request.content)
    assert sent == {
        "issueIdsOrKeys": ["10001"],
        "fields": ["status"],
        "properties": ["pf_sync_metadata"],
    }


async def test_bulk_fetch_400_is_permanent(jira: JiraClient, mock: respx.MockRouter) -> None:
    body = {"errorMessages": ["At most 100 issues can be requested at once."], "errors": {}}
    mock.post(BULK).mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(PermanentUpstreamError) as caught:
        await jira.bulk_fetch(["1"], ["status"])
    assert caught.value.status == 400


# -- assignees whose email Jira hides --------------------------------------------------


async def test_a_hidden_email_falls_back_to_the_one_person_jira_answers(
    fake: FakeJira, over_http: JiraClient
) -> None:
    quiet = fake.add_user("quiet@example.com", "Quiet Person", email_visible=False)
    loud = fake.add_user("loud@example.com", "Loud Person")
    assert await over_http.find_account_id("quiet@example.com") == quiet.account_id
    assert await over_http.find_account_id("loud@example.com") == loud.account_id
    assert await over_http.find_account_id("nobody@example.com") is None


async def test_two_hidden_matches_leave_the_issue_unassigned(
    fake: FakeJira, over_http: JiraClient
) -> None:
    fake.add_user("twin@example.com", "Twin One", email_visible=False)
    fake.add_user("twin@example.com.au", "Twin Two", email_visible=False)
    assert await over_http.find_account_id("twin@example.com") is None
