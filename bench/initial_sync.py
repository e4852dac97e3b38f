"""Benchmark 3, initial sync under Jira's burst limits.

N new tasks, one tick. The fake Jira enforces its documented burst limits (100
GET/POST per second per tenant) and adds 50 ms to every request, so the floor is
N/100 seconds. The domain's ``max_concurrency`` bounds parallel creates: the
default is measured next to the value this benchmark recommends.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.env import GatewayEnv
from bench.procs import run_gateway_op
from bench.report import BenchResult
from bench.series import per_second
from bench.upstreams import seed_open_tasks, team_emails

TASKS = 2_000
QUICK_TASKS = 500
LATENCY = 0.05
LIMIT_PER_SECOND = 100
DEFAULT_CONCURRENCY = 4
RECOMMENDED_CONCURRENCY = 5
CREATE_PATH = "/rest/api/3/issue"


def measure(n: int, concurrency: int) -> dict[str, Any]:
    """One cold initial sync of ``n`` tasks with ``max_concurrency=concurrency``."""
    with GatewayEnv(f"initial{concurrency}", enforce_rate_limits=True) as env:
        seed_open_tasks(env.pf, n)
        jira = env.jira
        for email in team_emails():
            jira.add_user(email)
        domain_id = env.add_domain(max_concurrency=concurrency)
        faults = env.jira_faults
        faults.set_latency(LATENCY)
        faults.reset_log()
        tick = run_gateway_op("tick", env.runner_settings(), domain_id)
        requests = faults.requests
        issues = len(jira.issues)
        dead = len(env.dead_letters())
        synced = sum(1 for s in env.states().values() if s.status == "synced")
    by_status = Counter(r.status for r in requests)
    creates = sum(1 for r in requests if r.method == "POST" and r.endpoint == CREATE_PATH)
    created = tick["outcome"].get("created", 0)
    return {
        "concurrency": concurrency,
        "tasks": n,
        "wall": tick["wall"],
        "floor": n / LIMIT_PER_SECOND,
        "created": created,
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


def run(quick: bool = False) -> BenchResult:
    n = QUICK_TASKS if quick else TASKS
    result = BenchResult(
        "initial_sync",
        "Initial sync under Jira's burst limits",
        params={"tasks": n, "jira_latency_ms": LATENCY * 1000, "limit_per_s": LIMIT_PER_SECOND},
    )
    runs = [measure(n, c) for c in (DEFAULT_CONCURRENCY, RECOMMENDED_CONCURRENCY)]
    result.figures["runs"] = runs
    table = result.section(
        f"{n:,} new tasks, one tick (floor {n / LIMIT_PER_SECOND:.0f} s)",
        [
            "max_concurrency",
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
            f"{r['concurrency']}{' (default)' if r['concurrency'] == DEFAULT_CONCURRENCY else ''}",
            r["wall"],
            r["wall"] / r["floor"],
            r["issues_in_jira"],
            r["create_requests"] / issues,
            r["requests"] / issues,
            r["requests_429"],
            100 * r["requests_429"] / max(1, r["requests"]),
            r["dead_letters"],
        )
    best = runs[-1]
    issues = max(1, best["issues_in_jira"])
    label = f"max_concurrency={best['concurrency']}"
    result.target(
        "time to sync all",
        f"<= 1.25 x floor ({1.25 * best['floor']:.0f} s)",
        f"{best['wall']:.1f} s = {best['wall'] / best['floor']:.2f} x ({label})",
        best["wall"] <= 1.25 * best["floor"] and best["synced_states"] == n,
    )
    successful_creates = best["create_requests"] - best["requests_429"]
    result.target(
        "requests per created issue",
        "1 (property in the create)",
        f"{successful_creates / issues:.2f} create, {best['requests'] / issues:.3f} all",
        successful_creates == best["issues_in_jira"] == n,
    )
    result.target(
        "429s",
        "< 1% of requests",
        f"{100 * best['requests_429'] / max(1, best['requests']):.2f}%",
        best["requests_429"] < 0.01 * best["requests"],
    )
    result.target("dead letters", "0", str(best["dead_letters"]), best["dead_letters"] == 0)
    result.notes.append(
        "Jira requests beyond the creates are the assignee lookups (one GET /user/search "
        f"per distinct assignee, cached in Redis) and the 429s; floor = N / {LIMIT_PER_SECOND}/s"
    )
    return result
