"""Benchmark 3, initial sync under Jira's burst limits.

N new tasks, one tick. The fake Jira enforces its documented burst limits (100
GET/POST per second per tenant), says how much of the budget is left on every
answer, and adds 50 ms to every request (300 ms for a slow site), so the floor is
N/100 seconds. With default settings the gateway paces its creates to the limit
the answers state and holds rate x round trip of them in flight
(``gateway.clients.rate_window``, ``gateway.clients.pacer``); the row before it is the
gateway without the window, at the old fixed default of 4 (what the gateway did
before), measured in the same run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.env import GatewayEnv
from bench.procs import run_gateway_op
from bench.report import BenchResult
from bench.series import per_second
from bench.upstreams import seed_open_tasks, team_emails
from gateway.models import DOMAIN_DEFAULTS

TASKS = 2_000
QUICK_TASKS = 500
LATENCY = 0.05
SLOW_LATENCY = 0.3
LIMIT_PER_SECOND = 100
OLD_FIXED_CONCURRENCY = 4
CREATE_PATH = "/rest/api/3/issue"
TARGET = 1.1
SLOW_TARGET = 1.2


@dataclass(frozen=True)
class Case:
    """One row: the domain's ``max_concurrency``, the window on or off, Jira's latency."""

    label: str
    concurrency: int
    adaptive: bool
    latency: float


CASES = (
    Case("fixed 4, no window (before)", OLD_FIXED_CONCURRENCY, False, LATENCY),
    Case("default (adaptive)", DOMAIN_DEFAULTS.max_concurrency, True, LATENCY),
    Case("default (adaptive), slow site", DOMAIN_DEFAULTS.max_concurrency, True, SLOW_LATENCY),
)


def measure(n: int, case: Case) -> dict[str, Any]:
    """One cold initial sync of ``n`` tasks as ``case`` says."""
    label = f"initial{case.concurrency}{'a' if case.adaptive else 'f'}{int(case.latency * 1000)}"
    with GatewayEnv(label, enforce_rate_limits=True) as env:
        seed_open_tasks(env.pf, n)
        jira = env.jira
        for email in team_emails():
            jira.add_user(email)
        domain_id = env.add_domain(max_concurrency=case.concurrency)
        faults = env.jira_faults
        faults.set_latency(case.latency)
        faults.reset_log()
        tick = run_gateway_op("tick", env.runner_settings(), domain_id, adaptive=case.adaptive)
        requests = faults.requests
        issues = len(jira.issues)
        dead = len(env.dead_letters())
        synced = sum(1 for s in env.states().values() if s.status == "synced")
    by_status = Counter(r.status for r in requests)
    creates = sum(1 for r in requests if r.method == "POST" and r.endpoint == CREATE_PATH)
    return {
        "label": case.label,
        "concurrency": case.concurrency,
        "adaptive": case.adaptive,
        "latency": case.latency,
        "tasks": n,
        "wall": tick["wall"],
        "floor": n / LIMIT_PER_SECOND,
        "created": tick["outcome"].get("created", 0),
        "issues_in_jira": issues,
        "synced_states": synced,
        "requests": len(requests),
        "create_requests": creates,
        "requests_429": by_status.get(429, 0),
        "other_requests": len(requests) - creates,
        "dead_letters": dead,
        "failed": tick["outcome"].get("failed", 0),
        # Creates (2xx) and 429s per second, for the chart (bench/charts.py).
        "timeline": per_second(requests, "POST", CREATE_PATH),
    }


def _targets(result: BenchResult, r: dict[str, Any], limit: float, n: int) -> None:
    """The targets one adaptive row must meet."""
    slow = f", Jira at {r['latency'] * 1000:.0f} ms"
    result.target(
        f"time to sync all{slow}",
        f"<= {limit} x floor ({limit * r['floor']:.0f} s)",
        f"{r['wall']:.1f} s = {r['wall'] / r['floor']:.2f} x ({r['label']})",
        r["wall"] <= limit * r["floor"] and r["synced_states"] == n,
    )
    result.target(
        f"429s{slow}",
        "< 1% of requests",
        f"{100 * r['requests_429'] / max(1, r['requests']):.2f}%",
        r["requests_429"] < 0.01 * r["requests"],
    )
    issues = max(1, r["issues_in_jira"])
    successful_creates = r["create_requests"] - r["requests_429"]
    result.target(
        f"requests per created issue{slow}",
        "1 (property in the create)",
        f"{successful_creates / issues:.2f} create, {r['requests'] / issues:.3f} all",
        successful_creates == r["issues_in_jira"] == n,
    )
    result.target(f"dead letters{slow}", "0", str(r["dead_letters"]), r["dead_letters"] == 0)


def run(quick: bool = False) -> BenchResult:
    n = QUICK_TASKS if quick else TASKS
    result = BenchResult(
        "initial_sync",
        "Initial sync under Jira's burst limits",
        params={
            "tasks": n,
            "jira_latency_ms": [LATENCY * 1000, SLOW_LATENCY * 1000],
            "limit_per_s": LIMIT_PER_SECOND,
        },
    )
    runs = [measure(n, case) for case in CASES]
    result.figures["runs"] = runs
    table = result.section(
        f"{n:,} new tasks, one tick (floor {n / LIMIT_PER_SECOND:.0f} s)",
        [
            "settings",
            "Jira ms",
            "time s",
            "x floor",
            "issues",
            "create POSTs/issue",
            "Jira requests/issue",
            "429s",
            "429 %",
            "dead letters",
        ],
    )
    for r in runs:
        issues = max(1, r["issues_in_jira"])
        table.add(
            r["label"],
            r["latency"] * 1000,
            r["wall"],
            r["wall"] / r["floor"],
            r["issues_in_jira"],
            r["create_requests"] / issues,
            r["requests"] / issues,
            r["requests_429"],
            100 * r["requests_429"] / max(1, r["requests"]),
            r["dead_letters"],
        )
    _targets(result, runs[1], TARGET, n)
    _targets(result, runs[2], SLOW_TARGET, n)
    result.notes.append(
        "Jira requests beyond the creates are the assignee lookups (one GET /user/search "
        f"per distinct assignee, cached in Redis) and the 429s; floor = N / {LIMIT_PER_SECOND}/s; "
        f"default max_concurrency (the window's cap) = {DOMAIN_DEFAULTS.max_concurrency}"
    )
    return result
