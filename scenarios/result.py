"""What a scenario run reports: the checks it made and the figures behind them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Knobs:
    """Switches that disable a mechanism from outside the gateway, for negative tests.

    A scenario reads the knobs it understands and ignores the others.
    """

    skip_sweep: bool = False
    """Leave out the sweep a scenario relies on (lost-webhooks, long-downtime, jira-partition)."""
    fresh_delivery_ids: bool = False
    """Deliver every webhook copy under a new identifier, so the ingress cannot dedupe."""
    crash: Literal["sigkill", "lost-response"] = "sigkill"
    """crash-mid-create: SIGKILL a worker process, or lose the create's answer in-process."""
    workers: Literal["process", "inprocess"] = "process"
    """concurrent-workers: three ``gateway worker`` processes, or three in-process workers."""
    skip_reconcile: bool = False
    """Leave out the reconcile pass the human-drift scenarios rely on."""
    recovery: bool = True
    """Operations scenarios: workers release a dead worker's jobs and locks (off: they wait
    out ARQ's in-progress timeout and the locks' TTLs)."""
    sentinel: bool = True
    """redis-failover: the gateway finds Redis through the sentinels (off: it is given the
    first primary's plain URL and cannot follow a failover)."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class RunContext:
    """Handed to a scenario: its size and knobs, and where it records checks."""

    tasks: int
    knobs: Knobs
    checks: list[Check] = field(default_factory=list)
    agreement_exempt: set[int] = field(default_factory=set)
    """Tasks whose disagreement the scenario expects and explains in its docstring."""
    write_bound: float = 3.0
    """Most writes (that took effect) the gateway may make per human change."""
    repairs_expected: int | None = None

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)


@dataclass
class ScenarioResult:
    name: str
    seed: int
    tasks: int
    faults: list[str]
    requests: dict[str, dict[tuple[str, str, int], int]]
    issues_per_task: Counter[int]
    """How many tasks have 0, 1, 2, ... issues (among tasks that must have one)."""
    disagreements: int
    writes: int
    human_changes: int
    repairs: int
    at_rest_writes: int
    checks: list[Check]
    notes: list[str]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" if c.detail else c.name for c in self.checks if not c.ok]

    @property
    def writes_per_change(self) -> float:
        return self.writes / self.human_changes if self.human_changes else float(self.writes)
