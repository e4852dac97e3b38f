"""Helpers shared by the fake PeopleForce's tests."""

from __future__ import annotations

from typing import Any

from fakes.peopleforce import FakePeopleForce


def make_tasks(pf: FakePeopleForce, n: int, **kwargs: Any) -> list[int]:
    return [pf.create_task(f"Task {i}", **kwargs)["id"] for i in range(n)]
