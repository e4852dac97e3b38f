"""The fleet benchmark's tenants: each domain's requests reach, and are logged by, its own fakes."""

from __future__ import annotations

import time
from collections.abc import Generator

import httpx
import pytest

from bench.fleet_upstreams import FleetUpstreams
from gateway.clients.peopleforce import API_KEY_HEADER, TASKS_PATH
from gateway.demo.records import PF_KEY


@pytest.fixture
def fleet() -> Generator[FleetUpstreams]:
    upstreams = FleetUpstreams(2, page_size=10).start()
    try:
        yield upstreams
    finally:
        upstreams.stop()


def test_each_tenant_serves_its_own_tasks_and_logs_its_own_requests(
    fleet: FleetUpstreams,
) -> None:
    first, second = fleet.tenants
    first.pf.create_task("Only in the first tenant")
    headers = {API_KEY_HEADER: PF_KEY}

    with httpx.Client(timeout=30) as client:
        listed = [
            client.get(tenant.pf_url + TASKS_PATH, headers=headers).json()["data"]
            for tenant in (first, second, first)
        ]

    assert [len(data) for data in listed] == [1, 0, 1]
    # A fake logs a request as its answer goes out: the client can read the answer first.
    deadline = time.monotonic() + 10
    while len(first.pf_faults.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.path for r in first.pf_faults.requests] == [TASKS_PATH, TASKS_PATH]
    assert [r.path for r in second.pf_faults.requests] == [TASKS_PATH]
    counts = fleet.request_counts()
    assert [c["pf_reads"] for c in counts] == [2, 1]
    assert all(c["jira_creates"] == c["pf_writes"] == 0 for c in counts)


def test_a_path_outside_every_tenant_is_not_found(fleet: FleetUpstreams) -> None:
    base = fleet.tenants[0].pf_url.rsplit("/", 1)[0]

    with httpx.Client(timeout=30) as client:
        answers = [client.get(base + path).status_code for path in ("/d2/x", "/x", "/dx/y")]

    assert answers == [404, 404, 404]
    assert not any(t.pf_faults.requests for t in fleet.tenants)
