"""A prune after a story: every reader of the audit log still works, nothing resyncs.

The story makes a created, a completed, a dead-lettered and a swept task, lets 100
days pass, creates one more task, and prunes with the default 90-day window via
``gateway audit prune`` (the same code the worker's hourly job runs).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from gateway.admin.dashboard import dashboard_stats
from gateway.admin.task_trace import trace_task
from gateway.jobs import RECONCILE_JOB, SWEEP_JOB, reconcile_job_id, sweep_job_id
from gateway.models import EventType
from gateway.worker import cron_jobs, prune_audit_task
from tests.gateway.sync.test_cli_sync import gateway
from tests.world import World

PF_API = "/api/public/v3"
DAY = 86_400


async def _story(world: World) -> dict[str, int]:
    world.add_domain(pf_base_url=world.pf_server.url + PF_API)
    world.add_rule("Laptops to IT", [{"path": "title", "op": "contains", "value": "laptop"}],
                   project="IT", issue_type="Task", priority=20)  # fmt: skip
    tasks = {
        "lunch": world.pf.create_task("Welcome lunch")["id"],
        "desk": world.pf.create_task("Order desk")["id"],
    }
    await world.tick()
    world.pf.complete_task(tasks["lunch"])
    await world.tick()
    world.jira.require_field("IT", "Task", "customfield_10050", name="Cost centre")
    tasks["laptop"] = world.pf.create_task("Order laptop")["id"]
    await world.tick()
    await world.pool.enqueue_job(SWEEP_JOB, world.domain_id, _job_id=sweep_job_id(world.domain_id))
    await world.run_worker()
    world.advance(100 * DAY)
    tasks["chair"] = world.pf.create_task("Order chair")["id"]
    await world.tick()
    return tasks


async def _event_types(world: World, task_id: int) -> list[str]:
    trace = await trace_task(world.engine, world.settings, world.domain_id, task_id)
    return [event.event_type for event in trace.events]


async def test_readers_after_a_prune(world: World) -> None:
    tasks = await _story(world)
    laptop_before = await _event_types(world, tasks["laptop"])
    assert EventType.DEAD_LETTERED.value in laptop_before
    total_before = len(world.events())

    dry = gateway(world, "audit", "prune", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete" in dry.stdout and len(world.events()) == total_before

    pruned = gateway(world, "audit", "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "older than 90 days" in pruned.stdout and "deleted" in pruned.stdout
    assert 0 < len(world.events()) < total_before

    # The dashboard still knows what the last sweep repaired.
    with Session(world.engine) as session:
        (stats,) = dashboard_stats(session)
    assert stats.last_sweep_repaired == 0
    # The dead-lettered task keeps its whole trace; settled tasks lose only old events.
    assert await _event_types(world, tasks["laptop"]) == laptop_before
    lunch = await trace_task(world.engine, world.settings, world.domain_id, tasks["lunch"])
    assert lunch.events == [] and lunch.verdict.endswith("completed on both sides.")
    assert await _event_types(world, tasks["desk"]) == []
    assert await _event_types(world, tasks["chair"]) == [EventType.CREATED.value]

    # The sync flows do not lean on pruned events: an edit updates, nothing is recreated.
    world.pf.edit_task(tasks["desk"], title="Order standing desk")
    await world.tick()
    await world.pool.enqueue_job(
        RECONCILE_JOB, world.domain_id, _job_id=reconcile_job_id(world.domain_id)
    )
    await world.run_worker()
    assert await _event_types(world, tasks["desk"]) == [EventType.UPDATED.value]
    assert set(world.issues_by_task().values()) == {1}
    assert not world.events(EventType.REPAIRED_BY_RECONCILER.value)


async def test_the_hourly_job_prunes_with_the_installation_setting(world: World) -> None:
    await _story(world)
    assert "cron:prune_audit_task" in {job.name for job in cron_jobs(world.settings)}
    ctx: dict[str, Any] = {"settings": world.settings, "engine": world.engine}
    report = await prune_audit_task(ctx)
    assert report["retention_days"] == 90 and report["deleted"] > 0
    again = await prune_audit_task(ctx)
    assert again["deleted"] == 0

    forever: dict[str, Any] = {
        "settings": world.settings.model_copy(update={"audit_retention_days": 0}),
        "engine": world.engine,
    }
    world.advance(100 * DAY)
    kept = len(world.events())
    assert (await prune_audit_task(forever))["deleted"] == 0
    assert len(world.events()) == kept
