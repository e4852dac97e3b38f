"""Acceptance: the unmodified ``jira`` client from PyPI works against the fake on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from jira import JIRA, JIRAError

from fakes.jira import create_jira_app
from fakes.jira_human import FakeJira
from fakes.server import FakeServer
from tests.fakes.jira_fake_support import AUTH


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FastAPI, str]]:
    app = create_jira_app()
    with FakeServer(app) as server:
        app.state.jira.set_base_url(server.url)
        yield app, server.url


@pytest.mark.parametrize("version", ["3", "2"])
def test_jira_client_round_trip(served: tuple[FastAPI, str], version: str) -> None:
    app, url = served
    fake: FakeJira = app.state.jira
    client = JIRA(
        url, basic_auth=AUTH, options={"rest_api_version": version}, max_retries=0, timeout=10
    )
    assert client.myself()["emailAddress"] == AUTH[0]
    label = f"PeopleForce-v{version}"

    issue = client.create_issue(
        project="IT", summary="Laptop for Ada", issuetype={"name": "Task"}, labels=[label]
    )
    assert issue.key.startswith("IT-") and issue.fields.status.name == "Open"

    client.add_issue_property(issue.key, "pf_sync_metadata", {"pf_task_id": 42})
    prop = client.issue_property(issue.key, "pf_sync_metadata")
    assert prop.raw["value"] == {"pf_task_id": 42}

    for n in range(4):
        client.create_issue(project="HR", summary=f"Task {n}", issuetype="Task", labels=[label])
    first = client.enhanced_search_issues(f"labels = {label} ORDER BY key", maxResults=2)
    assert len(first) == 2 and first.nextPageToken
    second = client.enhanced_search_issues(
        f"labels = {label} ORDER BY key", maxResults=2, nextPageToken=first.nextPageToken
    )
    everything = client.enhanced_search_issues(f"labels = {label}", maxResults=0)
    assert len(everything) == 5
    assert {i.key for i in first} | {i.key for i in second} <= {i.key for i in everything}

    while True:
        options = client.transitions(issue)
        done = [t for t in options if t["to"]["statusCategory"]["key"] == "done"]
        client.transition_issue(issue, (done or options)[0]["id"])
        if done:
            break
    final = client.issue(issue.key)
    assert final.fields.status.statusCategory.key == "done"
    assert fake.issue(issue.key).status == "Resolved"


def test_jira_client_sees_jira_errors(served: tuple[FastAPI, str]) -> None:
    _, url = served
    client = JIRA(url, basic_auth=AUTH, options={"rest_api_version": "3"}, max_retries=0)
    with pytest.raises(JIRAError) as missing:
        client.issue("HR-9999")
    assert missing.value.status_code == 404
    with pytest.raises(JIRAError) as gone:
        client._get_json("search", params={"jql": "project = HR"})
    assert gone.value.status_code == 410
    with pytest.raises(JIRAError) as refused:
        JIRA(url, basic_auth=("bot@example.com", "wrong"), max_retries=0)
    assert refused.value.status_code == 401
