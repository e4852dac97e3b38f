"""JiraClient edge cases: retries by idempotency, workflows, search guards, secrecy."""

from __future__ import annotations

import base64
import json
import logging
import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest
import respx

from gateway.clients.errors import (
    NotFoundError,
    PermanentUpstreamError,
    PropertyTooLargeError,
    TransientUpstreamError,
    TransitionPathError,
    UpstreamProtocolError,
)
from gateway.clients.jira import MAX_PROPERTY_BYTES, JiraClient
from gateway.clients.models import StopReason

from .conftest import JIRA_BASE, JIRA_EMAIL, JIRA_TOKEN, RecordingSleep

API = f"{JIRA_BASE}/rest/api/3"
CATEGORY = {"new": "2", "indeterminate": "4", "done": "3"}


def status(status_id: str, name: str, category: str) -> dict[str, Any]:
    return {"id": status_id, "name": name, "statusCategory": {"key": category}}


def issue_json(issue_id: str = "10001", category: str = "new", **fields: Any) -> dict[str, Any]:
    return {
        "id": issue_id,
        "key": "HR-1",
        "self": f"{API}/issue/{issue_id}",
        "fields": {"status": status("1", "To Do", category), **fields},
    }


class Workflow:
    """A tiny Jira workflow: statuses, transitions per status, and the issue's position."""

    def __init__(self, statuses: dict[str, tuple[str, str]], moves: dict[str, list[tuple]]):
        self.statuses = statuses  # status id -> (name, category)
        self.moves = moves  # status id -> [(transition id, name, target status id)]
        self.current = next(iter(statuses))
        self.applied: list[str] = []

    def install(self, mock: respx.MockRouter, issue: str = "10001") -> None:
        mock.get(f"{API}/issue/{issue}").mock(side_effect=self.get_issue)
        mock.get(f"{API}/issue/{issue}/transitions").mock(side_effect=self.get_transitions)
        mock.post(f"{API}/issue/{issue}/transitions").mock(side_effect=self.post_transition)

    def _status(self, status_id: str) -> dict[str, Any]:
        name, category = self.statuses[status_id]
        return status(status_id, name, category)

    def get_issue(self, request: httpx.Request) -> httpx.Response:
        body = {"id": "10001", "key": "HR-1", "fields": {"status": self._status(self.current)}}
        return httpx.Response(200, json=body)

    def get_transitions(self, request: httpx.Request) -> httpx.Response:
        transitions = [
            {"id": tid, "name": name, "isAvailable": True, "to": self._status(target)}
            for tid, name, target in self.moves.get(self.current, [])
        ]
        return httpx.Response(200, json={"transitions": transitions})

    def post_transition(self, request: httpx.Request) -> httpx.Response:
        wanted = json.loads(request.content)["transition"]["id"]
        for tid, _name, target in self.moves.get(self.current, []):
            if tid == wanted:
                self.current = target
                self.applied.append(tid)
                return httpx.Response(204)
        return httpx.Response(400, json={"errorMessages": ["Transition is not valid"]})


