"""PNG charts from the benchmarks' JSON: ``python -m bench.charts [--results DIR] [--out DIR]``.

``make bench`` calls ``write_charts`` after its rows, so the charts sit next to
``latest-<name>.json`` in ``bench/results/``. Each chart reads only the JSON a
row already wrote; a row that did not run (``--only``) or an older JSON without
the series a chart needs means no chart, never a failed bench. matplotlib is
the ``bench`` extra; it draws through its object API (``Figure``, no pyplot), so
no display and no global state are involved.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import RESULTS_DIR

TOLERANCE_SECONDS = 5.0
DPI = 110


def _figure(width: float = 9.0, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _machine_line(document: dict[str, Any]) -> str:
    machine = document.get("machine") or {}
    return (
        f"{machine.get('cpu_count')} CPUs, {machine.get('cpu_model')}, "
        f"Python {machine.get('python')} - {document.get('started_at', '')[:16]}"
    )


def ingress_chart(document: dict[str, Any], path: Path) -> bool:
    """Throughput and p50/p99 latency against concurrency, gateway beside the bare endpoint."""
    closed = document.get("figures", {}).get("closed") or {}
    if not closed.get("gateway"):
        return False
    figure = _figure()
    throughput, latency = figure.subplots(1, 2)
    styles = {"gateway": ("tab:blue", "o"), "bare": ("tab:gray", "s")}
    for name, runs in closed.items():
        color, marker = styles.get(name, ("tab:green", "^"))
        levels = [r["level"] for r in runs]
        throughput.plot(levels, [r["throughput"] for r in runs], marker=marker, color=color)
        throughput.lines[-1].set_label(name)
        latency.plot(levels, [r["p50_ms"] for r in runs], marker=marker, color=color)
        latency.lines[-1].set_label(f"{name} p50")
        latency.plot(levels, [r["p99_ms"] for r in runs], marker=marker, color=color, ls="--")
        latency.lines[-1].set_label(f"{name} p99")
    levels = sorted({r["level"] for runs in closed.values() for r in runs})
    for axes in (throughput, latency):
        axes.set_xscale("log", base=2)
        axes.set_xticks(levels, [str(level) for level in levels])
        axes.set_xlabel("concurrent connections (closed loop)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    throughput.set_ylabel("requests per second")
    throughput.set_title("throughput")
    latency.set_ylabel("ms")
    latency.set_yscale("log")
    latency.set_title("latency")
    figure.suptitle(f"Webhook ingress: gateway vs bare 202 ({_machine_line(document)})", size=9)
    figure.savefig(path)
    return True


def initial_sync_chart(document: dict[str, Any], path: Path) -> bool:
    """Issue creates per second over time against Jira's limit; 429s marked in red."""
    runs = [r for r in document.get("figures", {}).get("runs") or [] if r.get("timeline")]
    if not runs:
        return False
    limit = document.get("params", {}).get("limit_per_s")
    figure = _figure()
    axes = figure.subplots()
    for run in runs:
        series = run["timeline"]
        label = run.get("label") or f"max_concurrency={run.get('concurrency')}"
        axes.step(series["seconds"], series["ok"], where="post", label=f"{label}: creates/s")
        pairs = zip(series["seconds"], series["rate_limited"], strict=True)
        marked = [(second, count) for second, count in pairs if count]
        if marked:
            axes.scatter(
                [s for s, _ in marked],
                [n for _, n in marked],
                color="tab:red",
                marker="x",
                label=f"{label}: 429s in that second",
            )
    if limit:
        axes.axhline(limit, color="black", ls=":", label=f"Jira's limit ({limit}/s)")
    axes.set_ylim(bottom=0)
    axes.set_xlabel("seconds since the first create")
    axes.set_ylabel("requests per second")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    tasks = document.get("params", {}).get("tasks")
    figure.suptitle(
        f"Initial sync of {tasks} tasks under Jira's burst limit ({_machine_line(document)})",
        size=9,
    )
    figure.savefig(path)
    return True


def tick_chart(document: dict[str, Any], path: Path) -> bool:
    """Tick CPU per unchanged task against the number of tasks, beside the bare listing's."""
    sizes = document.get("figures", {}).get("sizes") or []
    if not sizes:
        return False
    tasks = [row["tasks"] for row in sizes]
    figure = _figure(7.0, 4.0)
    axes = figure.subplots()
    axes.plot(tasks, [row["cpu_per_task_us"] for row in sizes], marker="o", label="tick")
    bare = [
        row.get("listing_client_cpu", 0.0) / row["tasks"] * 1e6
        + row.get("decode_per_task_us", 0.0)
        + row.get("parse_per_task_us", 0.0)
        + row.get("hash_per_task_us", 0.0)
        for row in sizes
    ]
    axes.plot(tasks, bare, marker="s", color="tab:gray", label="bare listing + decode/parse/hash")
    axes.set_xscale("log")
    axes.set_ylim(bottom=0)
    axes.set_xlabel("open tasks, all unchanged")
    axes.set_ylabel("CPU µs per task")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.suptitle(f"Tick at rest ({_machine_line(document)})", size=9)
    figure.savefig(path)
    return True


def fleet_chart(document: dict[str, Any], path: Path) -> bool:
    """Each domain's tick lateness (start minus slot) as a box, with the +5 s tolerance."""
    domains = [d for d in document.get("figures", {}).get("domains") or [] if d.get("lateness")]
    if not domains:
        return False
    figure = _figure()
    axes = figure.subplots()
    positions = list(range(1, len(domains) + 1))
    axes.boxplot([d["lateness"] for d in domains], positions=positions, widths=0.6)
    axes.set_xticks(positions, [f"{d['domain']}\n{d['interval']}s" for d in domains], fontsize=7)
    axes.axhline(TOLERANCE_SECONDS, color="tab:red", ls=":", label="tolerance (+5 s)")
    axes.set_xlabel("domain and its (compressed) interval")
    axes.set_ylabel("tick start - its slot, seconds")
    axes.grid(alpha=0.3, axis="y")
    axes.legend(fontsize=8)
    params = document.get("params", {})
    figure.suptitle(
        f"Fleet: {params.get('domains')} domains x {params.get('tasks_per_domain')} tasks, "
        f"{params.get('workers')} workers, {params.get('database')} ({_machine_line(document)})",
        size=9,
    )
    figure.savefig(path)
    return True


CHARTS: dict[str, tuple[str, Callable[[dict[str, Any], Path], bool]]] = {
    "ingress.png": ("ingress", ingress_chart),
    "initial_sync.png": ("initial_sync", initial_sync_chart),
    "tick.png": ("tick", tick_chart),
    "fleet.png": ("fleet", fleet_chart),
}


def write_charts(results: Path = RESULTS_DIR, out: Path | None = None) -> list[Path]:
    """Every chart whose row has a ``latest-<name>.json`` in ``results``; returns the PNGs."""
    out = out or results
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, (name, draw) in CHARTS.items():
        source = results / f"latest-{name}.json"
        if not source.exists():
            continue
        if draw(json.loads(source.read_text()), out / filename):
            written.append(out / filename)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.charts", description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder of JSON")
    parser.add_argument("--out", type=Path, help="folder for the PNGs (default: --results)")
    args = parser.parse_args(argv)
    for path in write_charts(args.results, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
