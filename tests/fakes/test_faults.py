"""The fault plane: partitions over both transports, injected answers, the log, the controls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from fakes.clock import FakeClock
from fakes.faults import FaultPlane, FaultyASGITransport, fault_routes, install_faults
from fakes.server import FakeServer


def make_app(plane: FaultPlane) -> FastAPI:
    """A minimal service: one read route, one write route that counts its side effects."""
    app = FastAPI()
    app.state.writes = 0

    @app.get("/items/{item_id}")
    def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/items")
    def write_item() -> dict[str, int]:
        app.state.writes += 1
        return {"writes": app.state.writes}

    app.include_router(fault_routes(plane))
    install_faults(app, plane)
    return app


@pytest.fixture
def plane() -> FaultPlane:
    return FaultPlane(seed=7)


@pytest.fixture
def app(plane: FaultPlane) -> FastAPI:
    return make_app(plane)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=FaultyASGITransport(app), base_url="http://svc.test"
    ) as client:
        yield client


@dataclass
class Live:
    server: FakeServer
    plane: FaultPlane
    app: FastAPI


@pytest.fixture(scope="module")
def served() -> Iterator[Live]:
    """One loopback server for the module."""
    plane = FaultPlane(seed=7)
    app = make_app(plane)
    with FakeServer(app) as server:
        yield Live(server, plane, app)


@pytest.fixture
def live(served: Live) -> Iterator[Live]:
    """The module's server, with a clean plane and counter for each test."""
    served.plane.clear()
    served.plane.reset_log()
    served.app.state.writes = 0
    yield served
    served.plane.clear()


# -- the clock -------------------------------------------------------------------------


def test_clock_advances_instantly_and_stays_utc() -> None:
    clock = FakeClock()
    before = clock.now()
    clock.advance(3 * 86400)
    assert clock.now().tzinfo is UTC
    assert (clock.now() - before).total_seconds() >= 3 * 86400
    assert clock.offset == 3 * 86400
    clock.set_offset(-60)
    assert clock.offset == -60
    assert abs(clock.timestamp() - (before.timestamp() - 60)) < 5
    with pytest.raises(ValueError):
        clock.advance(-1)


# -- partitions over loopback uvicorn --------------------------------------------------


async def test_refused_partition_is_a_transport_error_over_loopback(live: Live) -> None:
    server, plane = live.server, live.plane
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/items/1")).status_code == 200  # keeps a live connection
        plane.partition("refuse")
        with pytest.raises(httpx.TransportError):
            await client.get("/items/1")
        with pytest.raises(httpx.TransportError):
            await client.post("/items")
    async with httpx.AsyncClient(base_url=server.url) as fresh:
        with pytest.raises(httpx.TransportError):
            await fresh.get("/items/2")
        assert (await fresh.get("/_fake/faults")).json()["partition"]["mode"] == "refuse"
        assert (await fresh.post("/_fake/faults/heal")).status_code == 200
        assert (await fresh.get("/items/2")).status_code == 200
    assert live.app.state.writes == 0
    counts = plane.counts()
    assert counts[("GET", "/items/{item_id}", 0)] == 2
    assert counts[("POST", "/items", 0)] == 1
    assert {r.fault for r in plane.requests if r.status == 0} == {"partition"}


async def test_timeout_partition_never_answers_and_drops_abandoned_requests(live: Live) -> None:
    server, plane = live.server, live.plane
    plane.partition("timeout")
    async with httpx.AsyncClient(base_url=server.url, timeout=0.3) as client:
        with pytest.raises(httpx.TimeoutException):
            await client.post("/items")
    for _ in range(100):  # the server notices the client left, while still partitioned
        if plane.requests:
            break
        await asyncio.sleep(0.01)
    plane.heal()
    await asyncio.sleep(0.05)
    assert live.app.state.writes == 0
    # The module's server is shared: the previous test's last answer can be logged just
    # after this test's fixture cleared the log (a request is logged as it is answered).
    [entry] = [r for r in plane.requests if r.method == "POST"]
    assert (entry.method, entry.endpoint, entry.status, entry.fault) == (
        "POST",
        "/items",
        0,
        "partition",
    )


async def test_timeout_partition_answers_once_healed_if_the_client_still_waits(live: Live) -> None:
    server, plane = live.server, live.plane
    plane.partition("timeout")
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        pending = asyncio.create_task(client.post("/items"))
        await asyncio.sleep(0.15)
        assert not pending.done()
        plane.heal()
        response = await pending
    assert response.status_code == 200
    assert live.app.state.writes == 1


