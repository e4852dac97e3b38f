"""Admin webhooks: signed exact bytes, Jira's retry policy, injected delivery faults."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import time

import httpx
import pytest
from fastapi import FastAPI

from fakes.clock import FakeClock
from fakes.jira import FakeJira, create_jira_app, sign
from fakes.server import FakeServer
from tests.fakes.jira.support import Receiver, client_for, jira_with_receiver


def test_sign_matches_the_published_test_vector() -> None:
    assert (
        sign("It's a Secret to Everybody", b"Hello World!")
        == "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    )


def done_issue(
    jira: FakeJira, project: str = "HR", labels: tuple[str, ...] = ("PeopleForce",)
) -> str:
    key = jira.create(project, "Onboard Ada", labels=labels, description="Laptop").key
    jira.transition(key, to_category="done")
    return key


async def deliver_done_issue(statuses: list[int]) -> tuple[Receiver, FastAPI]:
    """A done issue's webhook, delivered (with its retries) to a receiver answering ``statuses``."""
    receiver = Receiver(statuses)
    app = jira_with_receiver(receiver)
    done_issue(app.state.jira)
    await app.state.jira.webhooks.drain()
    return receiver, app


async def test_completion_is_delivered_signed_over_the_exact_bytes(clock: FakeClock) -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver, secret="s3cret", clock=clock)
    jira: FakeJira = app.state.jira
    done_issue(jira)
    await jira.webhooks.drain()

    assert len(receiver.received) == 1
    got = receiver.received[0]
    expected = hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-hub-signature"] == f"sha256={expected}"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-atlassian-webhook-flow"] == "Primary"
    assert got.headers["x-atlassian-webhook-identifier"]
    assert "x-atlassian-webhook-retry" not in got.headers

    payload = got.json()
    assert set(payload) == {
        "timestamp",
        "webhookEvent",
        "issue_event_type_name",
        "user",
        "issue",
        "changelog",
    }
    assert payload["webhookEvent"] == "jira:issue_updated"
    assert payload["issue_event_type_name"] == "issue_generic"
    assert abs(payload["timestamp"] - clock.timestamp() * 1000) < 5000
    assert payload["user"]["displayName"] == "Alice Admin"
    assert "emailAddress" not in payload["user"]
    issue = payload["issue"]
    assert issue["id"] == "10000" and issue["key"] == "HR-1"
    assert issue["self"] == "http://jira.test/rest/api/2/issue/10000"
    fields = issue["fields"]
    assert fields["description"] == "Laptop"
    assert fields["labels"] == ["PeopleForce"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["project"]["key"] == "HR"
    assert {"issuetype", "created", "updated"} <= set(fields)
    status_items = [i for i in payload["changelog"]["items"] if i["fieldId"] == "status"]
    assert status_items == [
        {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": "10000",
            "fromString": "To Do",
            "to": "10001",
            "toString": "Done",
        }
    ]
    [entry] = jira.webhooks.log
    assert (entry.outcome, entry.status, entry.attempt) == ("sent", 200, 0)
    assert entry.identifier == got.headers["x-atlassian-webhook-identifier"]


async def test_no_signature_header_without_a_secret() -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver, secret=None)
    done_issue(app.state.jira)
    await app.state.jira.webhooks.drain()
    assert "x-hub-signature" not in receiver.received[0].headers


async def test_filter_limits_which_changes_fire() -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver)
    jira: FakeJira = app.state.jira
    unlabelled = jira.create("HR", "No label").key
    jira.transition(unlabelled, to_category="done")
    labelled = jira.create("HR", "Labelled", labels=["PeopleForce"]).key
    jira.transition(labelled, "Start Progress")
    await jira.webhooks.drain()
    assert receiver.received == []

    # an IT issue walks three transitions; only the last reaches a done status
    key = jira.create("IT", "Laptop", labels=["PeopleForce"]).key
    assert jira.transition(key, to_category="done") == [
        "Start Progress",
        "Submit for Review",
        "Resolve",
    ]
    await jira.webhooks.drain()
    assert [r.json()["issue"]["fields"]["status"]["name"] for r in receiver.received] == [
        "Resolved"
    ]

    # an edit of a done issue fires as issue_updated; a label removal leaves the filter
    jira.edit(key, summary="Laptop (returned)")
    jira.remove_labels(key, "PeopleForce")
    await jira.webhooks.drain()
    assert [r.json()["issue_event_type_name"] for r in receiver.received] == [
        "issue_generic",
        "issue_updated",
    ]
    summary = [i for i in receiver.received[1].json()["changelog"]["items"]]
    assert summary[0]["fieldId"] == "summary" and summary[0]["toString"] == "Laptop (returned)"


