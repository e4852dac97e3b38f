"""PeopleForceClient edge cases: every pagination stop, early exit, errors, secrecy."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx

from gateway.clients.errors import (
    PermanentUpstreamError,
    TransientUpstreamError,
    TruncatedListingError,
    UpstreamProtocolError,
)
from gateway.clients.models import StopReason
from gateway.clients.peopleforce import PeopleForceClient

from .conftest import PF_BASE, PF_KEY, RecordingSleep

TASKS = f"{PF_BASE}/tasks"


def task(task_id: int, **extra: Any) -> dict[str, Any]:
    return {"id": task_id, "title": f"Task {task_id}", "completed": False, **extra}


def page_body(ids: list[int] | None, pages: int | None = None, *, flat: bool = False) -> dict:
    body: dict[str, Any] = {"data": None if ids is None else [task(i) for i in ids]}
    if pages is not None:
        body["metadata"] = {"pages": pages} if flat else {"pagination": {"pages": pages}}
    return body


def serve_pages(mock: respx.MockRouter, pages: dict[int, dict], *, completed: bool = False):
    """Answer ``GET /tasks?page=N`` from a dict; unknown pages answer an empty list."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["completed"] == ("true" if completed else "false")
        number = int(request.url.params["page"])
        return httpx.Response(200, json=pages.get(number, {"data": []}))

    return mock.get(TASKS).mock(side_effect=handler)


async def collect(pf: PeopleForceClient, **kwargs: Any) -> list:
    return [page async for page in pf.iter_task_pages(**kwargs)]


