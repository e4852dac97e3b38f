"""Burst rate limits: 429 with Jira's headers, per tenant and per issue, JSON or HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from fakes.jira import RateLimits, create_jira_app, ratelimit
from tests.fakes.jira.support import client_for, issue_body


@pytest.fixture(autouse=True)
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The windows slide on time.monotonic. Held still, a loaded machine cannot let a
    request leave its window before the next one arrives (CI once saw 9, 9, 8 where
    three reads within a second leave 9, 8, 7): each test's requests fall in one window."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: 1000.0))


async def test_off_by_default() -> None:
    app = create_jira_app()
    async with client_for(app) as client:
        statuses = {(await client.get("/rest/api/3/myself")).status_code for _ in range(120)}
    assert statuses == {200}


async def test_tenant_burst_limit_answers_429_with_headers() -> None:
    app = create_jira_app(
        enforce_rate_limits=True, rate_limits=RateLimits(read_per_second=5, write_per_second=2)
    )
    async with client_for(app) as client:
        answers = [await client.get("/rest/api/3/myself") for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 5 + [429]
        limited = answers[-1]
        assert limited.headers["ratelimit-reason"] == "jira-burst-based"
        retry_after = int(limited.headers["retry-after"])
        assert retry_after >= 1
        assert limited.headers["x-ratelimit-limit"] == "5"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        reset = datetime.fromisoformat(limited.headers["x-ratelimit-reset"].replace("Z", "+00:00"))
        assert reset.tzinfo is not None and reset >= datetime.now(UTC).replace(microsecond=0)
        assert limited.json()["errorMessages"]
        assert answers[-2].headers.get("x-ratelimit-nearlimit") == "true"
        # the control plane is never limited, and writes have their own budget
        assert (await client.get("/_fake/state")).status_code == 200
        created = await client.post("/rest/api/3/issue", json=issue_body())
        assert created.status_code == 429  # POST counts with GET
    log = app.state.faults.requests
    assert [r.fault for r in log if r.status == 429][:1] == ["rate_limit"]


async def test_every_allowed_answer_states_the_budget_left_of_its_kind() -> None:
    app = create_jira_app(
        enforce_rate_limits=True, rate_limits=RateLimits(read_per_second=10, write_per_second=4)
    )
    app.state.jira.create("HR", "t")
    async with client_for(app) as client:
        reads = [await client.get("/rest/api/3/myself") for _ in range(3)]
        write = await client.put("/rest/api/3/issue/HR-1", json={"fields": {"summary": "s"}})
    assert [r.headers["x-ratelimit-limit"] for r in reads] == ["10"] * 3
    assert [r.headers["x-ratelimit-remaining"] for r in reads] == ["9", "8", "7"]
    assert "x-ratelimit-nearlimit" not in reads[-1].headers
    reset = datetime.fromisoformat(reads[0].headers["x-ratelimit-reset"].replace("Z", "+00:00"))
    assert reset.tzinfo is not None
    assert (write.headers["x-ratelimit-limit"], write.headers["x-ratelimit-remaining"]) == (
        "4",
        "3",
    )


async def test_off_the_answers_carry_no_budget() -> None:
    app = create_jira_app()
    async with client_for(app) as client:
        answer = await client.get("/rest/api/3/myself")
    assert "x-ratelimit-remaining" not in answer.headers


async def test_put_and_delete_have_a_separate_budget() -> None:
    app = create_jira_app(
        enforce_rate_limits=True,
        rate_limits=RateLimits(read_per_second=50, write_per_second=2, issue_write_windows=()),
    )
    app.state.jira.create("HR", "t")
    async with client_for(app) as client:
        puts = [
            (await client.put("/rest/api/3/issue/HR-1", json={"fields": {"summary": f"s{i}"}}))
            for i in range(3)
        ]
        assert [r.status_code for r in puts] == [204, 204, 429]
        assert (await client.get("/rest/api/3/issue/HR-1")).status_code == 200


async def test_per_issue_write_limit_counts_key_and_id_together() -> None:
    app = create_jira_app(
        enforce_rate_limits=True,
        rate_limits=RateLimits(issue_write_windows=((3, 2.0),)),
    )
    jira = app.state.jira
    jira.create("HR", "one")
    jira.create("HR", "two")
    async with client_for(app) as client:
        refs = ["HR-1", "10000", "hr-1", "HR-1"]
        statuses = []
        for ref in refs:
            r = await client.put(f"/rest/api/3/issue/{ref}/properties/k", json={"n": 1})
            statuses.append(r.status_code)
        assert statuses == [201, 200, 200, 429]
        r = await client.put("/rest/api/3/issue/HR-1", json={"fields": {"summary": "x"}})
        assert r.status_code == 429
        assert r.headers["ratelimit-reason"] == "jira-per-issue-on-write"
        assert int(r.headers["retry-after"]) >= 1
        other = await client.put("/rest/api/3/issue/HR-2", json={"fields": {"summary": "y"}})
        assert other.status_code == 204
        assert (await client.get("/rest/api/3/issue/HR-1")).status_code == 200


async def test_html_429_body() -> None:
    app = create_jira_app(
        enforce_rate_limits=True, html_429=True, rate_limits=RateLimits(read_per_second=1)
    )
    async with client_for(app) as client:
        await client.get("/rest/api/3/myself")
        r = await client.get("/rest/api/3/myself")
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("text/html")
    assert r.text.lstrip().startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError):
        r.json()


async def test_rate_limits_switch_over_the_control_plane() -> None:
    app = create_jira_app()
    async with client_for(app) as client:
        r = await client.post(
            "/_fake/rate-limits", json={"enabled": True, "read_per_second": 2, "html": False}
        )
        assert r.json()["enabled"] is True and r.json()["read_per_second"] == 2
        statuses = [(await client.get("/rest/api/3/myself")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        await client.post("/_fake/rate-limits", json={"enabled": False})
        assert (await client.get("/rest/api/3/myself")).status_code == 200
        assert (await client.get("/_fake/rate-limits")).json()["enabled"] is False


async def test_fault_plane_storm_speaks_jira() -> None:
    app = create_jira_app()
    app.state.faults.storm(1.0, retry_after=2)
    async with client_for(app) as client:
        r = await client.get("/rest/api/3/myself")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"
    assert r.headers["ratelimit-reason"] == "jira-burst-based"
    assert r.json() == {"errorMessages": ["Too Many Requests"], "errors": {}}
