"""The per-domain circuit breaker: a refused credential costs K failures, not a storm.

Runs the real worker against the fakes; the credential is revoked in the fake itself,
so every call answers 401 (Jira) or 401/403 (PeopleForce) as the real services do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from fakes.alerts import AlertReceiver
from gateway.admin.schemas import DomainOut
from gateway.api.app import create_app
from gateway.demo.records import JIRA_TOKEN, PF_KEY
from gateway.jobs import ISSUE_EVENT_JOB, SWEEP_JOB, sweep_job_id
from gateway.models import EventType
from gateway.monitoring.tick_status import read_tick_status
from tests.world import World

K = 3
PROBE_SECONDS = 300


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    hook = AlertReceiver()
    hook.server.start()
    try:
        yield hook
    finally:
        hook.server.stop()


def jira_writes(world: World, status: int | None = None) -> int:
    return sum(
        1
        for r in world.jira_faults.requests
        if r.method in ("POST", "PUT", "DELETE")
        and not r.endpoint.endswith("/search/jql")
        and (status is None or r.status == status)
    )


async def test_a_revoked_jira_token_opens_the_breaker_after_k_refused_writes(
    world: World, receiver: AlertReceiver
) -> None:
    world.settings = world.settings.model_copy(
        update={"notify_webhook_url": SecretStr(receiver.url), "breaker_threshold": K}
    )
    world.add_domain()
    tasks = [world.pf.create_task(f"Task {n}") for n in range(2)]
    await world.tick()
    world.jira.api_token = "revoked"
    for task in tasks:
        world.pf.edit_task(task["id"], title=task["title"] + " (edited)")
    new = [world.pf.create_task(f"New {n}") for n in range(6)]

    await world.tick()

    assert jira_writes(world, 401) == K
    domain = world.domain()
    assert domain.breaker_opened_at is not None and "jira" in (domain.breaker_reason or "")
    assert len(world.events(EventType.BREAKER_OPENED)) == 1
    assert [p["text"] for p in receiver.posts if "circuit breaker" in p["text"]] != []
    alerts = len(receiver.posts)

    world.reset_request_logs()
    for _ in range(3):
        await world.tick()
    assert world.jira_requests() == 0 and world.pf_list_requests() == 0
    assert (world.domain().last_tick_outcome or "").startswith("degraded")
    assert len(receiver.posts) == alerts, "the breaker alerts once, not every tick"

    world.jira.api_token = JIRA_TOKEN
    world.advance(PROBE_SECONDS + 60)
    await world.tick()
    assert world.domain().breaker_opened_at is None
    assert len(world.events(EventType.BREAKER_CLOSED)) == 1
    world.advance(60)
    await world.tick()  # creates of unknown outcome are searched for, then made
    summaries = {i["summary"] for i in world.issues()}
    assert {t["title"] + " (edited)" for t in tasks} <= summaries
    assert {t["title"] for t in new} <= summaries
    assert sum(world.issues_by_task().values()) == len(tasks) + len(new)


async def test_a_revoked_peopleforce_key_opens_the_breaker_within_k_ticks(world: World) -> None:
    world.settings = world.settings.model_copy(update={"breaker_threshold": K})
    world.add_domain()
    world.pf.create_task("Order laptop")
    await world.tick()
    world.pf.forbidden_keys.add(PF_KEY)

    for _ in range(K):
        await world.tick()

    domain = world.domain()
    assert domain.breaker_opened_at is not None and "peopleforce" in (domain.breaker_reason or "")
    world.reset_request_logs()
    await world.tick()
    assert world.pf_list_requests() == 0

    world.pf.forbidden_keys.discard(PF_KEY)
    world.advance(PROBE_SECONDS)
    await world.tick()
    assert world.domain().breaker_opened_at is None


async def test_a_success_between_refusals_keeps_the_breaker_closed(world: World) -> None:
    world.settings = world.settings.model_copy(update={"breaker_threshold": K})
    world.add_domain()
    world.pf.create_task("Order laptop")
    await world.tick()
    for _ in range(K + 1):
        world.pf.forbidden_keys.add(PF_KEY)
        await world.tick()
        world.pf.forbidden_keys.discard(PF_KEY)
        world.pf.create_task("Another task")
        await world.tick()
    assert world.domain().breaker_opened_at is None


async def test_the_sweep_waits_while_the_breaker_is_open(world: World) -> None:
    world.add_domain()
    world.update_domain(breaker_opened_at=world.now(), breaker_reason="jira refused")
    before = world.domain().last_sweep_at

    await world.pool.enqueue_job(SWEEP_JOB, world.domain_id, _job_id=sweep_job_id(world.domain_id))
    await world.run_worker()

    assert world.jira_requests() == 0
    assert world.domain().last_sweep_at == before
    assert world.events(EventType.SWEEP) == []


async def test_readyz_and_the_dashboard_show_an_open_breaker(world: World) -> None:
    world.add_domain()
    with TestClient(create_app(world.settings)) as client:
        assert "degraded_domains" not in client.get("/readyz").json()
        world.update_domain(breaker_opened_at=world.now(), breaker_reason="jira refused: 401")
        answer = client.get("/readyz")
    assert answer.status_code == 200, "a degraded domain does not make the API unready"
    assert answer.json()["degraded_domains"] == {"acme": "jira refused: 401"}
    out = DomainOut.of(world.domain())
    assert out.breaker_reason == "jira refused: 401" and out.breaker_opened_at is not None


async def test_k_creates_refused_with_400_and_none_accepted_open_the_breaker(world: World) -> None:
    world.settings = world.settings.model_copy(update={"breaker_threshold": K})
    world.add_domain()
    world.jira.require_field("HR", "Task", "priority")
    for n in range(K):
        world.pf.create_task(f"Task {n}")

    await world.tick()

    assert len([d for d in world.dead_letters() if d.error_status == 400]) == K
    domain = world.domain()
    assert domain.breaker_opened_at is not None and "400" in (domain.breaker_reason or "")
    world.pf.create_task("One more")
    world.reset_request_logs()
    await world.tick()
    assert world.jira_requests() == 0, "no create is sent into the same refusal"


async def test_creates_refused_one_a_tick_add_up_to_the_threshold(world: World) -> None:
    """A domain that gets one new task a tick meets a changed schema too: K refused creates
    in a row open the breaker even when no single tick saw K of them."""
    world.settings = world.settings.model_copy(update={"breaker_threshold": K})
    world.add_domain()
    world.jira.require_field("HR", "Task", "priority")
    for n in range(K):
        world.pf.create_task(f"Task {n}")
        await world.tick()
        opened = world.domain().breaker_opened_at is not None
        assert opened == (n == K - 1), f"after {n + 1} refused creates"
    assert "3 different creates" in (world.domain().breaker_reason or "")


async def test_an_accepted_create_starts_the_count_of_refusals_again(world: World) -> None:
    hr_refuses_creates_it_accepts_laptops(world)
    for title in ["Task 1", "Task 2", "Order laptop", "Task 3", "Task 4"]:
        world.pf.create_task(title)
        await world.tick()
    assert world.domain().breaker_opened_at is None
    assert world.domain().breaker_refused_creates == 2


async def test_refused_creates_beside_an_accepted_one_leave_the_breaker_closed(
    world: World,
) -> None:
    hr_refuses_creates_it_accepts_laptops(world)
    for n in range(K + 1):
        world.pf.create_task(f"Task {n}")
    world.pf.create_task("Order laptop")

    await world.tick()

    assert len(world.dead_letters()) == K + 1
    assert world.domain().breaker_opened_at is None


def hr_refuses_creates_it_accepts_laptops(world: World) -> None:
    """HR's schema refuses every create (a required field); laptops go to IT, which
    accepts them."""
    world.settings = world.settings.model_copy(update={"breaker_threshold": K})
    world.add_domain()
    world.add_rule(
        "laptops to IT",
        [{"path": "title", "op": "regex", "value": "laptop"}],
        project="IT",
        issue_type="Task",
        priority=10,
    )
    world.jira.require_field("HR", "Task", "priority")


def update_through_admin(world: World, **fields: Any) -> None:
    """The one domain-update implementation the CLI, API and UI share."""
    from sqlmodel import Session

    from gateway.admin.domains import get_domain, update_domain
    from gateway.admin.schemas import DomainUpdate

    with Session(world.engine) as session:
        update_domain(session, get_domain(session, world.domain_id), DomainUpdate(**fields))
        session.commit()


async def revoked_and_open(world: World) -> None:
    world.settings = world.settings.model_copy(update={"breaker_threshold": K})
    world.add_domain()
    world.jira.api_token = "revoked"
    for n in range(K + 2):
        world.pf.create_task(f"Task {n}")
    await world.tick()
    assert world.domain().breaker_opened_at is not None
    world.jira.api_token = JIRA_TOKEN  # the operator issued a new token in Jira...


async def test_entering_a_new_credential_probes_at_the_next_tick(world: World) -> None:
    await revoked_and_open(world)
    update_through_admin(world, jira_api_token=SecretStr(JIRA_TOKEN))  # ...and entered it

    await world.tick()

    assert world.domain().breaker_opened_at is None
    assert len(world.issues()) == K + 2


async def test_without_a_new_credential_the_breaker_waits_for_its_probe_time(
    world: World,
) -> None:
    await revoked_and_open(world)
    update_through_admin(world, poll_interval_seconds=120)  # not a credential

    await world.tick()

    domain = world.domain()
    assert domain.breaker_opened_at is not None
    assert world.issues() == []
    assert (domain.last_tick_outcome or "").startswith("degraded")
    status = await read_tick_status(world.pool, world.domain_id)
    assert status.report is not None
    assert status.report["summary"].startswith("nothing listed: circuit breaker open; next probe")


async def test_a_delivery_while_the_breaker_is_open_waits_for_the_sweep(world: World) -> None:
    world.add_domain()
    task = world.pf.create_task("Laptop")
    await world.tick()
    (issue,) = world.issues()
    world.jira.api_token = "revoked"
    world.update_domain(breaker_opened_at=world.now(), breaker_reason="jira refused: 401")
    world.jira.transition(issue["key"], to_category="done")
    world.reset_request_logs()

    await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, issue["id"])
    worker = await world.run_worker()

    # Nothing is sent into the refusal, and nothing is dead-lettered or alerted: the
    # delivery is not lost, the sweep covers its time once the breaker closes.
    assert worker.jobs_complete == 1 and world.jira_requests() == 0
    assert world.dead_letters() == []
    assert not world.pf.tasks[task["id"]]["completed"]

    world.jira.api_token = JIRA_TOKEN
    world.update_domain(breaker_opened_at=None, breaker_reason=None)
    await world.pool.enqueue_job(SWEEP_JOB, world.domain_id, _job_id=sweep_job_id(world.domain_id))
    await world.run_worker()
    assert world.pf.tasks[task["id"]]["completed"]