async def test_stops_on_last_page_nested_metadata(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    route = serve_pages(mock, {n: page_body([n * 10, n * 10 + 1], pages=3) for n in (1, 2, 3)})
    pages = await collect(pf)
    assert route.call_count == 3
    assert [p.page for p in pages] == [1, 2, 3]
    assert pages[-1].stop_reason is StopReason.LAST_PAGE
    assert request_header(route, "X-API-KEY") == PF_KEY


def request_header(route: respx.Route, name: str) -> str:
    return route.calls.last.request.headers[name]


async def test_stops_on_last_page_flat_metadata(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    route = serve_pages(mock, {n: page_body([n], pages=2, flat=True) for n in (1, 2, 3)})
    pages = await collect(pf)
    assert route.call_count == 2
    assert pages[-1].stop_reason is StopReason.LAST_PAGE


async def test_stops_on_empty_page_without_metadata(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    route = serve_pages(mock, {1: page_body([1, 2]), 2: page_body([3]), 3: page_body([])})
    pages = await collect(pf)
    assert route.call_count == 3
    assert pages[-1].stop_reason is StopReason.EMPTY_PAGE
    assert [t.id for p in pages for t in p.tasks] == [1, 2, 3]


async def test_stops_on_null_data(pf: PeopleForceClient, mock: respx.MockRouter) -> None:
    route = serve_pages(mock, {1: page_body(None, pages=0)})
    assert await pf.list_open_tasks() == []
    assert route.call_count == 1


async def test_stops_at_cap_and_refuses_a_partial_open_list(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    route = serve_pages(mock, {n: page_body([n], pages=1000) for n in range(1, 1001)})
    pages = await collect(pf, max_pages=3)
    assert route.call_count == 3
    assert pages[-1].stop_reason is StopReason.CAP
    with pytest.raises(TruncatedListingError):
        await pf.list_open_tasks(max_pages=3)


async def test_server_ignoring_page_parameter_is_detected(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    route = mock.get(TASKS).mock(return_value=httpx.Response(200, json=page_body([5, 4])))
    pages = await collect(pf)
    assert route.call_count == 2
    assert pages[-1].stop_reason is StopReason.REPEATED_PAGE
    with pytest.raises(TruncatedListingError):
        await pf.list_open_tasks()


async def test_open_list_deduplicates_tasks_shifted_between_pages(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    serve_pages(mock, {1: page_body([9, 8], pages=2), 2: page_body([8, 7], pages=2)})
    tasks = await pf.list_open_tasks()
    assert [t.id for t in tasks] == [9, 8, 7]


async def test_task_keeps_the_raw_dict(pf: PeopleForceClient, mock: respx.MockRouter) -> None:
    raw = task(
        1,
        description="<p>Hi</p>",
        assigned_to={"id": 3, "full_name": "Ann", "email": "ann@acme.test"},
        custom_field={"nested": [1, 2]},
    )
    mock.get(TASKS).mock(
        return_value=httpx.Response(200, json={"data": [raw], "metadata": {"pages": 1}})
    )
    [loaded] = await pf.list_open_tasks()
    assert loaded.raw == raw
    assert loaded.assigned_to is not None and loaded.assigned_to.email == "ann@acme.test"
    assert loaded.associated_to is None


async def test_find_completed_stops_once_all_ids_are_found(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    pages = {n: page_body([n * 100 + i for i in range(3)], pages=50) for n in range(1, 51)}
    route = serve_pages(mock, pages, completed=True)
    found = await pf.find_completed({101, 202})
    assert sorted(found) == [101, 202]
    assert route.call_count == 2


async def test_find_completed_reports_only_what_it_found(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    route = serve_pages(
        mock, {1: page_body([1, 2], pages=2), 2: page_body([3], pages=2)}, completed=True
    )
    assert sorted(await pf.find_completed({2, 99})) == [2]
    assert route.call_count == 2
    assert await pf.find_completed(set()) == {}
    assert route.call_count == 2


async def test_complete_task_is_retried(
    pf: PeopleForceClient, mock: respx.MockRouter, sleep: RecordingSleep
) -> None:
    route = mock.put(f"{PF_BASE}/tasks/5/complete").mock(
        side_effect=[httpx.Response(503), httpx.Response(200)]
    )
    await pf.complete_task(5)
    assert route.call_count == 2
    assert len(sleep.delays) == 1


async def test_incomplete_task(pf: PeopleForceClient, mock: respx.MockRouter) -> None:
    route = mock.put(f"{PF_BASE}/tasks/5/incomplete").mock(return_value=httpx.Response(200))
    await pf.incomplete_task(5)
    assert route.called


async def test_create_task_sends_name_and_reads_title(
    pf: PeopleForceClient, mock: respx.MockRouter
) -> None:
    route = mock.post(TASKS).mock(
        return_value=httpx.Response(200, json={"data": task(77, title="Laptop")})
    )
    created = await pf.create_task(name="Laptop", employee_id=7, ends_on="2026-11-09")
    assert created.id == 77 and created.title == "Laptop"
    assert json.loads(route.calls.last.request.content) == {
        "name": "Laptop",
        "employee_id": 7,
        "ends_on": "2026-11-09",
    }


async def test_create_task_is_not_retried(
    pf: PeopleForceClient, mock: respx.MockRouter, sleep: RecordingSleep
) -> None:
    route = mock.post(TASKS).mock(return_value=httpx.Response(503))
    with pytest.raises(TransientUpstreamError):
        await pf.create_task(name="x", employee_id=1)
    assert route.call_count == 1
    assert sleep.delays == []


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>Sign in</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"data": {"id": 1}}),
        httpx.Response(200, json={"data": [{"id": 1}]}),
        httpx.Response(200, json={"data": ["nope"]}),
    ],
)
async def test_unexpected_2xx_shapes_raise_protocol_errors(
    pf: PeopleForceClient, mock: respx.MockRouter, answer: httpx.Response
) -> None:
    mock.get(TASKS).mock(return_value=answer)
    with pytest.raises(UpstreamProtocolError):
        await pf.list_open_tasks()


async def test_credentials_never_reach_errors_or_logs(
    pf: PeopleForceClient, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"message": f"Bad Credentials for key {PF_KEY}"}
    mock.get(TASKS).mock(
        side_effect=[httpx.Response(502, text=f"<p>{PF_KEY}</p>"), httpx.Response(401, json=echo)]
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(PermanentUpstreamError) as caught:
        await pf.list_open_tasks()
    assert caught.value.status == 401
    assert PF_KEY not in str(caught.value)
    assert PF_KEY not in repr(caught.value)
    assert PF_KEY not in repr(pf)
    assert PF_KEY not in caplog.text
    assert caplog.records, "the retry should have been logged"
