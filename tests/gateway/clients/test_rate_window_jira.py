"""The Jira client's rate window against the fake Jira enforcing a low burst limit.

Many creates at once, as an initial sync sends them: with the window Jira refuses
almost none, without it (a fixed number in flight above what the limit allows) it
refuses many. Real time passes here (the fake's limiter counts real seconds), a few
seconds per test; nothing asserts on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from fakes.jira import FakeJira, RateLimits, create_jira_app
from gateway.clients.errors import UpstreamError
from gateway.clients.jira import JiraClient
from gateway.clients.rate_window import RateWindow, Tuning
from gateway.clients.retry import RetryPolicy

BASE = "http://jira.test"
LIMIT = 20
LATENCY = 0.05
RUNNERS = 16
ISSUE = {"project": {"key": "HR"}, "issuetype": {"name": "Task"}}


@pytest.fixture
def app() -> FastAPI:
    app = create_jira_app(
        enforce_rate_limits=True,
        rate_limits=RateLimits(read_per_second=LIMIT, write_per_second=LIMIT),
    )
    app.state.faults.set_latency(LATENCY)
    return app


@pytest.fixture
def fake(app: FastAPI) -> FakeJira:
    return app.state.jira


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield http


def refusals(app: FastAPI) -> int:
    return sum(1 for r in app.state.faults.requests if r.status == 429)


async def create_many(client: JiraClient, count: int) -> list[UpstreamError]:
    """``count`` creates from ``RUNNERS`` runners sharing one queue, like a tick's."""
    pending = iter(range(count))
    failures: list[UpstreamError] = []

    async def runner() -> None:
        for n in pending:
            try:
                await client.create_issue({**ISSUE, "summary": f"task {n}"})
            except UpstreamError as error:
                failures.append(error)

    await asyncio.gather(*(runner() for _ in range(RUNNERS)))
    return failures


async def test_with_the_window_a_burst_of_creates_is_hardly_ever_refused(
    app: FastAPI, fake: FakeJira, http: httpx.AsyncClient
) -> None:
    window = RateWindow(cap=RUNNERS)
    client = JiraClient(http, BASE, fake.email, fake.api_token, window=window)
    failures = await create_many(client, 60)
    assert failures == []
    assert len(fake.issues) == 60
    assert refusals(app) <= 2
    assert window.intervals["read"] > 0  # paced to the limit the answers state


async def test_without_the_window_the_same_burst_is_refused_many_times(
    app: FastAPI, fake: FakeJira, http: httpx.AsyncClient
) -> None:
    once = RetryPolicy(max_attempts=1)
    client = JiraClient(http, BASE, fake.email, fake.api_token, policy=once)
    failures = await create_many(client, 60)
    assert refusals(app) >= 10
    assert {f.status for f in failures} == {429}


async def test_the_window_shrinks_on_the_limit_and_grows_back_after_it(
    app: FastAPI, fake: FakeJira, http: httpx.AsyncClient
) -> None:
    """Without pacing, AIMD alone: the refusals and the low budget shrink the window,
    successes with budget left grow it again, and every create lands."""
    window = RateWindow(cap=RUNNERS, tuning=Tuning(pace_fraction=0.0))
    client = JiraClient(http, BASE, fake.email, fake.api_token, window=window)
    failures = await create_many(client, 60)
    assert failures == []
    assert len(fake.issues) == 60
    history = list(window.history)
    drops = [i for i in range(1, len(history)) if history[i] < history[i - 1]]
    assert drops, history  # it shrank ...
    assert max(history[drops[0] :]) > history[drops[0]], history  # ... and grew again
    assert window.decreases >= 1