async def test_unfiltered_webhook_sees_every_transition_and_the_move() -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver, jql="")
    jira: FakeJira = app.state.jira
    key = jira.create("IT", "Laptop").key
    jira.transition(key, to_category="done")
    jira.move(key, "HR")
    await jira.webhooks.drain()
    events = [r.json() for r in receiver.received]
    assert [e["issue_event_type_name"] for e in events] == ["issue_generic"] * 3 + ["issue_moved"]
    moved = events[-1]
    assert moved["issue"]["key"] == "HR-1" and moved["issue"]["id"] == "10000"
    assert {i["fieldId"] for i in moved["changelog"]["items"]} >= {"project", "issuekey"}
    identifiers = {r.headers["x-atlassian-webhook-identifier"] for r in receiver.received}
    assert len(identifiers) == 4


async def test_rest_transitions_by_the_gateway_fire_too() -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver)
    jira: FakeJira = app.state.jira
    key = jira.create("HR", "t", labels=["PeopleForce"]).key
    async with client_for(app) as client:
        r = await client.post(
            f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "31"}}
        )
        assert r.status_code == 204
    await jira.webhooks.drain()
    [got] = receiver.received
    assert got.json()["user"]["accountId"] == jira.bot.account_id


async def test_retries_on_500_with_same_identifier_and_retry_header() -> None:
    receiver, app = await deliver_done_issue([500, 503, 200])
    assert len(receiver.received) == 3
    ids = {r.headers["x-atlassian-webhook-identifier"] for r in receiver.received}
    assert len(ids) == 1
    assert [r.headers.get("x-atlassian-webhook-retry") for r in receiver.received] == [
        None,
        "1",
        "2",
    ]
    assert len({r.body for r in receiver.received}) == 1
    assert len({r.headers["x-hub-signature"] for r in receiver.received}) == 1
    log = app.state.jira.webhooks.log
    assert [(e.attempt, e.status, e.outcome) for e in log] == [
        (0, 500, "retried"),
        (1, 503, "retried"),
        (2, 200, "sent"),
    ]


@pytest.mark.parametrize("status", [408, 409, 425, 429, 502])
async def test_retryable_statuses(status: int) -> None:
    receiver, _app = await deliver_done_issue([status])
    assert len(receiver.received) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_no_retry_on_other_4xx(status: int) -> None:
    receiver, app = await deliver_done_issue([status])
    assert len(receiver.received) == 1
    [entry] = app.state.jira.webhooks.log
    assert (entry.status, entry.outcome) == (status, "failed")


async def test_gives_up_after_five_retries() -> None:
    receiver, app = await deliver_done_issue([500] * 10)
    assert len(receiver.received) == 6
    outcomes = [e.outcome for e in app.state.jira.webhooks.log]
    assert outcomes == ["retried"] * 5 + ["failed"]
    assert app.state.jira.webhooks.counters()["failed"] == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_errors_are_retried() -> None:
    app = create_jira_app(retry_delays=(0.01, 0.01))
    jira: FakeJira = app.state.jira
    jira.webhooks.register(f"http://127.0.0.1:{free_port()}/hook", secret="x")
    done_issue(jira)
    await jira.webhooks.drain()
    log = jira.webhooks.log
    assert [e.outcome for e in log] == ["retried", "retried", "failed"]
    assert all(e.status is None and e.error and "connection" in e.error for e in log)


async def test_total_drop_delivers_nothing_and_logs_drops() -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver)
    jira: FakeJira = app.state.jira
    jira.webhooks.set_faults(drop_rate=1.0)
    for _ in range(3):
        done_issue(jira)
    await jira.webhooks.drain()
    assert receiver.received == []
    assert [e.outcome for e in jira.webhooks.log] == ["dropped"] * 3
    assert jira.webhooks.counters()["dropped"] == 3


