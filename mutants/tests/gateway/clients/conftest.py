"""Fixtures for client edge-case tests: respx-mocked HTTP and a sleep that only records."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from gateway.clients.jira import JiraClient
from gateway.clients.peopleforce import PeopleForceClient
from gateway.clients.retry import RetryEvent, RetryPolicy

PF_BASE = "https://acme.peopleforce.test/api/public/v3"
JIRA_BASE = "https://acme.atlassian.test"
PF_KEY = "pf-key-5ecret-abcdef123456"
JIRA_EMAIL = "bot@acme.test"
JIRA_TOKEN = "jira-token-5ecret-987654321"


class RecordingSleep:
    """Stands in for asyncio.sleep: remembers the delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def retry_events() -> list[RetryEvent]:
    return []


@pytest.fixture
def policy(sleep: RecordingSleep, retry_events: list[RetryEvent]) -> RetryPolicy:
    return RetryPolicy(sleep=sleep, rng=random.Random(7), on_retry=retry_events.append)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def pf(http: httpx.AsyncClient, policy: RetryPolicy) -> PeopleForceClient:
    return PeopleForceClient(http, PF_BASE, PF_KEY, policy=policy)


@pytest.fixture
def jira(http: httpx.AsyncClient, policy: RetryPolicy) -> JiraClient:
    return JiraClient(http, JIRA_BASE, JIRA_EMAIL, JIRA_TOKEN, policy=policy)