async def test_create_sends_fields_and_properties_with_basic_auth(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    route = mock.post(f"{API}/issue").mock(
        return_value=httpx.Response(201, json={"id": "10000", "key": "HR-24", "self": "x"})
    )
    props = [{"key": "pf_sync_metadata", "value": {"pf_task_id": 1}}]
    created = await jira.create_issue({"summary": "s"}, props)
    assert (created.id, created.key) == ("10000", "HR-24")
    request = route.calls.last.request
    assert json.loads(request.content) == {"fields": {"summary": "s"}, "properties": props}
    expected = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


async def test_create_is_not_retried_on_503(
    jira: JiraClient, mock: respx.MockRouter, sleep: RecordingSleep
) -> None:
    route = mock.post(f"{API}/issue").mock(return_value=httpx.Response(503, text="<h1>busy</h1>"))
    with pytest.raises(TransientUpstreamError) as caught:
        await jira.create_issue({"summary": "s"})
    assert route.call_count == 1
    assert sleep.delays == []
    assert caught.value.message == "busy"


async def test_create_refused_with_429_is_retried_after_retry_after(
    jira: JiraClient, mock: respx.MockRouter, sleep: RecordingSleep
) -> None:
    limited = httpx.Response(429, text="<html>slow</html>", headers={"Retry-After": "3"})
    created = httpx.Response(201, json={"id": "10000", "key": "HR-24"})
    route = mock.post(f"{API}/issue").mock(side_effect=[limited, created])
    assert (await jira.create_issue({"summary": "s"})).key == "HR-24"
    assert route.call_count == 2
    assert sleep.delays[0] >= 3


async def test_create_400_carries_jira_messages(jira: JiraClient, mock: respx.MockRouter) -> None:
    body = {"errorMessages": [], "errors": {"customfield_1": "Field is required"}}
    mock.post(f"{API}/issue").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(PermanentUpstreamError) as caught:
        await jira.create_issue({"summary": "s"})
    assert caught.value.field_errors == {"customfield_1": "Field is required"}


async def test_create_refuses_oversized_property_locally(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    route = mock.post(f"{API}/issue")
    with pytest.raises(PropertyTooLargeError):
        await jira.create_issue({}, [{"key": "k", "value": "x" * MAX_PROPERTY_BYTES}])
    assert not route.called


async def test_get_is_retried_on_503_then_succeeds(
    jira: JiraClient, mock: respx.MockRouter, sleep: RecordingSleep
) -> None:
    route = mock.get(f"{API}/issue/10001").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=issue_json(labels=["X"]))]
    )
    issue = await jira.get_issue("10001", fields=["status", "labels"], properties=["p"])
    assert route.call_count == 2
    assert len(sleep.delays) == 1
    assert issue.status_category_key == "new" and issue.labels == ["X"]
    params = route.calls.last.request.url.params
    assert (params["fields"], params["properties"]) == ("status,labels", "p")


async def test_issue_conveniences_and_numeric_ids(jira: JiraClient, mock: respx.MockRouter) -> None:
    body = issue_json(category="done", project={"id": "1", "key": "HR"})
    body["id"] = 10001
    mock.get(f"{API}/issue/HR-1").mock(return_value=httpx.Response(200, json=body))
    issue = await jira.get_issue("HR-1")
    assert issue.id == "10001"
    assert issue.project_key == "HR" and issue.is_done and issue.labels == []


