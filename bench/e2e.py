"""Benchmark 5, end to end: a person closes an issue in Jira until the PF task is done.

The whole return vector runs as deployed: the fake Jira delivers a signed webhook
to ``gateway serve``, which queues a job in Redis for ``gateway worker``, which
re-reads the issue and completes the PeopleForce task. Latency runs from the
transition in the fake Jira to the completion arriving at the fake PeopleForce;
both fakes run in this process, so one monotonic clock times both ends.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

from bench.env import GatewayEnv
from bench.procs import free_port
from bench.report import BenchResult
from bench.stats import ms, percentile
from bench.upstreams import seed_issues, seed_open_tasks, wait_until
from gateway.clock import utcnow

TRANSITIONS = 500
QUICK_TRANSITIONS = 100
RATE_PER_SECOND = 20.0
P99_TARGET_MS = 500.0


def measure(n: int, rate: float = RATE_PER_SECOND) -> dict[str, Any]:
    """``n`` transitions to done at ``rate`` per second; latency of each completion."""
    with GatewayEnv("e2e") as env:
        pf, jira = env.pf, env.jira
        tasks = seed_open_tasks(pf, n)
        domain_id = env.add_domain(
            # No polling during the measurement: only the return vector runs.
            poll_interval_seconds=86_400,
            last_poll_at=utcnow(),
            next_sweep_at=utcnow() + timedelta(days=1),
        )
        issues = seed_issues(jira, tasks, domain_id)
        env.seed_synced(domain_id, tasks, issues)
        env.start_api_process(free_port())
        env.start_worker_process().wait_heartbeat(env.redis_url)
        done_at: dict[int, float] = {}
        complete = pf.complete_task

        def timed_complete(task_id: int) -> dict[str, Any]:
            done_at.setdefault(task_id, time.monotonic())
            return complete(task_id)

        pf.complete_task = timed_complete
        order = random.Random(5).sample(tasks, n)
        started_at: dict[int, float] = {}
        begin = time.monotonic()
        for index, task in enumerate(order):
            delay = begin + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            started_at[task["id"]] = time.monotonic()
            jira.transition(issues[task["id"]][1], to_category="done")
        wait_until(lambda: len(done_at) >= n, timeout=60, step=0.05)
        deliveries = jira.webhooks.counters()
    latencies = [done_at[i] - started_at[i] for i in started_at if i in done_at]
    return {
        "transitions": n,
        "rate": rate,
        "completed": len(latencies),
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p90_ms": ms(percentile(latencies, 0.90)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(max(latencies, default=float("nan"))),
        "deliveries": deliveries,
    }


def run(quick: bool = False) -> BenchResult:
    n = QUICK_TRANSITIONS if quick else TRANSITIONS
    result = BenchResult(
        "e2e",
        "End to end: Jira transition to PeopleForce completion",
        params={"transitions": n, "rate_per_s": RATE_PER_SECOND},
    )
    figures = measure(n)
    result.figures = figures
    table = result.section(
        "fake Jira -> signed webhook -> gateway serve -> Redis -> gateway worker -> PF complete",
        ["transitions", "completed", "p50 ms", "p90 ms", "p99 ms", "max ms"],
    )
    table.add(
        figures["transitions"],
        figures["completed"],
        figures["p50_ms"],
        figures["p90_ms"],
        figures["p99_ms"],
        figures["max_ms"],
    )
    result.target(
        "p99 latency",
        f"< {P99_TARGET_MS:.0f} ms on loopback",
        f"{figures['p99_ms']:.0f} ms",
        figures["p99_ms"] < P99_TARGET_MS and figures["completed"] == n,
    )
    result.notes.append(f"webhook deliveries: {figures['deliveries']}")
    return result