def test_partition_expires_after_its_duration(plane: FaultPlane) -> None:
    plane.partition("refuse", duration=0.05)
    assert plane.partitioned
    assert plane.snapshot()["partition"]["mode"] == "refuse"
    time.sleep(0.06)
    assert not plane.partitioned
    assert plane.snapshot()["partition"] == {"active": False, "mode": None, "remaining": None}


# -- partitions over the in-process transport ------------------------------------------


async def test_refused_partition_over_asgi_is_a_connect_error(
    client: httpx.AsyncClient, plane: FaultPlane, app: FastAPI
) -> None:
    plane.partition("refuse")
    with pytest.raises(httpx.ConnectError):
        await client.post("/items")
    plane.heal()
    assert (await client.post("/items")).status_code == 200
    assert app.state.writes == 1
    assert plane.counts() == {("POST", "/items", 0): 1, ("POST", "/items", 200): 1}


async def test_timeout_partition_over_asgi_times_out_on_connect(
    client: httpx.AsyncClient, plane: FaultPlane, app: FastAPI
) -> None:
    plane.partition("timeout")
    with pytest.raises(httpx.ConnectTimeout):
        await client.post("/items", timeout=0.1)
    assert app.state.writes == 0
    assert plane.counts() == {("POST", "/items", 0): 1}


async def test_slow_answer_times_out_but_the_server_still_commits(
    client: httpx.AsyncClient, plane: FaultPlane, app: FastAPI
) -> None:
    plane.set_latency(0.2)
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/items", timeout=0.05)
    for _ in range(100):
        if app.state.writes:
            break
        await asyncio.sleep(0.01)
    assert app.state.writes == 1
    assert plane.counts() == {("POST", "/items", 200): 1}


# -- injected answers ------------------------------------------------------------------


async def test_error_rate_answers_with_a_proxy_html_page(
    client: httpx.AsyncClient, plane: FaultPlane, app: FastAPI
) -> None:
    plane.set_error_rate(1.0, status=503)
    response = await client.post("/items")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert app.state.writes == 0
    assert plane.requests[-1].fault == "error"

    plane.set_error_rate(1.0, status=500, html=False)
    response = await client.get("/items/1")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


async def test_error_after_commit_hides_a_side_effect_behind_a_5xx(
    client: httpx.AsyncClient, plane: FaultPlane, app: FastAPI
) -> None:
    plane.set_error_rate(1.0, status=504, after=True)
    response = await client.post("/items")
    assert response.status_code == 504
    assert app.state.writes == 1


async def test_storm_answers_429_with_retry_after(
    client: httpx.AsyncClient, plane: FaultPlane
) -> None:
    plane.storm(1.0, retry_after=2)
    response = await client.get("/items/1")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json() == {"message": "Too Many Requests"}

    plane.storm(1.0, retry_after=0.25, html=True)
    response = await client.get("/items/1")
    assert response.headers["retry-after"] == "0.25"
    assert "<title>429 Too Many Requests</title>" in response.text
    assert [r.fault for r in plane.requests] == ["storm", "storm"]

    plane.clear()
    assert (await client.get("/items/1")).status_code == 200


async def test_storm_over_loopback(live: Live) -> None:
    server, plane = live.server, live.plane
    plane.storm(1.0, retry_after=3)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/items/9")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"


def test_python_controls_reject_nonsense(plane: FaultPlane) -> None:
    with pytest.raises(ValueError):
        plane.set_error_rate(1.5)
    with pytest.raises(ValueError):
        plane.set_error_rate(0.5, status=200)
    with pytest.raises(ValueError):
        plane.storm(-0.1)
    with pytest.raises(ValueError):
        plane.set_latency(-1)
    with pytest.raises(ValueError):
        plane.partition(cast(Any, "sideways"))


# -- the request log -------------------------------------------------------------------


