"""Every scenario, at a small size, passes against the real gateway."""

from __future__ import annotations

import pytest

from scenarios import Knobs, run_scenario
from scenarios.runner import MODULES

SMALL = {
    "concurrent-workers": 8,
    "crash-mid-create": 6,
    "rate-limit-storm": 8,
    "worker-killed-anywhere": 45,
    "redis-restart": 24,
    "database-restart": 18,
}


@pytest.mark.parametrize("name", [m.replace("_", "-") for m in MODULES])
def test_scenario_passes(name: str) -> None:
    result = run_scenario(name, seed=7, tasks=SMALL.get(name, 10))
    assert result.passed, (result.reasons, result.notes)
    assert result.checks, "a scenario must check something"
    assert result.at_rest_writes == 0


def test_crash_in_process_variant_passes() -> None:
    result = run_scenario("crash-mid-create", seed=3, tasks=6, knobs=Knobs(crash="lost-response"))
    assert result.passed, (result.reasons, result.notes)


def test_concurrent_in_process_variant_passes() -> None:
    result = run_scenario("concurrent-workers", seed=3, tasks=8, knobs=Knobs(workers="inprocess"))
    assert result.passed, (result.reasons, result.notes)


def test_same_seed_same_world() -> None:
    """Deterministic given the seed: the same losses, repairs and writes."""
    first = run_scenario("lost-webhooks", seed=11, tasks=8)
    second = run_scenario("lost-webhooks", seed=11, tasks=8)
    assert (first.repairs, first.writes, first.notes) == (
        second.repairs,
        second.writes,
        second.notes,
    )
