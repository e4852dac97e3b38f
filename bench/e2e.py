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

import redis

from bench.env import WEBHOOK_SECRET, GatewayEnv
from bench.procs import Service, free_port, gateway_serve, gateway_worker
from bench.report import BenchResult
from bench.stats import ms, percentile
from bench.upstreams import (
    jira_of,
    pf_of,
    seed_issues,
    seed_open_tasks,
    start_jira,
    start_peopleforce,
    wait_until,
)
from gateway.clock import utcnow
from gateway.worker import HEARTBEAT_KEY_PREFIX

TRANSITIONS = 500
QUICK_TRANSITIONS = 100
RATE_PER_SECOND = 20.0
P99_TARGET_MS = 500.0


def _worker_ready(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        return bool(client.keys(HEARTBEAT_KEY_PREFIX + "*"))
    finally:
        client.close()


def measure(n: int, rate: float = RATE_PER_SECOND) -> dict[str, Any]:
    """``n`` transitions to done at ``rate`` per second; latency of each completion."""
    with GatewayEnv("e2e") as env:
        pf_server = start_peopleforce()
        jira_server = start_jira()
        services: list[Service] = []
        try:
            pf, jira = pf_of(pf_server), jira_of(jira_server)
            tasks = seed_open_tasks(pf, n)
            domain_id = env.add_domain(
                pf_base_url=pf_server.url,
                jira_base_url=jira_server.url,
                # No polling during the measurement: only the return vector runs.
                poll_interval_seconds=86_400,
                last_poll_at=utcnow(),
                next_sweep_at=utcnow() + timedelta(days=1),
            )
            issues = seed_issues(jira, tasks, domain_id)
            env.seed_synced(domain_id, tasks, issues)
            port = free_port()
            services.append(gateway_serve(env.child_env(), port))
            services.append(gateway_worker(env.child_env()))
            if not wait_until(lambda: _worker_ready(env.redis_url), timeout=30):
                raise RuntimeError(f"worker did not start; see {services[-1].log_path}")
            jira.webhooks.register(
                f"http://127.0.0.1:{port}/api/v1/webhooks/jira",
                name="PF-Jira Sync: Task Completion Return Vector",
                events=["jira:issue_updated"],
                jql="labels = PeopleForce AND statusCategory = Done",
                secret=WEBHOOK_SECRET,
            )
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
        finally:
            for service in reversed(services):
                service.stop()
            pf_server.stop()
            jira_server.stop()
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
    started = time.perf_counter()
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
    result.seconds = time.perf_counter() - started
    return result
