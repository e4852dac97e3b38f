"""The fakes as the benchmarks need them: seeded in bulk, with a cached task listing.

The fake PeopleForce renders every stored task on every list request, so paging
N tasks costs O(N^2) in the fake alone. The benchmarks measure the gateway, not
that, so the listing is cached (and dropped on every change) by ``cache_listing``;
the fake's remaining cost per page is still measured and reported separately.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fakes.jira import FakeJira
from fakes.peopleforce import FakePeopleForce
from gateway.demo.records import DOMAIN_NAME, LINEAGE_PROPERTY

TEAM_SIZE = 12
_SUBJECTS = ("Olena Kovalenko", "Marco Rossi", "Zoë Łukasiewicz", "Jamal Okafor", "Priya Sharma")
_TITLES = (
    "Prepare laptop for {name}",
    "Create Google Workspace account for {name}",
    "Order access badge for {name}",
    "Set up VPN & SSO access for {name}",
    "Revoke SSO access for {name}",
    "Collect laptop and badge from {name}",
    "Schedule exit interview with {name}",
)
_DESCRIPTIONS = (
    None,
    "<p>Please complete before the first working day.</p>",
    "<p>Checklist:</p><ul><li>MacBook Pro 14&quot;</li><li>Charger &amp; USB-C hub</li>"
    "<li>Monitor (if requested)</li></ul>",
    '<p>Follow <a href="https://wiki.example.com/onboarding">the onboarding guide</a>.</p>',
)


def cache_listing(pf: FakePeopleForce) -> None:
    """Serve ``list_tasks`` from a cache that every mutation of the fake invalidates."""
    original = pf.list_tasks
    cache: dict[tuple[bool, int | None], list[dict[str, Any]]] = {}
    lock = threading.Lock()

    def list_tasks(*, completed: bool = False, assigned_to: int | None = None) -> list[Any]:
        key = (completed, assigned_to)
        with lock:
            found = cache.get(key)
            if found is None:
                found = cache[key] = original(completed=completed, assigned_to=assigned_to)
            return found

    def invalidating(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            finally:
                with lock:
                    cache.clear()

        return wrapper

    for name in ("create_task", "edit_task", "complete_task", "reopen_task", "delete_task"):
        setattr(pf, name, invalidating(getattr(pf, name)))
    pf.list_tasks = list_tasks


def team_emails() -> list[str]:
    return [f"agent{i}@example.com" for i in range(TEAM_SIZE)]


def seed_open_tasks(pf: FakePeopleForce, n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` open tasks: new hires as subjects, a small HR/IT team as assignees.

    Returns the tasks exactly as the API serves them (a JSON round trip of the render).
    """
    rng = random.Random(seed)
    team = [pf.add_employee(f"Agent {i}", email)["id"] for i, email in enumerate(team_emails())]
    subjects = [
        pf.add_employee(f"{rng.choice(_SUBJECTS)} {i}", f"hire{i}@example.com")["id"]
        for i in range(max(1, min(2000, n // 3)))
    ]
    now = pf.clock.now()
    for i in range(n):
        subject = rng.choice(subjects)
        name = pf.employees[subject]["full_name"]
        start = now.date() + timedelta(days=rng.randint(-3, 14))
        pf.create_task(
            rng.choice(_TITLES).format(name=name),
            description=rng.choice(_DESCRIPTIONS),
            assigned_to=rng.choice(team) if rng.random() < 0.8 else None,
            associated_to=subject,
            starts_on=start,
            ends_on=start + timedelta(days=rng.randint(0, 10)),
            created_at=now - timedelta(hours=72 * (n - i) / n),
        )
    return [json.loads(json.dumps(task)) for task in pf.list_tasks()]


def seed_issues(
    jira: FakeJira, tasks: list[dict[str, Any]], domain_id: int, label: str = "PeopleForce"
) -> dict[int, tuple[str, str]]:
    """One labelled issue with its lineage property per task, made directly in the fake."""
    issues: dict[int, tuple[str, str]] = {}
    for task in tasks:
        lineage = {"pf_task_id": task["id"], "domain": DOMAIN_NAME, "domain_id": domain_id}
        issue = jira.create(
            "HR", task["title"], labels=[label], properties={LINEAGE_PROPERTY: lineage}
        )
        issues[task["id"]] = (str(issue.id), issue.key)
    return issues


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll ``check`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()
