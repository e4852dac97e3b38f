"""Enhanced search: token paging, field selection, rejected queries, the lagging index."""

from __future__ import annotations

import httpx
import pytest

from fakes.clock import FakeClock
from fakes.jira import REMOVED_SEARCH, FakeJira, create_jira_app
from tests.fakes.jira.support import client_for

SEARCH = "/rest/api/3/search/jql"


def seed(jira: FakeJira, n: int, *, labels: tuple[str, ...] = ("PeopleForce",)) -> list[str]:
    return [jira.create("HR", f"Task {i}", labels=labels).key for i in range(n)]


async def test_pages_with_tokens_until_is_last(client: httpx.AsyncClient, jira: FakeJira) -> None:
    seed(jira, 5)
    pages = []
    token = None
    while True:
        params = {"jql": "labels = PeopleForce ORDER BY key", "maxResults": 2, "fields": "key"}
        if token:
            params["nextPageToken"] = token
        r = await client.get(SEARCH, params=params)
        assert r.status_code == 200
        page = r.json()
        assert "total" not in page and "startAt" not in page
        pages.append(page)
        if page["isLast"]:
            assert "nextPageToken" not in page
            break
        token = page["nextPageToken"]
        assert isinstance(token, str) and token
    assert [len(p["issues"]) for p in pages] == [2, 2, 1]
    assert [p["isLast"] for p in pages] == [False, False, True]
    keys = [i["key"] for p in pages for i in p["issues"]]
    assert keys == ["HR-1", "HR-2", "HR-3", "HR-4", "HR-5"]
    tokens = [p.get("nextPageToken") for p in pages]
    assert len(set(tokens)) == 3


async def test_post_search_pages_the_same_way(client: httpx.AsyncClient, jira: FakeJira) -> None:
    seed(jira, 3)
    body: dict = {"jql": "project = HR ORDER BY created DESC, key DESC", "maxResults": 2}
    first = (await client.post(SEARCH, json=body)).json()
    second = (
        await client.post(SEARCH, json={**body, "nextPageToken": first["nextPageToken"]})
    ).json()
    ids = [i["id"] for i in first["issues"] + second["issues"]]
    assert ids == ["10002", "10001", "10000"]
    assert second["isLast"] is True and "nextPageToken" not in second


async def test_default_fields_are_id_only(client: httpx.AsyncClient, jira: FakeJira) -> None:
    seed(jira, 1)
    bare = (await client.get(SEARCH, params={"jql": "project = HR"})).json()
    assert bare["issues"] == [{"id": "10000"}]
    some = (
        await client.post(SEARCH, json={"jql": "project = HR", "fields": ["summary", "status"]})
    ).json()["issues"][0]
    assert some["key"] == "HR-1" and some["self"].endswith("/rest/api/3/issue/10000")
    assert set(some["fields"]) == {"summary", "status"}
    everything = (
        await client.get(SEARCH, params={"jql": "project = HR", "fields": "*all"})
    ).json()["issues"][0]
    assert {"labels", "updated", "status", "project"} <= set(everything["fields"])
    repeated = (
        await client.get(
            SEARCH, params=[("jql", "project = HR"), ("fields", "labels"), ("fields", "summary")]
        )
    ).json()["issues"][0]
    assert set(repeated["fields"]) == {"labels", "summary"}


async def test_properties_can_be_requested(client: httpx.AsyncClient, jira: FakeJira) -> None:
    jira.create("HR", "t", labels=["PeopleForce"], properties={"pf_sync_metadata": {"id": 1}})
    found = (
        await client.post(SEARCH, json={"jql": "project = HR", "properties": ["pf_sync_metadata"]})
    ).json()
    assert found["issues"][0]["properties"] == {"pf_sync_metadata": {"id": 1}}


async def test_max_results_is_capped_and_defaults_to_50(clock: FakeClock) -> None:
    app = create_jira_app(clock=clock, search_max_results=3)
    seed(app.state.jira, 5)
    async with client_for(app) as client:
        page = (await client.get(SEARCH, params={"jql": "project = HR", "maxResults": 500})).json()
        assert len(page["issues"]) == 3 and page["isLast"] is False
        assert (
            await client.get(SEARCH, params={"jql": "project = HR", "maxResults": -1})
        ).status_code == 400
    default = create_jira_app(clock=clock)
    seed(default.state.jira, 51)
    async with client_for(default) as client:
        page = (await client.get(SEARCH, params={"jql": "project = HR"})).json()
        assert len(page["issues"]) == 50 and page["isLast"] is False


@pytest.mark.parametrize("token", ["garbage", "eyJvIjoxfQ", "eyJvIjotMSwicSI6IngifQ"])
async def test_invalid_token_is_400(client: httpx.AsyncClient, jira: FakeJira, token: str) -> None:
    seed(jira, 3)
    r = await client.get(SEARCH, params={"jql": "project = HR", "nextPageToken": token})
    assert r.status_code == 400 and r.json()["errorMessages"]


async def test_token_from_another_query_is_400(client: httpx.AsyncClient, jira: FakeJira) -> None:
    seed(jira, 3)
    page = (await client.get(SEARCH, params={"jql": "project = HR", "maxResults": 1})).json()
    r = await client.get(
        SEARCH, params={"jql": "labels = PeopleForce", "nextPageToken": page["nextPageToken"]}
    )
    assert r.status_code == 400


