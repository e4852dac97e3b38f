"""Each scenario FAILS when the mechanism behind its guarantee is switched off.

Mechanisms are disabled from outside the gateway: a harness knob, or a
monkeypatched gateway function in this process (the in-process workers run here).
"""

from __future__ import annotations

from typing import Any

import pytest

import gateway.sync.forward as forward
import gateway.sync.inbound as inbound
from gateway.clients.retry import RetryPolicy
from gateway.sync.routing import TARGET_FIELDS
from scenarios import Knobs, ScenarioResult, run_scenario


def failed(result: ScenarioResult, check: str) -> bool:
    return not result.passed and any(c.name == check and not c.ok for c in result.checks)


def test_lost_webhooks_without_the_sweep_fails() -> None:
    result = run_scenario("lost-webhooks", seed=1, tasks=8, knobs=Knobs(skip_sweep=True))
    assert failed(result, "every pair agrees after one sweep")
    assert failed(result, "repairs equal losses")
    assert result.disagreements > 0


def test_long_downtime_without_the_sweep_fails() -> None:
    result = run_scenario("long-downtime", seed=1, tasks=8, knobs=Knobs(skip_sweep=True))
    assert failed(result, "every pair agrees after the first sweep")


def test_crash_without_the_orphan_search_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_search(self: forward.ForwardSync, states: Any) -> None:
        # Conclude "no orphan" for every pending create without looking for one.
        self.orphan_searched.update(s.pf_task_id for s in states)

    monkeypatch.setattr(forward.ForwardSync, "_find_orphans", no_search)
    result = run_scenario("crash-mid-create", seed=1, tasks=6, knobs=Knobs(crash="lost-response"))
    assert failed(result, "one issue per task")
    assert max(result.issues_per_task) >= 2


def test_duplicates_without_dedupe_and_idempotence_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    original = inbound._reconcile

    async def forgetful(deps: Any, ledger: Any, domain: Any, issue: Any, state: Any, source: Any):
        state.is_completed = False  # as if nothing recorded the completion
        return await original(deps, ledger, domain, issue, state, source)

    monkeypatch.setattr(inbound, "_reconcile", forgetful)
    result = run_scenario(
        "duplicate-deliveries", seed=1, tasks=6, knobs=Knobs(fresh_delivery_ids=True)
    )
    assert failed(result, "each delivery queued once")
    assert failed(result, "one completion write per task")


def test_fresh_identifiers_alone_are_caught_by_the_dedupe_check() -> None:
    """Idempotent jobs still write once; the scenario still reports the lost dedupe."""
    result = run_scenario(
        "duplicate-deliveries", seed=1, tasks=6, knobs=Knobs(fresh_delivery_ids=True)
    )
    assert failed(result, "each delivery queued once")
    assert not failed(result, "one completion write per task")


def test_echo_loop_without_change_detection_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash never matches and every mapped field counts as changed: ticks write at rest."""
    monkeypatch.setattr(forward.ForwardSync, "_unchanged", staticmethod(lambda s, d: False))
    monkeypatch.setattr(
        forward,
        "diff_fields",
        lambda old, new: {k: v for k, v in new.items() if k not in TARGET_FIELDS},
    )
    result = run_scenario("echo-loop", seed=1, tasks=6)
    assert failed(result, "zero writes at rest")
    assert result.at_rest_writes > 0


def test_storm_ignoring_retry_after_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def impatient(self: RetryPolicy, attempt: int, previous: Any, retry_after: Any) -> float:
        return self.backoff(attempt, previous)

    monkeypatch.setattr(RetryPolicy, "delay", impatient)
    result = run_scenario("rate-limit-storm", seed=1, tasks=6)
    assert failed(result, "no request before its Retry-After elapsed")
