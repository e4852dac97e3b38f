"""What people do to both systems during a scenario, and what the scenario injected.

HR creates, edits, completes and reopens tasks in PeopleForce; people close,
reopen and delete issues in Jira. Each action counts as one human change, the
yardstick of the "writes bounded" guarantee; faults and notes are kept for the
report. Titles come from the scenario's seed, so a run can be replayed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.demo.stack import GatewayStack

PEOPLE = ("Olena Kovalenko", "Marco Rossi", "Zoë Martin", "Jamal Okafor", "Priya Nair")
TITLES = (
    "Prepare the desk for {name}",
    "Create accounts for {name}",
    "Welcome lunch with {name}",
    "Collect the badge of {name}",
    "Schedule the exit interview of {name}",
    "Plan the first week of {name}",
)


@dataclass
class Counters:
    """What the scenario did to the world, for the report."""

    human_changes: int = 0
    faults: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class PeopleStack(GatewayStack):
    """A gateway stack whose users' every action is counted as a human change."""

    def __init__(self, *, seed: int, **stack_options: Any) -> None:
        super().__init__(**stack_options)
        self.rng = random.Random(seed)
        self.counters = Counters()

    def fault(self, description: str) -> None:
        """Note an injected fault for the report."""
        self.counters.faults.append(description)

    def note(self, text: str) -> None:
        self.counters.notes.append(text)

    # --- HR in PeopleForce ----------------------------------------------------------------

    def create_task(self, title: str | None = None, **fields: Any) -> dict[str, Any]:
        self.counters.human_changes += 1
        return self.pf.create_task(title or self.task_title(), **fields)

    def create_tasks(self, count: int) -> list[dict[str, Any]]:
        return [self.create_task() for _ in range(count)]

    def task_title(self) -> str:
        subject = self.rng.choice(PEOPLE)
        return self.rng.choice(TITLES).format(name=subject)

    def edit_task(self, task_id: int, **changes: Any) -> None:
        self.counters.human_changes += 1
        self.pf.edit_task(task_id, **changes)

    def complete_task(self, task_id: int) -> None:
        self.counters.human_changes += 1
        self.pf.complete_task(task_id)

    def reopen_task(self, task_id: int) -> None:
        self.counters.human_changes += 1
        self.pf.reopen_task(task_id)

    # --- people in Jira -------------------------------------------------------------------

    def close_issue(self, task_id: int) -> str:
        """A person moves the task's issue to done through its workflow; returns the issue id."""
        return self._on_issue(
            task_id, lambda issue: self.jira.transition(issue, to_category="done")
        )

    def reopen_issue(self, task_id: int) -> str:
        return self._on_issue(task_id, self.jira.reopen)

    def delete_issue(self, task_id: int) -> str:
        return self._on_issue(task_id, self.jira.delete)

    def remove_label(self, task_id: int, label: str = "PeopleForce") -> str:
        """A person strips the tracking label (Jira's ``update.labels`` remove)."""
        return self._on_issue(task_id, lambda issue: self.jira.remove_labels(issue, label))

    def move_issue(self, task_id: int, project: str) -> str:
        """A person moves the issue to another project: a new key, the same id."""
        return self._on_issue(task_id, lambda issue: self.jira.move(issue, project))

    def edit_issue(self, task_id: int, **fields: Any) -> str:
        """A person edits fields of the issue in Jira (e.g. its summary)."""
        return self._on_issue(task_id, lambda issue: self.jira.edit(issue, **fields))

    def _on_issue(self, task_id: int, action: Callable[[str], object]) -> str:
        issue_id = self.issue_of(task_id)["id"]
        self.counters.human_changes += 1
        action(issue_id)
        return issue_id

    def issues_by_task(self) -> dict[int, list[dict[str, Any]]]:
        """Every labelled issue grouped by the task its lineage property names."""
        return self.issues_grouped_by_task()

    def issue_of(self, task_id: int) -> dict[str, Any]:
        found = self.issues_by_task().get(task_id)
        if not found:
            raise LookupError(f"task {task_id} has no issue")
        return found[0]