async def test_log_counts_by_route_template_and_skips_the_control_plane(
    client: httpx.AsyncClient, plane: FaultPlane
) -> None:
    await client.get("/items/1")
    await client.get("/items/2?expand=all")
    await client.get("/items/nope")
    await client.get("/missing")
    await client.delete("/items")
    await client.get("/_fake/faults")
    assert plane.counts() == {
        ("GET", "/items/{item_id}", 200): 2,
        ("GET", "/items/{item_id}", 422): 1,
        ("GET", "/missing", 404): 1,
        ("DELETE", "/items", 405): 1,
    }
    second = plane.requests[1]
    assert (second.path, second.query, second.fault) == ("/items/2", "expand=all", None)
    assert second.wall > 0 and second.at > 0

    log = (await client.get("/_fake/requests")).json()
    assert len(log["requests"]) == 5
    assert {"method": "GET", "endpoint": "/missing", "status": 404, "count": 1} in log["counts"]
    assert (await client.delete("/_fake/requests")).status_code == 200
    assert plane.requests == []


# -- the HTTP control plane ------------------------------------------------------------


async def test_control_routes_drive_the_plane(client: httpx.AsyncClient, plane: FaultPlane) -> None:
    snap = (await client.post("/_fake/faults/partition", json={"mode": "timeout"})).json()
    assert snap["partition"]["mode"] == "timeout"
    assert (await client.post("/_fake/faults/heal")).json()["partition"]["active"] is False
    body = {"rate": 0.5, "status": 502, "html": False}
    assert (await client.post("/_fake/faults/error-rate", json=body)).status_code == 200
    assert (plane.error_rate, plane.error_status, plane.error_html) == (0.5, 502, False)
    await client.post("/_fake/faults/latency", json={"seconds": 0.01})
    await client.post("/_fake/faults/storm", json={"rate": 0.1, "retry_after": 5})
    snap = (await client.get("/_fake/faults")).json()
    assert snap["latency"] == {"seconds": 0.01}
    assert snap["storm"] == {"rate": 0.1, "retry_after": 5.0, "html": False}
    snap = (await client.post("/_fake/faults/clear")).json()
    assert snap["error_rate"]["rate"] == snap["storm"]["rate"] == snap["latency"]["seconds"] == 0

    before = plane.clock.offset
    clock = (await client.post("/_fake/clock/advance", json={"seconds": 3600})).json()
    assert clock["offset"] == before + 3600
    assert clock["now"].endswith("Z")
    assert (await client.get("/_fake/clock")).json()["offset"] == before + 3600


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/_fake/faults/partition", {"mode": "sideways"}, "mode"),
        ("/_fake/faults/partition", {"duration": -1}, "duration"),
        ("/_fake/faults/error-rate", {"rate": 1.5}, "rate"),
        ("/_fake/faults/error-rate", {"rate": 0.5, "status": 200}, "status"),
        ("/_fake/faults/error-rate", {}, "rate"),
        ("/_fake/faults/latency", {"seconds": "slow"}, "seconds"),
        ("/_fake/faults/storm", {"rate": 0.5, "retry_afterr": 1}, "retry_afterr"),
        ("/_fake/clock/advance", {"seconds": -5}, "seconds"),
    ],
)
async def test_control_routes_reject_bad_input(
    client: httpx.AsyncClient, plane: FaultPlane, path: str, body: dict, field: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == field
    assert error["msg"]
    assert not plane.partitioned and plane.error_rate == 0 and plane.clock.offset == 0


# -- determinism -----------------------------------------------------------------------


async def _statuses(seed: int) -> list[int]:
    plane = FaultPlane(seed=seed)
    plane.set_error_rate(0.3, status=503)
    plane.storm(0.3)
    app = make_app(plane)
    async with httpx.AsyncClient(transport=FaultyASGITransport(app), base_url="http://t") as c:
        return [(await c.get("/items/1")).status_code for _ in range(40)]


async def test_same_seed_same_faults() -> None:
    first = await _statuses(11)
    assert first == await _statuses(11)
    assert first != await _statuses(12)
    assert set(first) == {200, 429, 503}


async def test_bare_asgi_transport_sees_a_reset_not_a_500(app: FastAPI, plane: FaultPlane) -> None:
    plane.partition("refuse")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(ConnectionResetError):
            await client.post("/items")
    assert app.state.writes == 0
    assert plane.counts() == {("POST", "/items", 0): 1}


async def test_stopping_drops_requests_held_by_a_timeout_partition(plane: FaultPlane) -> None:
    app = make_app(plane)
    server = FakeServer(app).start()
    plane.partition("timeout")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        pending = asyncio.create_task(client.post("/items"))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(server.stop)
        with pytest.raises(httpx.TransportError):
            await pending
    assert app.state.writes == 0
    assert plane.counts() == {("POST", "/items", 0): 1}
