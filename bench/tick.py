"""Benchmark 2, tick at rest: N open tasks already synced, one tick.

At rest a tick must read ceil(N/page_size) pages, hash every task, find every hash
unchanged and call Jira zero times. The tick runs in a child process (its own CPU
time and peak RSS); the fake PeopleForce runs in this process, whose CPU time
during the tick is the fake's share. A second child pages the same list with a
bare client to time the listing alone, and JSON decoding, parsing and hashing
of the same pages separately.
"""

from __future__ import annotations

import math
import resource
from typing import Any

from bench.env import GatewayEnv
from bench.procs import run_gateway_op
from bench.report import BenchResult
from bench.upstreams import seed_open_tasks

PAGE_SIZE = 50
SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (1_000, 10_000)
CPU_TARGET_US = 50.0
RSS_TARGET_MB = 300.0


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(n: int, profile: str | None = None) -> dict[str, Any]:
    """One size: seed, tick once in a child, then time the bare listing."""
    with GatewayEnv(f"tick{n}", page_size=PAGE_SIZE) as env:
        tasks = seed_open_tasks(env.pf, n)
        domain_id = env.add_domain(max_concurrency=4)
        env.seed_synced(
            domain_id,
            tasks,
            {t["id"]: (str(100_000 + t["id"]), f"HR-{t['id']}") for t in tasks},
        )
        env.upstreams.reset_request_logs()
        fake_cpu = _self_cpu()
        tick = run_gateway_op(
            "tick",
            env.runner_settings(),
            domain_id,
            profile=profile,
            warmup=True,
            reset_logs=(env.pf_server.url, env.jira_server.url),
        )
        fake_cpu = _self_cpu() - fake_cpu
        pf_requests = len(env.pf_faults.requests)
        jira_requests = len(env.jira_faults.requests)
        listing_fake_cpu = _self_cpu()
        listing = run_gateway_op("listing", env.runner_settings(), domain_id)
        listing_fake_cpu = _self_cpu() - listing_fake_cpu
    outcome = tick["outcome"]
    decode = listing["outcome"]
    on_top = (tick["cpu"] - decode["decode_cpu"]) / n * 1e6
    return {
        "tasks": n,
        "pages_expected": math.ceil(n / PAGE_SIZE),
        "pf_requests": pf_requests,
        "jira_requests": jira_requests,
        "unchanged": outcome.get("unchanged"),
        "tick_outcome": outcome.get("outcome"),
        "cold_tick_wall": tick["cold"].get("wall"),
        "cold_tick_cpu": tick["cold"].get("cpu"),
        "tick_wall": tick["wall"],
        "tick_cpu": tick["cpu"],
        "cpu_per_task_us": tick["cpu"] / n * 1e6,
        "decode_cpu": decode["decode_cpu"],
        "decode_per_task_us": decode["decode_cpu"] / n * 1e6,
        "parse_per_task_us": decode["parse_cpu"] / n * 1e6,
        "hash_per_task_us": decode["hash_cpu"] / n * 1e6,
        "on_top_of_decode_us": on_top,
        "rss_before_mb": tick["rss_before_mb"],
        "peak_rss_mb": tick["peak_rss_mb"],
        "fake_cpu_during_tick": fake_cpu,
        "listing_wall": decode["fetch_wall"],
        "listing_client_cpu": decode["fetch_cpu"],
        "listing_fake_cpu": listing_fake_cpu,
        "bytes": decode["bytes"],
    }


def run(quick: bool = False) -> BenchResult:
    """Every size, side by side."""
    sizes = QUICK_SIZES if quick else SIZES
    result = BenchResult("tick", "Tick at rest", params={"page_size": PAGE_SIZE, "sizes": sizes})
    rows = [measure(n) for n in sizes]
    result.figures["sizes"] = rows
    requests = result.section(
        "requests per tick", ["open tasks", "PF pages expected", "PF requests", "Jira requests"]
    )
    cost = result.section(
        "cost per tick (tick in its own process; fake PeopleForce in another)",
        [
            "open tasks",
            "tick wall s",
            "tick CPU s",
            "CPU/task µs",
            "JSON decode/task µs",
            "on top of decode µs",
            "peak RSS MB",
            "RSS before tick MB",
        ],
    )
    fake = result.section(
        "the fake's share",
        [
            "open tasks",
            "fake CPU during tick s",
            "listing alone wall s",
            "bare client CPU s",
            "parse/task µs",
            "hash/task µs",
            "MB served",
        ],
    )
    for row in rows:
        n = row["tasks"]
        requests.add(n, row["pages_expected"], row["pf_requests"], row["jira_requests"])
        cost.add(
            n,
            row["tick_wall"],
            row["tick_cpu"],
            row["cpu_per_task_us"],
            row["decode_per_task_us"],
            row["on_top_of_decode_us"],
            row["peak_rss_mb"],
            row["rss_before_mb"],
        )
        fake.add(
            n,
            row["fake_cpu_during_tick"],
            row["listing_wall"],
            row["listing_client_cpu"],
            row["parse_per_task_us"],
            row["hash_per_task_us"],
            row["bytes"] / 1e6,
        )
    exact = all(r["pf_requests"] == r["pages_expected"] for r in rows)
    result.target(
        "PF requests",
        "ceil(N/page_size)",
        ", ".join(f"{r['pf_requests']}/{r['pages_expected']}" for r in rows),
        exact,
    )
    result.target(
        "Jira requests",
        "0",
        ", ".join(str(r["jira_requests"]) for r in rows),
        all(r["jira_requests"] == 0 for r in rows),
    )
    worst = max(r["on_top_of_decode_us"] for r in rows)
    result.target(
        "CPU per unchanged task",
        f"<= {CPU_TARGET_US:.0f} µs on top of JSON decoding",
        ", ".join(f"{r['on_top_of_decode_us']:.0f} µs" for r in rows),
        worst <= CPU_TARGET_US,
    )
    largest = rows[-1]
    result.target(
        "peak RSS",
        f"< {RSS_TARGET_MB:.0f} MB at {largest['tasks']:,}",
        f"{largest['peak_rss_mb']:.0f} MB",
        largest["peak_rss_mb"] < RSS_TARGET_MB,
    )
    if quick:
        result.notes.append("--quick: 50 000 skipped, so the RSS target is checked at 10 000")
    return result
