"""The suite's start order: long tests first in every worker's slice, none lost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.start_order import (
    SLOW_TESTS_FILE,
    cost_of,
    read_costs,
    slice_sizes,
    start_order,
)

ROOT = Path(__file__).parent.parent


@dataclass(frozen=True)
class FakeItem:
    nodeid: str


COSTS = {"tests/slow/": 5.0, "tests/slow/test_a.py::test_big": 60.0, "tests/x.py::t1": 30.0}
ITEMS = [FakeItem(f"tests/quick/test_{n}.py::test") for n in range(10)] + [
    FakeItem("tests/slow/test_a.py::test_big"),
    FakeItem("tests/slow/test_a.py::test_small"),
    FakeItem("tests/slow/test_b.py::test"),
    FakeItem("tests/x.py::t1"),
]


def test_the_longest_matching_entry_gives_the_cost() -> None:
    assert cost_of("tests/slow/test_a.py::test_big", COSTS) == 60.0
    assert cost_of("tests/slow/test_a.py::test_small", COSTS) == 5.0
    assert cost_of("tests/quick/test_1.py::test", COSTS) == 0.0


def test_slices_match_what_worksteal_sends_each_worker() -> None:
    assert slice_sizes(14, 3) == [4, 5, 5]
    assert slice_sizes(2, 3) == [0, 1, 1]
    assert sum(slice_sizes(1515, 3)) == 1515


def test_without_workers_the_longest_run_first() -> None:
    ordered = start_order(ITEMS, 1, COSTS)
    assert [item.nodeid for item in ordered[:2]] == [
        "tests/slow/test_a.py::test_big",
        "tests/x.py::t1",
    ]
    assert sorted(ordered, key=ITEMS.index) == ITEMS


def test_every_worker_slice_starts_with_its_share_of_the_long_tests() -> None:
    ordered = start_order(ITEMS, 3, COSTS)
    assert sorted(ordered, key=ITEMS.index) == ITEMS
    sizes = slice_sizes(len(ITEMS), 3)
    starts = [sum(sizes[:index]) for index in range(3)]
    heads = [ordered[start].nodeid for start in starts]
    # The two longest begin two different slices, and the third slice begins with one of
    # the 5-second tests: a plain sort would put all four long tests in the first slice.
    assert heads[0] == "tests/slow/test_a.py::test_big"
    assert "tests/x.py::t1" in heads[1:]
    assert all(cost_of(head, COSTS) > 0 for head in heads)
    for start, size in zip(starts, sizes, strict=True):
        part = [cost_of(item.nodeid, COSTS) for item in ordered[start : start + size]]
        assert part == sorted(part, reverse=True), "long tests first within a slice"


def test_every_listed_slow_test_names_a_test_file_or_folder_that_exists() -> None:
    for prefix in read_costs():
        path = prefix.split("::", 1)[0]
        assert (ROOT / path).exists(), f"{SLOW_TESTS_FILE.name} names a missing {path}"


def test_a_line_without_seconds_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "slow.txt"
    listing.write_text("# comment\n\n12 tests/a.py\nsoon tests/b.py\n")
    with pytest.raises(ValueError, match=r"slow.txt:4: expected 'seconds test-id'"):
        read_costs(listing)
