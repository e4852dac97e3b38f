"""Each scenario FAILS when the mechanism behind its guarantee is switched off.

Mechanisms are disabled from outside the gateway: a harness knob, or a
monkeypatched gateway function in this process (the in-process workers run here).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import gateway.sync.completion as completion
import gateway.sync.inbound as inbound
import gateway.sync.issue_writes as issue_writes
import gateway.sync.sweeper as sweeper
import gateway.sync.tick as tick
import gateway.sync.tick_context as tick_context
import gateway.worker as worker
from gateway.clients.errors import TransientUpstreamError
from gateway.clients.models import StopReason
from gateway.clients.peopleforce import PeopleForceClient, RawTaskPage
from gateway.clients.retry import RetryPolicy
from gateway.models import EventType
from gateway.sync.breaker import Breaker
from gateway.sync.mappings import TARGET_FIELDS
from gateway.sync.orphans import OrphanSearch
from gateway.sync.tick_context import TickContext
from scenarios import Knobs, ScenarioResult, late_completion, run_scenario


def failed(result: ScenarioResult, check: str) -> bool:
    return not result.passed and any(c.name == check and not c.ok for c in result.checks)


def run_failing(
    name: str, *checks: str, tasks: int = 8, knobs: Knobs | None = None
) -> ScenarioResult:
    """Run scenario ``name`` with seed 1 and assert that it fails each of ``checks``."""
    result = run_scenario(name, seed=1, tasks=tasks, knobs=knobs)
    for check in checks:
        assert failed(result, check), check
    return result


def test_lost_webhooks_without_the_sweep_fails() -> None:
    result = run_failing(
        "lost-webhooks",
        "every pair agrees after one sweep",
        "repairs equal losses",
        knobs=Knobs(skip_sweep=True),
    )
    assert result.disagreements > 0


def test_long_downtime_without_the_sweep_fails() -> None:
    run_failing(
        "long-downtime", "every pair agrees after the first sweep", knobs=Knobs(skip_sweep=True)
    )


def test_crash_without_the_orphan_search_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_search(self: OrphanSearch, states: Any) -> None:
        # Conclude "no orphan" for every pending create without looking for one.
        self.searched.update(s.pf_task_id for s in states)

    monkeypatch.setattr(OrphanSearch, "search", no_search)
    result = run_failing(
        "crash-mid-create", "one issue per task", tasks=6, knobs=Knobs(crash="lost-response")
    )
    assert max(result.issues_per_task) >= 2


def test_duplicates_without_dedupe_and_idempotence_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    original = inbound._reconcile

    async def forgetful(deps: Any, ledger: Any, domain: Any, issue: Any, state: Any, source: Any):
        state.is_completed = False  # as if nothing recorded the completion
        return await original(deps, ledger, domain, issue, state, source)

    monkeypatch.setattr(inbound, "_reconcile", forgetful)
    run_failing(
        "duplicate-deliveries",
        "each delivery queued once",
        "one completion write per task",
        tasks=6,
        knobs=Knobs(fresh_delivery_ids=True),
    )


def test_fresh_identifiers_alone_are_caught_by_the_dedupe_check() -> None:
    """Idempotent jobs still write once; the scenario still reports the lost dedupe."""
    result = run_failing(
        "duplicate-deliveries",
        "each delivery queued once",
        tasks=6,
        knobs=Knobs(fresh_delivery_ids=True),
    )
    assert not failed(result, "one completion write per task")


def test_echo_loop_without_change_detection_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash never matches and every mapped field counts as changed: ticks write at rest."""
    monkeypatch.setattr(tick, "unchanged", lambda s, d: False)
    monkeypatch.setattr(tick, "unchanged_entry", lambda entry, digest: False)
    monkeypatch.setattr(
        issue_writes,
        "diff_fields",
        lambda old, new: {k: v for k, v in new.items() if k not in TARGET_FIELDS},
    )
    result = run_failing("echo-loop", "zero writes at rest", tasks=6)
    assert result.at_rest_writes > 0


