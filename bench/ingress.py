"""Benchmark 1, webhook ingress: ``gateway serve`` versus a bare 202 on the same stack.

Both servers run as their own uvicorn process; the load generator is a third
process. Closed-loop runs at increasing concurrency find each server's saturation
throughput; an open-loop run at half the gateway's saturation rate measures the
latency a webhook sees when the API is busy but not overloaded.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from bench.env import WEBHOOK_SECRET, GatewayEnv
from bench.loadgen import WARMUP_SECONDS as WARMUP
from bench.payloads import SITE
from bench.procs import Service, cpu_seconds, free_port, run_json
from bench.report import BenchResult
from gateway.demo.processes import ChildProcess

PATH = "/api/v1/webhooks/jira"
LEVELS = (1, 4, 16, 64)
DURATION = 5.0
QUICK_DURATION = 2.0
RATIO_TARGET = 0.7
CPU_RATIO_TARGET = 1.5
P99_TARGET_MS = 20.0


def _load(url: str, duration: float, *, concurrency: int = 0, rate: float = 0.0) -> dict[str, Any]:
    args = ["--url", url, "--secret", WEBHOOK_SECRET, "--duration", str(duration)]
    args += ["--rate", f"{rate:.1f}"] if rate else ["--concurrency", str(concurrency)]
    return run_json("bench.loadgen", args)


def _measured(
    server: ChildProcess, url: str, duration: float, *, concurrency: int = 0, rate: float = 0.0
) -> dict[str, Any]:
    """One load run plus the server's CPU time per answered request."""
    cpu = cpu_seconds(server)
    run_ = _load(url, duration, concurrency=concurrency, rate=rate)
    spent = cpu_seconds(server) - cpu
    total = sum(run_["statuses"].values()) or 1
    # The server also served the warm-up requests; scale them in by throughput.
    served = total * (duration + WARMUP) / duration
    run_["server_cpu_us"] = spent / served * 1e6
    return run_


def server_stack() -> str:
    """What uvicorn's ``loop="auto"`` and ``http="auto"`` pick here, for both servers."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn on {loop} with {http}"


def _accepted(run: dict[str, Any]) -> bool:
    return set(run["statuses"]) == {"202"} and run["errors"] == 0


def run(quick: bool = False) -> BenchResult:
    duration = QUICK_DURATION if quick else DURATION
    result = BenchResult(
        "ingress",
        "Webhook ingress: gateway serve vs bare 202",
        params={"levels": LEVELS, "seconds_per_level": duration},
    )
    with GatewayEnv("ingress") as env:
        env.add_domain(jira_base_url=SITE)
        gateway_port, bare_port = free_port(), free_port()
        gateway = env.start_api_process(gateway_port)
        bare = Service(
            [sys.executable, "-m", "bench.bare_app", "--port", str(bare_port)],
            env.environment(),
            "bare",
        )
        try:
            bare.wait_http(f"http://127.0.0.1:{bare_port}/")
            urls = {
                "gateway": f"http://127.0.0.1:{gateway_port}{PATH}",
                "bare": f"http://127.0.0.1:{bare_port}{PATH}",
            }
            services = {"gateway": gateway, "bare": bare}
            closed: dict[str, list[dict[str, Any]]] = {"gateway": [], "bare": []}
            for level in LEVELS:
                for name, url in urls.items():
                    run_ = _measured(services[name], url, duration, concurrency=level)
                    closed[name].append(run_ | {"level": level})
            saturation = {
                name: max(runs, key=lambda r: r["throughput"]) for name, runs in closed.items()
            }
            half_rate = saturation["gateway"]["throughput"] / 2
            paced = {
                name: _measured(services[name], url, duration, rate=half_rate)
                for name, url in urls.items()
            }
        finally:
            bare.stop()
    table = result.section(
        "closed loop (throughput req/s, latency ms)",
        [
            "concurrency",
            "gateway req/s",
            "gateway p50",
            "gateway p99",
            "bare req/s",
            "bare p50",
            "bare p99",
            "ratio",
            "gateway CPU µs/req",
            "bare CPU µs/req",
        ],
    )
    for ours, theirs in zip(closed["gateway"], closed["bare"], strict=True):
        table.add(
            ours["level"],
            ours["throughput"],
            ours["p50_ms"],
            ours["p99_ms"],
            theirs["throughput"],
            theirs["p50_ms"],
            theirs["p99_ms"],
            ours["throughput"] / theirs["throughput"],
            ours["server_cpu_us"],
            theirs["server_cpu_us"],
        )
    paced_table = result.section(
        f"open loop at half the gateway's saturation rate ({half_rate:.0f} req/s)",
        ["server", "req/s", "p50 ms", "p99 ms", "max ms", "CPU µs/req"],
    )
    for name, run_ in paced.items():
        paced_table.add(
            name,
            run_["throughput"],
            run_["p50_ms"],
            run_["p99_ms"],
            run_["max_ms"],
            run_["server_cpu_us"],
        )
    ratio = saturation["gateway"]["throughput"] / saturation["bare"]["throughput"]
    result.figures = {
        "closed": closed,
        "paced": paced,
        "half_rate": half_rate,
        "saturation_ratio": ratio,
        "body_sizes": closed["gateway"][0]["body_sizes"],
    }
    result.target(
        "throughput ratio at saturation",
        f">= {RATIO_TARGET}",
        f"{ratio:.2f} ({saturation['gateway']['throughput']:.0f} / "
        f"{saturation['bare']['throughput']:.0f} req/s)",
        ratio >= RATIO_TARGET,
    )
    # Compared at the gateway's saturation level, with the bare endpoint at that same
    # concurrency (CPU per request of either moves with the level).
    level = saturation["gateway"]["level"]
    same_level = next(r for r in closed["bare"] if r["level"] == level)
    cpu = {"gateway": saturation["gateway"]["server_cpu_us"], "bare": same_level["server_cpu_us"]}
    cpu_ratio = cpu["gateway"] / cpu["bare"]
    result.figures["saturation_cpu_ratio"] = cpu_ratio
    result.target(
        "CPU per request at saturation vs bare",
        f"<= {CPU_RATIO_TARGET}x",
        f"{cpu_ratio:.2f} ({cpu['gateway']:.0f} / {cpu['bare']:.0f} µs at concurrency {level})",
        cpu_ratio <= CPU_RATIO_TARGET,
    )
    p99 = paced["gateway"]["p99_ms"]
    result.target(
        "p99 at half saturation",
        f"< {P99_TARGET_MS:.0f} ms",
        f"{p99:.1f} ms at {half_rate:.0f} req/s",
        p99 < P99_TARGET_MS,
    )
    every = [*closed["gateway"], paced["gateway"]]
    result.target(
        "every delivery accepted",
        "202, no errors",
        "yes" if all(_accepted(r) for r in every) else "no",
        all(_accepted(r) for r in every),
    )
    result.notes.append(
        f"bodies {'/'.join(str(s) for s in result.figures['body_sizes'])} bytes, signed, "
        "unique X-Atlassian-Webhook-Identifier per request; generator: bench.loadgen"
    )
    result.notes.append(f"both servers: {server_stack()}")
    return result