@pytest.mark.parametrize("jql", [None, "", "ORDER BY created DESC", "order by key"])
async def test_unbounded_jql_is_400(client: httpx.AsyncClient, jql: str | None) -> None:
    params = {} if jql is None else {"jql": jql}
    r = await client.get(SEARCH, params=params)
    assert r.status_code == 400
    assert "Unbounded JQL" in r.json()["errorMessages"][0]
    r = await client.post(SEARCH, json=params)
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("jql", "named"),
    [
        ("summary ~ onboarding", "summary"),
        ("issue.property[pf_sync_metadata].pf_task_id = 7", "issue.property"),
        ("labels = PeopleForce AND updated > startOfDay()", "startOfDay()"),
        ("labels = (", "("),
    ],
)
async def test_unsupported_jql_is_400_naming_the_part(
    client: httpx.AsyncClient, jql: str, named: str
) -> None:
    r = await client.post(SEARCH, json={"jql": jql})
    assert r.status_code == 400
    body = r.json()
    assert body["errors"] == {}
    assert named in body["errorMessages"][0]


async def test_creator_is_current_user_finds_what_the_api_account_created(
    client: httpx.AsyncClient, jira: FakeJira
) -> None:
    """``currentUser()`` is the account the request authenticates as: the gateway's issues
    are found by creator even with their label removed; a person's issue is not."""
    by_a_person = jira.create("HR", "Made in the UI", labels=("PeopleForce",)).key
    body = {"fields": {"project": {"key": "HR"}, "issuetype": {"name": "Task"}, "summary": "x"}}
    made = await client.post("/rest/api/3/issue", json=body)
    assert made.status_code == 201, made.text
    by_the_api = made.json()["key"]
    jira.remove_labels(by_a_person, "PeopleForce")

    jql = 'creator = currentUser() AND created >= "-10m"'
    found = (await client.post(SEARCH, json={"jql": jql, "fields": ["key"]})).json()
    assert [i["key"] for i in found["issues"]] == [by_the_api]
    others = {"jql": "creator != currentUser() AND project = HR", "fields": ["key"]}
    assert [i["key"] for i in (await client.post(SEARCH, json=others)).json()["issues"]] == [
        by_a_person
    ]
    bad = await client.post(SEARCH, json={"jql": "creator = currentUser(x) AND project = HR"})
    assert bad.status_code == 400 and "currentUser() takes no arguments" in bad.text


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_old_search_is_gone(client: httpx.AsyncClient, method: str) -> None:
    r = await client.request(method, "/rest/api/3/search", params={"jql": "project = HR"})
    assert r.status_code == 410
    assert r.json() == {"errorMessages": [REMOVED_SEARCH], "errors": {}}
    assert "CHANGE-2046" in REMOVED_SEARCH


async def test_sweeper_query_respects_the_relative_window(
    client: httpx.AsyncClient, jira: FakeJira, clock: FakeClock
) -> None:
    key = seed(jira, 1)[0]
    jira.transition(key, to_category="done")
    sweep = {"jql": 'labels = PeopleForce AND statusCategory = Done AND updated >= "-24h"'}
    assert len((await client.get(SEARCH, params=sweep)).json()["issues"]) == 1
    clock.advance(25 * 3600)
    assert (await client.get(SEARCH, params=sweep)).json()["issues"] == []


async def test_index_lag_hides_then_shows_changes(
    clock: FakeClock,
) -> None:
    app = create_jira_app(clock=clock, index_lag=30)
    jira: FakeJira = app.state.jira
    done = {"jql": "labels = PeopleForce AND statusCategory = Done"}
    async with client_for(app) as client:
        key = seed(jira, 1)[0]
        assert (await client.get(SEARCH, params={"jql": "project = HR"})).json()["issues"] == []
        clock.advance(31)
        assert len((await client.get(SEARCH, params={"jql": "project = HR"})).json()["issues"]) == 1

        jira.transition(key, to_category="done")
        assert (await client.get(SEARCH, params=done)).json()["issues"] == []
        # the issue itself is already done: only search lags
        live = (await client.get(f"/rest/api/3/issue/{key}", params={"fields": "status"})).json()
        assert live["fields"]["status"]["statusCategory"]["key"] == "done"
        reconciled = (await client.post(SEARCH, json={**done, "reconcileIssues": [10000]})).json()
        assert [i["id"] for i in reconciled["issues"]] == ["10000"]
        clock.advance(31)
        assert [i["id"] for i in (await client.get(SEARCH, params=done)).json()["issues"]] == [
            "10000"
        ]

        jira.delete(key)
        assert len((await client.get(SEARCH, params=done)).json()["issues"]) == 1
        clock.advance(31)
        assert (await client.get(SEARCH, params=done)).json()["issues"] == []


async def test_index_lag_can_be_set_over_the_control_plane(
    client: httpx.AsyncClient, jira: FakeJira, clock: FakeClock
) -> None:
    r = await client.post("/_fake/index-lag", json={"seconds": 10})
    assert r.json() == {"index_lag": 10.0}
    seed(jira, 1)
    assert (await client.get(SEARCH, params={"jql": "project = HR"})).json()["issues"] == []
    clock.advance(11)
    assert len((await client.get(SEARCH, params={"jql": "project = HR"})).json()["issues"]) == 1


async def test_approximate_count(client: httpx.AsyncClient, jira: FakeJira) -> None:
    seed(jira, 4)
    r = await client.post("/rest/api/3/search/approximate-count", json={"jql": "project = HR"})
    assert r.json() == {"count": 4}