def test_storm_ignoring_retry_after_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def impatient(self: RetryPolicy, attempt: int, previous: Any, retry_after: Any) -> float:
        return self.backoff(attempt, previous)

    monkeypatch.setattr(RetryPolicy, "delay", impatient)
    run_failing("rate-limit-storm", "no request before its Retry-After elapsed", tasks=6)


def test_late_deliveries_acting_on_the_done_snapshot_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job trusts the "done" a delivery carried instead of the issue's current status."""
    original = inbound._reconcile
    done = {"name": "Done", "statusCategory": {"key": "done"}}

    async def on_the_event(
        deps: Any, ledger: Any, domain: Any, issue: Any, state: Any, source: Any
    ):
        stale = issue.model_copy(update={"fields": {**issue.fields, "status": done}})
        return await original(deps, ledger, domain, stale, state, source)

    monkeypatch.setattr(inbound, "_reconcile", on_the_event)
    run_failing("late-and-reordered", "a done arriving after a reopen changes nothing", tasks=10)


def test_partition_read_as_a_complete_listing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing PeopleForce could not serve ends as if complete: open tasks look finished."""
    original = PeopleForceClient.iter_raw_pages

    async def forgiving(self: PeopleForceClient, completed: bool = False, **kwargs: Any):
        try:
            async for page in original(self, completed, **kwargs):
                yield page
        except TransientUpstreamError:
            yield RawTaskPage(
                page=1,
                pages=1,
                count=0,
                items=[],
                response=httpx.Response(200),
                stop_reason=StopReason.EMPTY_PAGE,
            )

    # Every listing (the tick's raw pages and the parsed ones built on them) goes through it.
    monkeypatch.setattr(PeopleForceClient, "iter_raw_pages", forgiving)
    run_failing("peopleforce-partition", "ticks failed while partitioned")


def test_jira_partition_without_job_retries_or_sweep_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook jobs that meet the partition give up at once and no sweep repairs them.

    Either mechanism alone carries Jira's completions over (the scenario passes with
    only one of them off), so both are switched off.
    """
    monkeypatch.setattr(worker, "INBOUND_MAX_TRIES", 1)
    run_failing("jira-partition", "completion agrees", tasks=9, knobs=Knobs(skip_sweep=True))