async def test_get_missing_issue_raises_not_found(jira: JiraClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/issue/404").mock(return_value=httpx.Response(404))
    with pytest.raises(NotFoundError):
        await jira.get_issue("404")


async def test_html_on_a_2xx_is_a_protocol_error(jira: JiraClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/issue/1").mock(return_value=httpx.Response(200, text="<html>login</html>"))
    mock.get(f"{API}/issue/2").mock(return_value=httpx.Response(200, json={"key": "no id"}))
    with pytest.raises(UpstreamProtocolError):
        await jira.get_issue("1")
    with pytest.raises(UpstreamProtocolError, match="unexpected issue"):
        await jira.get_issue("2")


async def test_429_retry_after_seconds_is_a_minimum(
    jira: JiraClient, mock: respx.MockRouter, sleep: RecordingSleep
) -> None:
    html_429 = httpx.Response(429, text="<html>Rate limit</html>", headers={"Retry-After": "7"})
    mock.get(f"{API}/issue/1").mock(
        side_effect=[html_429, httpx.Response(200, json=issue_json("1"))]
    )
    await jira.get_issue("1")
    assert sleep.delays[0] >= 7


async def test_429_retry_after_http_date_is_a_minimum(
    jira: JiraClient, mock: respx.MockRouter, sleep: RecordingSleep
) -> None:
    later = formatdate(time.time() + 120, usegmt=True)
    limited = httpx.Response(429, headers={"Retry-After": later})
    mock.get(f"{API}/issue/1").mock(
        side_effect=[limited, httpx.Response(200, json=issue_json("1"))]
    )
    await jira.get_issue("1")
    assert 117 <= sleep.delays[0] <= 121


async def test_edit_issue(jira: JiraClient, mock: respx.MockRouter) -> None:
    route = mock.put(f"{API}/issue/10001").mock(return_value=httpx.Response(204))
    await jira.edit_issue("10001", {"summary": "new"}, update={"labels": [{"add": "x"}]})
    assert json.loads(route.calls.last.request.content) == {
        "fields": {"summary": "new"},
        "update": {"labels": [{"add": "x"}]},
    }


async def test_edit_and_read_asks_for_the_issue_and_answers_its_current_key(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    answer = {"id": "10001", "key": "IT-3", "fields": {"summary": "new"}}
    route = mock.put(f"{API}/issue/10001").mock(return_value=httpx.Response(200, json=answer))
    edited = await jira.edit_and_read("10001", {"summary": "new"})
    assert (edited.id, edited.key) == ("10001", "IT-3")
    request = route.calls.last.request
    assert request.url.params["returnIssue"] == "true"
    assert json.loads(request.content) == {"fields": {"summary": "new"}}
    await jira.edit_issue("10001", {"summary": "new"})
    assert "returnIssue" not in route.calls.last.request.url.params


async def test_transition_to_done_takes_the_direct_done_transition(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    workflow = Workflow(
        {"1": ("To Do", "new"), "3": ("In Progress", "indeterminate"), "10": ("Done", "done")},
        {"1": [("11", "Start", "3"), ("41", "Done", "10")], "3": [("41", "Done", "10")]},
    )
    workflow.install(mock)
    chosen = await jira.transition_to_done("10001")
    assert chosen is not None and chosen.name == "Done"
    assert workflow.applied == ["41"]


async def test_transition_to_done_walks_through_an_intermediate_status(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    workflow = Workflow(
        {
            "1": ("Open", "new"),
            "2": ("Waiting", "new"),
            "3": ("In Progress", "indeterminate"),
            "5": ("Resolved", "done"),
            "6": ("Closed", "done"),
        },
        {
            "1": [("801", "Park", "2"), ("4", "Start Progress", "3")],
            "3": [("301", "Stop", "1"), ("5", "Resolve", "5"), ("2", "Close", "6")],
        },
    )
    workflow.install(mock)
    chosen = await jira.transition_to_done("10001")
    assert workflow.applied == ["4", "5"]
    assert chosen is not None and chosen.name == "Resolve"
    assert workflow.current == "5"


async def test_transition_to_done_prefers_done_over_wont_do(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    workflow = Workflow(
        {"1": ("To Do", "new"), "7": ("Won't Do", "done"), "8": ("Done", "done")},
        {"1": [("71", "Won't do", "7"), ("81", "Finish", "8")]},
    )
    workflow.install(mock)
    await jira.transition_to_done("10001")
    assert workflow.applied == ["81"]


async def test_transition_to_done_on_a_done_issue_does_nothing(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    workflow = Workflow({"10": ("Done", "done")}, {"10": [("1", "Reopen", "10")]})
    workflow.install(mock)
    assert await jira.transition_to_done("10001") is None
    assert workflow.applied == []


async def test_transition_to_done_without_a_path_raises(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    workflow = Workflow(
        {"1": ("Open", "new"), "2": ("Blocked", "indeterminate")},
        {"1": [("12", "Block", "2")], "2": [("21", "Unblock", "1")]},
    )
    workflow.install(mock)
    with pytest.raises(TransitionPathError):
        await jira.transition_to_done("10001")
    assert workflow.applied == ["12"]


async def test_transition_race_with_someone_finishing_first(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    issue_route = mock.get(f"{API}/issue/10001").mock(
        side_effect=[
            httpx.Response(200, json=issue_json(category="new")),
            httpx.Response(200, json=issue_json(category="done")),
        ]
    )
    done = {"id": "31", "name": "Done", "to": status("10", "Done", "done")}
    mock.get(f"{API}/issue/10001/transitions").mock(
        return_value=httpx.Response(200, json={"transitions": [done]})
    )
    mock.post(f"{API}/issue/10001/transitions").mock(return_value=httpx.Response(400))
    assert await jira.transition_to_done("10001") is None
    assert issue_route.call_count == 2


async def test_set_property_size_limit(jira: JiraClient, mock: respx.MockRouter) -> None:
    route = mock.put(f"{API}/issue/10001/properties/pf_sync_metadata").mock(
        return_value=httpx.Response(200)
    )
    fits = "x" * (MAX_PROPERTY_BYTES - 2)  # the JSON quotes make it exactly the limit
    await jira.set_property("10001", "pf_sync_metadata", fits)
    assert len(route.calls.last.request.content) == MAX_PROPERTY_BYTES
    with pytest.raises(PropertyTooLargeError, match="32768"):
        await jira.set_property("10001", "pf_sync_metadata", fits + "x")
    assert route.call_count == 1


async def test_get_property(jira: JiraClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/issue/1/properties/p").mock(
        return_value=httpx.Response(200, json={"key": "p", "value": {"pf_task_id": 5}})
    )
    mock.get(f"{API}/issue/2/properties/p").mock(return_value=httpx.Response(404))
    assert await jira.get_property("1", "p") == {"pf_task_id": 5}
    assert await jira.get_property("2", "p") is None


def search_answers(mock: respx.MockRouter, *pages: dict[str, Any]) -> respx.Route:
    return mock.post(f"{API}/search/jql").mock(
        side_effect=[httpx.Response(200, json=page) for page in pages]
    )


def issues(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "key": f"HR-{i}", "fields": {}} for i in ids]


async def found(jira: JiraClient, **kwargs: Any) -> list[str]:
    return [issue.id async for issue in jira.search_jql("labels = X", fields=["status"], **kwargs)]


async def test_search_follows_tokens_until_is_last(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    route = search_answers(
        mock,
        {"issues": issues("1", "2"), "nextPageToken": "t1", "isLast": False},
        {"issues": issues("3"), "isLast": True},
    )
    assert await found(jira, max_results=2) == ["1", "2", "3"]
    first, second = (json.loads(call.request.content) for call in route.calls)
    assert first == {"jql": "labels = X", "fields": ["status"], "maxResults": 2}
    assert second["nextPageToken"] == "t1"


@pytest.mark.parametrize(
    ("second_page", "reason"),
    [
        ({"issues": issues("3")}, StopReason.MISSING_TOKEN),
        ({"issues": [], "nextPageToken": "t2", "isLast": False}, StopReason.EMPTY_PAGE),
        (
            {"issues": issues("3"), "nextPageToken": "t1", "isLast": False},
            StopReason.REPEATED_TOKEN,
        ),
    ],
)
async def test_search_guards(
    jira: JiraClient, mock: respx.MockRouter, second_page: dict[str, Any], reason: StopReason
) -> None:
    first = {"issues": issues("1"), "nextPageToken": "t1", "isLast": False}
    route = search_answers(mock, first, second_page, {"issues": issues("99"), "isLast": True})
    pages = [p async for p in jira.iter_search_pages("labels = X", fields=["status"])]
    assert route.call_count == 2
    assert pages[-1].stop_reason is reason


async def test_search_stops_at_page_cap(jira: JiraClient, mock: respx.MockRouter) -> None:
    counter = iter(range(1000))

    def endless(request: httpx.Request) -> httpx.Response:
        n = next(counter)
        return httpx.Response(200, json={"issues": issues(str(n)), "nextPageToken": f"t{n}"})

    route = mock.post(f"{API}/search/jql").mock(side_effect=endless)
    assert await found(jira, max_pages=4) == ["0", "1", "2", "3"]
    assert route.call_count == 4


async def test_search_removed_api_410_is_permanent(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    body = {"errorMessages": ["The requested API has been removed."]}
    mock.post(f"{API}/search/jql").mock(return_value=httpx.Response(410, json=body))
    with pytest.raises(PermanentUpstreamError, match="has been removed"):
        await found(jira)


async def test_find_account_id(jira: JiraClient, mock: respx.MockRouter) -> None:
    users = [
        {"accountId": "app", "emailAddress": "ann@acme.test", "accountType": "app"},
        {"accountId": "a1", "emailAddress": "annabel@acme.test", "accountType": "atlassian"},
        {"accountId": "a2", "emailAddress": "Ann@Acme.test", "accountType": "atlassian"},
    ]
    route = mock.get(f"{API}/user/search").mock(return_value=httpx.Response(200, json=users))
    assert await jira.find_account_id(" ann@acme.test ") == "a2"
    assert route.calls.last.request.url.params["query"] == "ann@acme.test"


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        ([{"accountId": "h1", "accountType": "atlassian"}], "h1"),
        ([{"accountId": "h1"}, {"accountId": "h2"}], None),
        ([{"accountId": "x", "emailAddress": "other@acme.test"}], None),
        ([{"accountId": "gone", "active": False}], None),
        ([], None),
    ],
)
async def test_find_account_id_without_an_exact_match(
    jira: JiraClient, mock: respx.MockRouter, users: list[dict], expected: str | None
) -> None:
    mock.get(f"{API}/user/search").mock(return_value=httpx.Response(200, json=users))
    assert await jira.find_account_id("ann@acme.test") == expected


async def test_createmeta_pages_through_issue_types(
    jira: JiraClient, mock: respx.MockRouter
) -> None:
    first = [{"id": str(i), "name": f"T{i}"} for i in range(50)]
    route = mock.get(f"{API}/issue/createmeta/HR/issuetypes").mock(
        side_effect=[
            httpx.Response(200, json={"issueTypes": first, "startAt": 0, "total": 51}),
            httpx.Response(200, json={"issueTypes": [{"id": "99", "name": "Bug"}], "total": 51}),
        ]
    )
    types = await jira.get_createmeta_issue_types("HR")
    assert len(types) == 51 and types[-1].name == "Bug"
    assert route.calls.last.request.url.params["startAt"] == "50"


async def test_createmeta_fields_and_projects(jira: JiraClient, mock: respx.MockRouter) -> None:
    field = {"fieldId": "summary", "name": "Summary", "required": True, "schema": {"type": "x"}}
    mock.get(f"{API}/issue/createmeta/HR/issuetypes/10001").mock(
        return_value=httpx.Response(200, json={"fields": [field], "total": 1})
    )
    mock.get(f"{API}/project/search").mock(
        return_value=httpx.Response(
            200, json={"values": [{"id": "1", "key": "HR", "name": "HR"}], "isLast": True}
        )
    )
    [meta] = await jira.get_createmeta_fields("HR", "10001")
    assert meta.field_id == "summary" and meta.required
    assert [p.key for p in await jira.list_projects()] == ["HR"]


async def test_token_never_reaches_errors_or_logs(
    jira: JiraClient, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    basic = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    mock.get(f"{API}/issue/1").mock(
        side_effect=[
            httpx.Response(429, text=f"<p>slow down {JIRA_TOKEN}</p>"),
            httpx.Response(401, json={"errorMessages": [f"bad auth Basic {basic}"]}),
        ]
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(PermanentUpstreamError) as caught:
        await jira.get_issue("1")
    for text in (str(caught.value), repr(caught.value), repr(jira), caplog.text):
        assert JIRA_TOKEN not in text
        assert basic not in text
    assert "Authorization" not in caplog.text


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def test_auth_is_pluggable(http: httpx.AsyncClient, mock: respx.MockRouter) -> None:
    with pytest.raises(ValueError):
        JiraClient(http, JIRA_BASE)
    oauth = JiraClient(http, f"{JIRA_BASE}/ex/jira/cloud-1", auth=BearerAuth("tok"))
    route = mock.get(f"{JIRA_BASE}/ex/jira/cloud-1/rest/api/3/issue/1").mock(
        return_value=httpx.Response(200, json=issue_json("1"))
    )
    await oauth.get_issue("1")
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"
