"""``python -m bench.profile_tick [N] [--out FILE]``: where a tick at rest spends its CPU.

Runs the tick benchmark's setup for N tasks (default 10 000), profiles the measured
tick with cProfile in its child process, and prints the functions with the most
own time and the most cumulative time. cProfile adds its own overhead per call, so
read the shares, not the absolute times; the benchmark itself runs unprofiled.
"""

from __future__ import annotations

import argparse
import logging
import pstats
import tempfile
from pathlib import Path

from bench import tick

TOP = 30


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_tick", description=__doc__)
    parser.add_argument("tasks", nargs="?", type=int, default=10_000, help="open tasks")
    parser.add_argument("--out", type=Path, help="keep the cProfile stats in this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "tick.prof"
        row = tick.measure(args.tasks, profile=str(out), rounds=1)
        print(
            f"{args.tasks} tasks: tick CPU {row['tick_cpu']:.2f} s (profiled), "
            f"bare work {row['bare_cpu']:.2f} s (not profiled)"
        )
        stats = pstats.Stats(str(out))
        stats.sort_stats("tottime").print_stats(TOP)
        stats.sort_stats("cumulative").print_stats(TOP)


if __name__ == "__main__":
    main()
