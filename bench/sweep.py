"""Benchmark 4, the zombie sweep versus the naive check of every open task.

N synced tasks; K of their issues were closed in Jira while the webhooks were
lost. The sweeper runs one paginated JQL query and repairs the hits; the naive
design (implemented in ``bench.runner``) GETs every open task's issue. Both run
in a child process against the same seeded state, one after the other on copies.
"""

from __future__ import annotations

import math
import random
from typing import Any

from bench.env import GatewayEnv
from bench.procs import run_gateway_op
from bench.report import BenchResult
from bench.upstreams import seed_issues, seed_open_tasks

TASKS, CLOSED = 10_000, 200
QUICK_TASKS, QUICK_CLOSED = 2_000, 40
SEARCH_PATH = "/rest/api/3/search/jql"


def measure(n: int, closed: int, op: str) -> dict[str, Any]:
    """Seed ``n`` synced tasks, close ``closed`` issues silently, then run ``op``."""
    with GatewayEnv(f"sweep-{op}") as env:
        tasks = seed_open_tasks(env.pf, n)
        jira = env.jira
        domain_id = env.add_domain()
        issues = seed_issues(jira, tasks, domain_id)
        env.seed_synced(domain_id, tasks, issues)
        # No webhook is registered: every one of these transitions is a lost webhook.
        for task in random.Random(3).sample(tasks, closed):
            jira.transition(issues[task["id"]][1], to_category="done")
        env.jira_faults.reset_log()
        outcome = run_gateway_op(op, env.runner_settings(), domain_id)
        requests = env.jira_faults.requests
        completed = sum(1 for t in env.pf.tasks.values() if t["completed"])
        page_size = jira.search_max_results
    searches = sum(1 for r in requests if r.endpoint == SEARCH_PATH)
    return {
        "op": op,
        "wall": outcome["wall"],
        "cpu": outcome["cpu"],
        "jira_requests": len(requests),
        "searches": searches,
        "other_requests": len(requests) - searches,
        "repaired": outcome["outcome"].get("repaired", 0),
        "pf_completed": completed,
        "page_size": page_size,
    }


def run(quick: bool = False) -> BenchResult:
    n, closed = (QUICK_TASKS, QUICK_CLOSED) if quick else (TASKS, CLOSED)
    result = BenchResult(
        "sweep",
        "Zombie sweep vs checking every open task",
        params={"synced_tasks": n, "closed_with_lost_webhooks": closed},
    )
    sweep = measure(n, closed, "sweep")
    naive = measure(n, closed, "naive_sweep")
    result.figures = {"sweep": sweep, "naive": naive}
    table = result.section(
        f"{n:,} synced tasks, {closed} closed in Jira with lost webhooks",
        [
            "design",
            "Jira requests",
            "searches",
            "GETs + repairs",
            "repaired",
            "PF tasks completed",
            "wall s",
            "CPU s",
        ],
    )
    for name, r in (("sweeper (one JQL query)", sweep), ("naive (GET every open task)", naive)):
        table.add(
            name,
            r["jira_requests"],
            r["searches"],
            r["other_requests"],
            r["repaired"],
            r["pf_completed"],
            r["wall"],
            r["cpu"],
        )
    expected_searches = math.ceil(closed / sweep["page_size"])
    expected = expected_searches + closed
    result.target(
        "sweep requests",
        f"ceil({closed}/{sweep['page_size']}) searches + {closed} repairs = {expected}",
        f"{sweep['searches']} searches + {sweep['other_requests']} = {sweep['jira_requests']}",
        sweep["searches"] == expected_searches and sweep["jira_requests"] == expected,
    )
    result.target(
        "every lost webhook repaired",
        f"{closed}",
        f"{sweep['repaired']} (naive: {naive['repaired']})",
        sweep["repaired"] == closed == sweep["pf_completed"],
    )
    result.notes.append(
        f"requests saved: {naive['jira_requests'] - sweep['jira_requests']:,} "
        f"({naive['jira_requests'] / max(1, sweep['jira_requests']):.0f}x fewer); "
        "a repair is one GET of the issue (the webhook job's re-read) plus the PF complete"
    )
    return result
