"""``python -m bench [--only NAME ...] [--quick]``: run the benchmarks, print, save JSON."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console

from bench import e2e, ingress, initial_sync, reconcile, sweep, tick, tracing
from bench.machine import machine_info
from bench.report import BenchResult, print_result, write_result

BENCHMARKS: dict[str, Callable[[bool], BenchResult]] = {
    "ingress": ingress.run,
    "tick": tick.run,
    "initial_sync": initial_sync.run,
    "sweep": sweep.run,
    "reconcile": reconcile.run,
    "e2e": e2e.run,
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
    args = parser.parse_args(argv)
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
            result = BENCHMARKS[name](args.quick)
            result.seconds = time.perf_counter() - clock
        except Exception as error:
            console.print(f"[red]{name} failed: {type(error).__name__}: {error}[/]")
            failed.append(name)
            continue
        print_result(result, console)
        path = write_result(result, started)
        console.print(f"[dim]saved {path}[/]")
    console.print(f"[bold]total[/]: {time.perf_counter() - began:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
