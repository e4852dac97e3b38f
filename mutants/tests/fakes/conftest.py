"""Fixtures shared by the fake-service tests: both fakes and clients for them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from fakes.clock import FakeClock
from fakes.faults import FaultyASGITransport
from fakes.jira import create_jira_app
from fakes.jira_human import FakeJira
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app
from tests.fakes.jira_fake_support import client_for

PF_KEY = "pf-test-key"
PF_PAGE_SIZE = 3


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pf_app(clock: FakeClock) -> FastAPI:
    """A fake PeopleForce with a tiny page size and three employees (ids 1-3)."""
    app = create_peopleforce_app(
        api_key=PF_KEY, page_size=PF_PAGE_SIZE, seed=1, clock=clock, forbidden_keys={"pf-no-perm"}
    )
    pf: FakePeopleForce = app.state.pf
    pf.add_employee("Olena Kovalenko", "olena@example.com", id=1)
    pf.add_employee("Marco Rossi", "marco@example.com", id=2)
    pf.add_employee("Zoë Łukasiewicz", "zoe@example.com", id=3)
    return app


@pytest.fixture
def pf(pf_app: FastAPI) -> FakePeopleForce:
    return pf_app.state.pf


@pytest.fixture
async def pf_client(pf_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client talking to the fake in-process, network faults included."""
    async with httpx.AsyncClient(
        transport=FaultyASGITransport(pf_app),
        base_url="http://peopleforce.test",
        headers={"X-API-KEY": PF_KEY},
    ) as client:
        yield client


@pytest.fixture
def app(clock: FakeClock) -> FastAPI:
    """A fake Jira on the shared clock."""
    return create_jira_app(clock=clock)


@pytest.fixture
def jira(app: FastAPI) -> FakeJira:
    return app.state.jira


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client talking to the fake Jira in-process."""
    async with client_for(app) as c:
        yield c