async def test_duplicates_carry_the_same_identifier_and_bytes() -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver)
    jira: FakeJira = app.state.jira
    jira.webhooks.set_faults(duplicate_rate=1.0, duplicate_count=2)
    done_issue(jira)
    await jira.webhooks.drain()
    assert len(receiver.received) == 3
    assert len({r.headers["x-atlassian-webhook-identifier"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    assert sorted(e.outcome for e in jira.webhooks.log) == ["duplicate", "duplicate", "sent"]


async def test_delay_holds_deliveries_back() -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver)
    jira: FakeJira = app.state.jira
    jira.webhooks.set_faults(delay=(0.15, 0.2))
    done_issue(jira)
    assert await jira.webhooks.deliver_due() == 0
    started = time.monotonic()
    await jira.webhooks.drain()
    assert time.monotonic() - started >= 0.1
    assert len(receiver.received) == 1


async def delivered_order(seed: int) -> tuple[list[str], list[str]]:
    receiver = Receiver()
    app = jira_with_receiver(receiver, jql="", seed=seed)
    jira: FakeJira = app.state.jira
    jira.webhooks.set_faults(reorder=True)
    keys = [jira.create("HR", f"t{i}").key for i in range(8)]
    for key in keys:
        jira.transition(key, "Done")
    await jira.webhooks.drain()
    return keys, [r.json()["issue"]["key"] for r in receiver.received]


async def test_reorder_shuffles_the_queue_reproducibly() -> None:
    keys, first = await delivered_order(7)
    _, second = await delivered_order(7)
    assert first == second
    assert sorted(first) == sorted(keys)
    assert first != keys


async def test_registration_over_rest(clock: FakeClock) -> None:
    receiver = Receiver()
    app = create_jira_app(clock=clock, webhook_transport=receiver.transport)
    async with client_for(app) as client:
        r = await client.post(
            "/rest/webhooks/1.0/webhook",
            json={
                "name": "PF-Jira Sync: Task Completion Return Vector",
                "url": "http://receiver.test/hook",
                "events": ["jira:issue_updated"],
                "filters": {
                    "issue-related-events-section": "labels = PeopleForce AND statusCategory = Done"
                },
                "excludeBody": False,
                "secret": "topsecret",
            },
        )
        assert r.status_code == 201
        hook = r.json()
        assert hook["self"].startswith("http://jira.test/rest/webhooks/1.0/webhook/")
        assert "secret" not in hook
        listed = (await client.get("/rest/webhooks/1.0/webhook")).json()
        assert [h["name"] for h in listed] == ["PF-Jira Sync: Task Completion Return Vector"]

        done_issue(app.state.jira)
        await app.state.jira.webhooks.drain()
        [got] = receiver.received
        assert got.headers["x-hub-signature"] == sign("topsecret", got.body)

        hook_id = hook["self"].rsplit("/", 1)[1]
        assert (await client.delete(f"/rest/webhooks/1.0/webhook/{hook_id}")).status_code == 204
        assert (await client.get("/rest/webhooks/1.0/webhook")).json() == []
        assert (await client.delete(f"/rest/webhooks/1.0/webhook/{hook_id}")).status_code == 404
        bad = await client.post(
            "/rest/webhooks/1.0/webhook",
            json={"url": "http://x/", "filters": {"issue-related-events-section": "summary ~ x"}},
        )
        assert bad.status_code == 400
        assert (await client.get("/rest/webhooks/1.0/webhook", auth=None)).status_code == 401


async def test_faults_and_log_over_the_control_plane() -> None:
    receiver = Receiver()
    app = jira_with_receiver(receiver)
    async with client_for(app, auth=None) as client:
        r = await client.post("/_fake/webhooks/faults", json={"drop_rate": 1.0})
        assert r.json()["drop_rate"] == 1.0
        done_issue(app.state.jira)
        await client.post("/_fake/webhooks/drain", json={"timeout": 5})
        log = (await client.get("/_fake/webhooks/log")).json()
        assert [d["outcome"] for d in log["deliveries"]] == ["dropped"]
        assert log["counters"]["dropped"] == 1
        assert set(log["deliveries"][0]) >= {
            "identifier",
            "webhook_id",
            "issue_id",
            "event",
            "attempt",
            "status",
            "outcome",
            "at",
        }
        cleared = (await client.delete("/_fake/webhooks/faults")).json()
        assert cleared["drop_rate"] == 0.0
        assert (
            await client.post("/_fake/webhooks/faults", json={"drop_rate": 2})
        ).status_code == 422
        added = await client.post(
            "/_fake/webhooks", json={"url": "http://receiver.test/hook", "jql": None}
        )
        assert added.status_code == 201
        state = (await client.get("/_fake/webhooks")).json()
        assert len(state["webhooks"]) == 2


async def test_background_delivery_over_loopback() -> None:
    """Both sides on real sockets: the app's lifespan task delivers without a drain."""
    receiver = Receiver()
    with FakeServer(receiver.app) as hook_server:
        app = create_jira_app(
            webhook_url=f"{hook_server.url}/hook", webhook_secret="loop", retry_delays=(0.05,)
        )
        with FakeServer(app) as jira_server:
            async with httpx.AsyncClient(base_url=jira_server.url) as control:
                created = await control.post(
                    "/_fake/issues",
                    json={"project": "HR", "summary": "Loop", "labels": ["PeopleForce"]},
                )
                key = created.json()["key"]
                moved = await control.post(
                    f"/_fake/issues/{key}/transition", json={"to_category": "done"}
                )
                assert moved.json()["transitions"] == ["Done"]
            deadline = time.monotonic() + 5
            while not receiver.received and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
    [got] = receiver.received
    assert got.headers["x-hub-signature"] == sign("loop", got.body)
    assert got.json()["issue"]["key"] == key
