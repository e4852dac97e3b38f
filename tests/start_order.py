"""The order the suite starts in: long tests first, spread over the pytest-xdist workers.

``--dist worksteal`` first hands each worker one contiguous slice of the collection (in
order, equal counts), then lets an idle worker take the back half of the longest queue.
Sorting the long tests to the front would put them all in the first worker's slice, to
run one after another while the others finish their short ones and wait. So the long
tests (``slow_tests.txt``) are dealt out, longest first, each to the slice with the least
known work, and every slice starts with its long tests: they run in parallel from the
start, and what is left to steal at the end is short.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

SLOW_TESTS_FILE = Path(__file__).with_name("slow_tests.txt")


class HasNodeId(Protocol):
    @property
    def nodeid(self) -> str: ...


Item = TypeVar("Item", bound=HasNodeId)


def read_costs(path: Path = SLOW_TESTS_FILE) -> dict[str, float]:
    """``seconds test-id-or-prefix`` lines; blank lines and ``#`` comments skipped."""
    costs: dict[str, float] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        seconds, _, prefix = text.partition(" ")
        try:
            costs[prefix.strip()] = float(seconds)
        except ValueError:
            raise ValueError(f"{path.name}:{number}: expected 'seconds test-id'") from None
    return costs


def cost_of(nodeid: str, costs: dict[str, float]) -> float:
    """The cost of the longest entry that ``nodeid`` starts with; 0 when none does."""
    matches = [prefix for prefix in costs if nodeid.startswith(prefix)]
    return costs[max(matches, key=len)] if matches else 0.0


def slice_sizes(count: int, workers: int) -> list[int]:
    """How many tests worksteal first sends each worker (its ``check_schedule``)."""
    sizes = []
    remaining = count
    for index in range(workers):
        size = remaining // (workers - index)
        sizes.append(size)
        remaining -= size
    return sizes


def start_order(items: Sequence[Item], workers: int, costs: dict[str, float]) -> list[Item]:
    """``items`` reordered: longest first, and with several workers one slice per worker,
    each starting with its share of the long tests (the rest keep their order)."""
    ranked = sorted(
        ((cost_of(item.nodeid, costs), item) for item in items), key=lambda pair: -pair[0]
    )
    if workers <= 1:
        return [item for _, item in ranked]
    sizes = slice_sizes(len(ranked), workers)
    slices: list[list[Item]] = [[] for _ in sizes]
    loads = [0.0] * workers
    for cost, item in ranked:
        open_slices = [index for index in range(workers) if len(slices[index]) < sizes[index]]
        target = min(open_slices, key=lambda index: loads[index])
        slices[target].append(item)
        loads[target] += cost
    return [item for part in slices for item in part]


def worker_count() -> int:
    """The number of xdist workers this process is one of (1 without xdist)."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
