"""``python -m bench [--only NAME ...] [--quick]``: run the benchmarks, print, save JSON."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console

from bench import e2e, fleet, ingress, initial_sync, prune, reconcile, sweep, tick, tracing
from bench.machine import machine_info
from bench.report import BenchResult, print_result, write_result

BENCHMARKS: dict[str, Callable[[bool], BenchResult]] = {
    "ingress": ingress.run,
    "tick": tick.run,
    "initial_sync": initial_sync.run,
    "sweep": sweep.run,
    "reconcile": reconcile.run,
    "e2e": e2e.run,
    "prune": prune.run,
    "fleet": fleet.run,
    "tracing": tracing.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server for the fleet benchmark (default: $GATEWAY_TEST_DATABASE_URL, "
        "else SQLite); a fresh database is created on it and dropped after",
    )
    args = parser.parse_args(argv)
    benchmarks = dict(BENCHMARKS)
    if args.database_url:
        benchmarks["fleet"] = functools.partial(fleet.run, database_url=args.database_url)
    # The gateway's own warnings (e.g. retries on 429) belong to the figures, not the screen.
    logging.basicConfig(level=logging.ERROR)
    console = Console(width=max(120, Console().width))
    machine = machine_info()
    console.print(
        f"[bold]machine[/]: {machine['cpu_count']} CPUs, {machine['cpu_model']}, "
        f"{machine['memory_mb']} MB, Python {machine['python']}, {machine['platform']}"
    )
    began = time.perf_counter()
    failed = []
    for name in args.only or list(BENCHMARKS):
        started = datetime.now(UTC)
        clock = time.perf_counter()
        try:
            result = benchmarks[name](args.quick)
            result.seconds = time.perf_counter() - clock
        except Exception as error:
            console.print(f"[red]{name} failed: {type(error).__name__}: {error}[/]")
            failed.append(name)
            continue
        print_result(result, console)
        path = write_result(result, started)
        console.print(f"[dim]saved {path}[/]")
    write_charts_of_latest(console)
    console.print(f"[bold]total[/]: {time.perf_counter() - began:.0f} s")
    return 1 if failed else 0


def write_charts_of_latest(console: Console) -> None:
    """PNG charts beside the JSON; a missing extra or a bad chart never fails the bench."""
    try:
        from bench.charts import write_charts

        for path in write_charts():
            console.print(f"[dim]chart {path}[/]")
    except ImportError as error:
        console.print(f"[yellow]no charts: {error} (install the bench extra: make bench)[/]")
    except Exception as error:
        console.print(f"[red]charts failed: {type(error).__name__}: {error}[/]")


if __name__ == "__main__":
    sys.exit(main())
