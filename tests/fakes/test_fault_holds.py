"""Held requests and answers: a test, not the scheduler, decides who goes first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from fakes.faults import AnswerHold, FaultPlane, install_faults

WAIT = 10.0


def make_app(plane: FaultPlane, acted: list[str]) -> FastAPI:
    app = FastAPI()

    @app.post("/items/{item_id}/touch")
    def touch(item_id: str) -> dict[str, str]:
        acted.append(item_id)
        return {"touched": item_id}

    install_faults(app, plane)
    return app


@pytest.fixture
def acted() -> list[str]:
    return []


@pytest.fixture
def plane() -> FaultPlane:
    return FaultPlane(seed=1)


@pytest.fixture
async def client(plane: FaultPlane, acted: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(plane, acted))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        yield client


async def test_after_stage_lets_the_app_act_and_holds_its_answer(
    plane: FaultPlane, client: httpx.AsyncClient, acted: list[str]
) -> None:
    hold = plane.hold("POST", "/items/{item_id}/touch", stage="after")
    request = asyncio.create_task(client.post("/items/a/touch"))
    assert await hold.wait_held(1, timeout=WAIT)
    assert acted == ["a"], "the app acts before the answer is held"
    await asyncio.sleep(0.05)
    assert not request.done(), "the answer went out before the release"
    hold.release()
    response = await asyncio.wait_for(request, WAIT)
    assert response.json() == {"touched": "a"}
    assert hold.passed == 1 and hold.timed_out == 0


async def test_before_stage_holds_the_request_from_the_app(
    plane: FaultPlane, client: httpx.AsyncClient, acted: list[str]
) -> None:
    hold = plane.hold("POST", "/items/{item_id}/touch", stage="before")
    request = asyncio.create_task(client.post("/items/a/touch"))
    assert await hold.wait_held(1, timeout=WAIT)
    await asyncio.sleep(0.05)
    assert acted == [], "the app saw a held request"
    plane.release_holds()
    assert (await asyncio.wait_for(request, WAIT)).status_code == 200
    assert acted == ["a"]


async def test_a_barrier_lets_requests_for_one_path_through_in_pairs(
    plane: FaultPlane, client: httpx.AsyncClient, acted: list[str]
) -> None:
    hold = plane.hold("POST", "/items/{item_id}/touch", stage="before", parties=2)
    first = asyncio.create_task(client.post("/items/a/touch"))
    other_path = asyncio.create_task(client.post("/items/b/touch"))
    assert await hold.wait_held(2, timeout=WAIT)
    await asyncio.sleep(0.05)
    assert acted == [], "a request went through without its partner"
    second = asyncio.create_task(client.post("/items/a/touch"))
    await asyncio.wait_for(asyncio.gather(first, second), WAIT)
    assert sorted(acted) == ["a", "a"]
    assert not other_path.done(), "a request on another path is no partner"
    hold.release()
    await asyncio.wait_for(other_path, WAIT)
    assert hold.timed_out == 0


async def test_a_timeout_ends_the_wait_and_a_limit_bounds_what_is_held(
    plane: FaultPlane, client: httpx.AsyncClient, acted: list[str]
) -> None:
    hold = plane.hold("POST", "/items/{item_id}/touch", parties=2, timeout=0.05, limit=1)
    assert (await asyncio.wait_for(client.post("/items/a/touch"), WAIT)).status_code == 200
    assert hold.timed_out == 1
    assert (await asyncio.wait_for(client.post("/items/a/touch"), WAIT)).status_code == 200
    assert hold.held == 1, "past its limit a hold lets requests pass untouched"


async def test_clear_releases_every_hold(plane: FaultPlane, client: httpx.AsyncClient) -> None:
    hold = plane.hold("POST", "/items/{item_id}/touch")
    request = asyncio.create_task(client.post("/items/a/touch"))
    assert await hold.wait_held(1, timeout=WAIT)
    plane.clear()
    assert (await asyncio.wait_for(request, WAIT)).status_code == 200
    assert plane.hold_for("POST", "/items/a/touch") is None


def test_templates_match_one_segment_per_parameter() -> None:
    hold = AnswerHold("POST", "/rest/api/3/issue/{issue_id_or_key}/transitions")
    assert hold.claims("post", "/rest/api/3/issue/HR-1/transitions")
    assert not hold.claims("GET", "/rest/api/3/issue/HR-1/transitions")
    assert not hold.claims("POST", "/rest/api/3/issue/HR/1/transitions")
    assert not hold.claims("POST", "/rest/api/3/issue/HR-1/transitions/x")
    with pytest.raises(ValueError):
        AnswerHold("POST", "/x", parties=1)