def test_deleted_issue_kept_mapped_is_never_recreated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway audits the 404 but keeps the stale mapping, so nothing is recreated."""

    async def keep_mapping(self: TickContext, state: Any) -> None:
        await self.ledger.record(
            EventType.ISSUE_DELETED, "mapped issue gone; mapping kept", state=state
        )

    monkeypatch.setattr(TickContext, "forget_deleted_issue", keep_mapping)
    run_failing("issue-deleted-in-jira", "recreated exactly once", "one issue per task")


def test_schema_drift_without_dead_letters_retries_every_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refused create is not dead-lettered: it stays pending and is sent again each tick."""

    async def no_dead_letter(self: TickContext, *args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(TickContext, "dead_letter", no_dead_letter)
    run_failing(
        "schema-drift",
        "exactly the affected tasks dead-lettered",
        "dead tasks are not retried every tick",
    )


def test_concurrent_ticks_without_job_ids_or_locks_collide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three ticks per beat under distinct job ids, and no tick or task lock.

    Tasks are then worked by two workers at once. Duplicate issues still do not
    appear here: the unique (domain, task) row written before each create stops
    the second tick first, a last line of defence under the locks.
    """
    import uuid
    from contextlib import asynccontextmanager

    from sqlmodel import Session, select

    import gateway.worker
    from gateway.models import DomainConfig
    from gateway.sync.scheduler import TICK_JOB

    @asynccontextmanager
    async def no_lock(*_args: Any, **_kwargs: Any) -> Any:
        yield

    async def eager(engine: Any, redis: Any, **_options: Any) -> list[str]:
        with Session(engine) as session:
            domains = [d.id for d in session.exec(select(DomainConfig)) if d.is_active]
        queued = []
        for domain_id in domains:
            for _ in range(3):
                job_id = f"tick-{uuid.uuid4().hex}"
                await redis.enqueue_job(TICK_JOB, domain_id, _job_id=job_id)
                queued.append(job_id)
        return queued

    monkeypatch.setattr(tick, "domain_job_lock", no_lock)
    monkeypatch.setattr(tick_context, "task_lock", no_lock)
    monkeypatch.setattr(inbound, "task_lock", no_lock)
    monkeypatch.setattr(gateway.worker, "enqueue_due_work", eager)
    run_failing(
        "concurrent-workers",
        "no task processed twice concurrently",
        knobs=Knobs(workers="inprocess"),
    )


def test_killed_worker_without_recovery_wedges_the_domain() -> None:
    """Workers that never release a dead worker's jobs and locks: ARQ's 610 s marker and
    the tick lock keep the domain from ticking long past the bound."""
    result = run_scenario("worker-killed-anywhere", seed=1, tasks=45, knobs=Knobs(recovery=False))
    assert failed(result, "domain ticked within the bound after every kill")


def test_redis_restart_on_arqs_own_loop_fails() -> None:
    """Workers on ARQ's run loop exit at the first Redis error; nothing restarts Redis."""
    result = run_scenario("redis-restart", seed=1, tasks=24, knobs=Knobs(recovery=False))
    assert failed(result, "no worker exited")
    assert failed(result, "the gateway restarted Redis after every kill")


def test_database_outage_without_the_503_handlers_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API without its outage handlers answers 500 while the database is unusable."""
    import gateway.api.app

    monkeypatch.setattr(gateway.api.app, "install_outage_handlers", lambda app: None)
    result = run_scenario("database-restart", seed=1, tasks=12)
    assert failed(result, "admin API answered 503 during every outage")


def test_poison_task_without_parking_repeats_the_edit_every_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refused edit is recorded as failed but not dead-lettered: it goes out every tick."""

    async def no_park(self: TickContext, *args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(TickContext, "park", no_park)
    run_failing(
        "poison-task",
        "the poison task is dead-lettered once",
        "zero Jira requests for the poison task over 10 ticks",
    )


def test_credentials_revoked_without_the_breaker_keeps_hammering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The breaker never opens: every tick sends its writes again and each one is refused."""

    async def never_open(self: Breaker, reason: str) -> None:
        return None

    monkeypatch.setattr(Breaker, "open", never_open)
    run_failing(
        "credentials-revoked",
        "the breaker opens within 3 ticks (Jira)",
        "at most 3 failed writes to Jira",
        "no request to jira while open",
        "one alert when the breaker opens",
    )


def test_sweep_overflow_with_a_silent_cap_moves_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cap is hit but not noted: the sweep looks complete and its window moves on."""
    monkeypatch.setattr(sweeper, "note_cap", lambda report, max_pages: None)
    run_failing(
        "sweep-overflow",
        "the capped sweep says so",
        "the window does not advance",
        "a metric counts it",
        tasks=16,
    )


def test_late_completion_with_a_fixed_page_cap_is_never_confirmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The old behaviour: 100 completed pages at most, and the same scan again every tick."""

    async def every_tick(tick: Any, state: Any, max_pages: int) -> None:
        await tick.ledger.record(EventType.FAILED, "not found; retried next tick", state=state)

    monkeypatch.setattr(completion, "completed_scan_pages", lambda tick: 100)
    monkeypatch.setattr(completion, "hold_unconfirmed", every_tick)
    run_failing(
        "late-completion",
        "the old task's issue is done after one tick",
        f"no completed page read in the next {late_completion.QUIET_TICKS} ticks",
        tasks=4,
    )
