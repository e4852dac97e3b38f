"""Prefetch of the open list: the next page is requested while the current one is used.

Against the fake PeopleForce in-process; its fault plane holds page requests, so
the test, not the scheduler, decides what has happened when. No timing is asserted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import httpx
import pytest
from fastapi import FastAPI

from fakes.faults import FaultPlane, FaultyASGITransport
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app
from gateway.clients.models import StopReason
from gateway.clients.peopleforce import PeopleForceClient

PF_KEY = "pf-prefetch-key"
BASE_URL = "http://peopleforce.test/api/public/v3"
TASKS_ENDPOINT = "/api/public/v3/tasks"
PAGE_SIZE = 2
TASKS = 7  # four pages: 2 + 2 + 2 + 1
ABSENCE_WAIT = 1.0
"""How long the negative test waits for a request that must not come."""


@pytest.fixture
def pf_app() -> FastAPI:
    app = create_peopleforce_app(api_key=PF_KEY, page_size=PAGE_SIZE, seed=1)
    pf: FakePeopleForce = app.state.pf
    for n in range(TASKS):
        pf.create_task(f"Task {n}")
    return app


@pytest.fixture
def faults(pf_app: FastAPI) -> FaultPlane:
    return pf_app.state.faults


@pytest.fixture
async def pf(pf_app: FastAPI) -> AsyncIterator[PeopleForceClient]:
    async with httpx.AsyncClient(transport=FaultyASGITransport(pf_app)) as http:
        yield PeopleForceClient(http, BASE_URL, PF_KEY)


def list_requests(faults: FaultPlane) -> list[str]:
    return [r.path for r in faults.requests if r.path == TASKS_ENDPOINT]


async def test_the_next_page_is_requested_while_the_caller_holds_this_one(
    pf: PeopleForceClient, faults: FaultPlane
) -> None:
    listing = pf.iter_raw_pages(False, prefetch=True)
    async with aclosing(listing) as pages:
        first = await anext(pages)
        # Page 1 is in the caller's hands and it has not asked for more: hold whatever
        # comes next. Only a prefetch can bring page 2's request to the fake now.
        hold = faults.hold("GET", TASKS_ENDPOINT, stage="before")
        assert await hold.wait_held(1), "page 2 was not requested while page 1 was processed"
        hold.release()
        rest = [page async for page in pages]

    read = [first, *rest]
    assert [page.page for page in read] == [1, 2, 3, 4]
    assert read[-1].stop_reason is StopReason.LAST_PAGE
    ids = [read_page.task_id(item) for read_page in read for item in read_page.items]
    assert len(ids) == len(set(ids)) == TASKS
    assert len(list_requests(faults)) == 4, "prefetch never reads past the last page"


async def test_without_prefetch_nothing_is_requested_until_the_caller_asks(
    pf: PeopleForceClient, faults: FaultPlane
) -> None:
    listing = pf.iter_raw_pages(False, prefetch=False)
    async with aclosing(listing) as pages:
        await anext(pages)
        hold = faults.hold("GET", TASKS_ENDPOINT, stage="before")
        assert not await hold.wait_held(1, timeout=ABSENCE_WAIT)
        hold.release()
        rest = [page async for page in pages]
    assert [page.page for page in rest] == [2, 3, 4]


async def test_a_listing_left_early_drops_its_prefetch(
    pf: PeopleForceClient, faults: FaultPlane
) -> None:
    listing = pf.iter_raw_pages(False, prefetch=True)
    async with aclosing(listing) as pages:
        first = await anext(pages)
        hold = faults.hold("GET", TASKS_ENDPOINT, stage="before")
        assert await hold.wait_held(1)
    # Closing the listing cancelled the held request for page 2 and awaited it.
    hold.release()
    assert first.page == 1
    assert len(list_requests(faults)) == 1, "only page 1 was answered"


async def test_a_failed_prefetch_fails_the_page_that_needed_it(
    pf: PeopleForceClient, faults: FaultPlane
) -> None:
    listing = pf.iter_raw_pages(False, prefetch=True)
    async with aclosing(listing) as pages:
        first = await anext(pages)
        faults.refuse("GET", TASKS_ENDPOINT, 403, "no access to tasks")
        with pytest.raises(Exception, match="403"):
            await anext(pages)
    assert first.page == 1
