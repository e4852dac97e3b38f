"""Find scenarios, run one with the shared guarantee checks, and build its result.

A scenario module has ``NAME``, ``DEFAULT_TASKS``, a docstring whose first line
says what it proves, ``async def run(h, ctx)`` and optionally
``config(seed, knobs) -> HarnessConfig``.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import re
import time
import traceback
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, ParamSpec, TypeVar

from scenarios.checks import (
    check_at_rest,
    check_completion_agrees,
    check_one_issue_per_task,
    check_writes_bounded,
    repairs_reported,
)
from scenarios.harness import Harness, HarnessConfig
from scenarios.result import Knobs, RunContext, ScenarioResult

_ID_SEGMENT = re.compile(r"(?<!/api)/(?:\d+|\{[a-z_]+\})(?=/|$)")
"""A numeric id or a route parameter (not the API version after ``/api``)."""
# Rounds the runner lets a scenario settle before its at-rest round (a scenario that
# never settles, as in the negative tests, still fails that round).
AT_REST_SETTLE_ROUNDS = 3
P = ParamSpec("P")
R = TypeVar("R")
MODULES = (
    "lost_webhooks",
    "duplicate_deliveries",
    "late_and_reordered",
    "peopleforce_partition",
    "jira_partition",
    "rate_limit_storm",
    "echo_loop",
    "crash_mid_create",
    "long_downtime",
    "concurrent_workers",
    "issue_deleted_in_jira",
    "schema_drift",
    "label_removed",
    "issue_moved",
    "issue_deleted_quietly",
    "reopened_in_jira",
    "field_edited_in_jira",
    "worker_killed_anywhere",
    "redis_restart",
    "redis_failover",
    "database_restart",
    "poison_task",
    "credentials_revoked",
    "sweep_overflow",
    "late_completion",
)


@dataclass(frozen=True)
class Scenario:
    module: ModuleType

    @property
    def name(self) -> str:
        return self.module.NAME

    @property
    def default_tasks(self) -> int:
        return self.module.DEFAULT_TASKS

    @property
    def summary(self) -> str:
        doc = (self.module.__doc__ or "").strip().splitlines()
        return doc[0].split(":", 1)[-1].strip() if doc else ""

    @property
    def description(self) -> str:
        return (self.module.__doc__ or "").strip()

    def config(self, seed: int, knobs: Knobs) -> HarnessConfig:
        factory = getattr(self.module, "config", None)
        config = factory(seed, knobs) if factory else HarnessConfig(seed=seed)
        config.fresh_delivery_ids = config.fresh_delivery_ids or knobs.fresh_delivery_ids
        return config


def normalised_counts(
    counts: dict[tuple[str, str, int], int],
) -> dict[tuple[str, str, int], int]:
    """Fold raw paths (answered by a fault before routing) into ``{id}`` templates."""
    merged: Counter[tuple[str, str, int]] = Counter()
    for (method, endpoint, status), n in counts.items():
        merged[(method, _ID_SEGMENT.sub("/{id}", endpoint), status)] += n
    return dict(merged)


def all_scenarios() -> list[Scenario]:
    return [Scenario(importlib.import_module(f"scenarios.{name}")) for name in MODULES]


def get_scenario(name: str) -> Scenario:
    module = name.replace("-", "_")
    if module not in MODULES:
        known = ", ".join(m.replace("_", "-") for m in MODULES)
        raise KeyError(f"unknown scenario {name!r}; known: {known}")
    return Scenario(importlib.import_module(f"scenarios.{module}"))


async def run_scenario_async(
    name: str,
    *,
    seed: int = 0,
    tasks: int | None = None,
    knobs: Knobs | None = None,
    on_phase: Callable[[str], None] | None = None,
    config: HarnessConfig | None = None,
    database_url: str | None = None,
) -> ScenarioResult:
    """Run one scenario end to end and check every guarantee; never raises for a failure."""
    scenario = get_scenario(name)
    knobs = knobs or Knobs()
    ctx = RunContext(tasks=tasks or scenario.default_tasks, knobs=knobs)
    config = config or scenario.config(seed, knobs)
    if database_url:
        config = replace(config, database_url=database_url)
    started = time.monotonic()
    h = Harness(config, on_phase)
    histogram: Counter[int] = Counter()
    requests: dict[str, dict[tuple[str, str, int], int]] = {}
    disagreements = writes = repairs = at_rest = 0
    try:
        await h.start()
        await scenario.module.run(h, ctx)
        h.phase("checking the guarantees")
        h.heal_all()
        histogram = check_one_issue_per_task(h, ctx)
        disagreements = check_completion_agrees(h, ctx)
        writes = sum(h.writes().values())
        check_writes_bounded(ctx, writes, h.counters.human_changes)
        repairs = repairs_reported(h)
        if ctx.repairs_expected is not None:
            ctx.check(
                "sweep repairs as expected",
                repairs == ctx.repairs_expected,
                f"{repairs} repairs, {ctx.repairs_expected} expected",
            )
        requests = {
            "peopleforce": normalised_counts(h.pf_faults.counts()),
            "jira": normalised_counts(h.jira_faults.counts()),
        }
        # "At rest" means settled: what the story left in flight (a delivery Jira
        # retries late, a job a stopped worker handed back) is work, not unrest.
        await h.settle(max_rounds=AT_REST_SETTLE_ROUNDS)
        at_rest = await check_at_rest(h, ctx)
    except Exception as error:
        ctx.check("scenario ran to the end", False, f"{type(error).__name__}: {error}")
        h.note(traceback.format_exc(limit=6))
    finally:
        await h.stop()
    return ScenarioResult(
        name=scenario.name,
        seed=seed,
        tasks=ctx.tasks,
        faults=list(h.counters.faults),
        requests=requests,
        issues_per_task=histogram,
        disagreements=disagreements,
        writes=writes,
        human_changes=h.counters.human_changes,
        repairs=repairs,
        at_rest_writes=at_rest,
        checks=list(ctx.checks),
        notes=list(h.counters.notes),
        seconds=time.monotonic() - started,
    )


def _blocking(run: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """The same call for synchronous callers: it runs in an event loop of its own."""

    @functools.wraps(run)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(run(*args, **kwargs))

    return call


run_scenario = _blocking(run_scenario_async)
"""Synchronous entry point (its own event loop)."""
