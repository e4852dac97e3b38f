"""``FakePeopleForce``: the account plus what HR staff do outside the API.

The API can only list, create and (un)complete tasks. Scenarios also need the
HR side - someone editing a task's title or dates, deleting a task, an account
filled with realistic (some non-ASCII) people and onboarding/offboarding
tasks - so the gateway meets the changes it would meet in production. The
control plane routes call these methods; tests may call them directly.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import timedelta
from typing import Any

from fakes.peopleforce.model import parse_date
from fakes.peopleforce.state import PeopleForceAccount

__all__ = ["FakePeopleForce"]

_EDITABLE = frozenset(
    {"title", "description", "starts_on", "ends_on", "assigned_to", "associated_to"}
)


class FakePeopleForce(PeopleForceAccount):
    """A PeopleForce account that HR staff and the seeder can change behind the API's back."""

    def edit_task(self, task_id: int, **changes: Any) -> dict[str, Any]:
        """Change title, description, dates or people (None clears); bumps ``updated_at``."""
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise ValueError(f"cannot edit {sorted(unknown)}; editable: {sorted(_EDITABLE)}")
        if "title" in changes and not (changes["title"] or "").strip():
            raise ValueError("title can't be blank")
        with self._lock:
            record = self._record(task_id)
            for person in ("assigned_to", "associated_to"):
                if person in changes:
                    self._require_employee(changes[person])
            for day in ("starts_on", "ends_on"):
                if day in changes:
                    changes[day] = parse_date(changes[day], day)
            if all(getattr(record, k) == v for k, v in changes.items()):
                return self.render(record)
            return self.render(self._touch(record, **changes))

    def delete_task(self, task_id: int) -> None:
        """Remove a task from every list (the API itself has no delete)."""
        with self._lock:
            self._record(task_id)
            del self._records[task_id]
            self._listing_cache.clear()

    # -- seeding -----------------------------------------------------------------------

    def seed_employees(self, n: int, rng: random.Random | None = None) -> list[dict[str, Any]]:
        """Add ``n`` employees with realistic (some non-ASCII) names."""
        rng = rng if rng is not None else self.rng
        made = []
        for _ in range(n):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            email = f"{_ascii(first)}.{_ascii(last)}@example.com".lower()
            made.append(self.add_employee(f"{first} {last}", email))
        return made

    def seed_tasks(self, n: int, rng: random.Random | None = None) -> list[dict[str, Any]]:
        """Create ``n`` varied onboarding/offboarding tasks, seeding employees if there are none."""
        rng = rng if rng is not None else self.rng
        with self._lock:
            if not self.employees:
                self.seed_employees(max(4, n // 3), rng)
            people = sorted(self.employees)
            # Older tasks get lower ids, as they would in a real account.
            ages = sorted((rng.uniform(0, 72) for _ in range(n)), reverse=True)
            created = []
            for age in ages:
                subject = rng.choice(people)
                name = self.employees[subject]["full_name"]
                template = rng.choice(_ONBOARDING if rng.random() < 0.6 else _OFFBOARDING)
                start = self.clock.now().date() + timedelta(days=rng.randint(-3, 14))
                created.append(
                    self.create_task(
                        template.format(name=name),
                        description=rng.choice(_DESCRIPTIONS),
                        assigned_to=rng.choice(people) if rng.random() < 0.7 else None,
                        associated_to=subject if rng.random() < 0.8 else None,
                        starts_on=start if rng.random() < 0.8 else None,
                        ends_on=start + timedelta(days=rng.randint(0, 10)),
                        created_at=self.clock.now() - timedelta(hours=age),
                        completed=rng.random() < 0.15,
                    )
                )
            return created

    # -- dump --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything, for ``GET /_fake/state``."""
        with self._lock:
            return {
                "tasks": list(self.tasks.values()),
                "employees": [dict(e) for _, e in sorted(self.employees.items())],
                "config": {"page_size": self.page_size, "rate_limit": self.rate_limit},
            }


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.replace("Ł", "L").replace("ł", "l"))
    return "".join(c for c in folded if c.isascii() and c.isalnum())


_FIRST_NAMES = (
    "Olena", "Marco", "Zoë", "Jamal", "Priya", "José", "Hannah", "Kenji", "Aisha", "Tomasz",
    "Ingrid", "Liam", "Fatima", "Chen", "Sofía", "Oleksandr",
)  # fmt: skip
_LAST_NAMES = (
    "Kovalenko", "Rossi", "Łukasiewicz", "Okafor", "Sharma", "Álvarez", "Müller", "Tanaka",
    "Haddad", "Nowak", "Johansson", "O'Brien", "Benali", "Wei", "García", "Shevchenko",
)  # fmt: skip
_ONBOARDING = (
    "Prepare laptop for {name}",
    "Create Google Workspace account for {name}",
    "Order access badge for {name}",
    "Schedule welcome meeting with {name}",
    "Add {name} to payroll",
    "Set up VPN & SSO access for {name}",
    "Assign onboarding buddy to {name}",
    "Collect signed contract from {name}",
    "Book first-week 1:1s with {name}",
)
_OFFBOARDING = (
    "Revoke SSO access for {name}",
    "Collect laptop and badge from {name}",
    "Schedule exit interview with {name}",
    "Transfer Drive files of {name}",
    "Process final payroll for {name}",
    "Remove {name} from Slack channels",
)
_DESCRIPTIONS: tuple[str | None, ...] = (
    None,
    "<p>Please complete before the first working day.</p>",
    "<p>Checklist:</p><ul><li>MacBook Pro 14&quot;</li><li>Charger &amp; USB-C hub</li>"
    "<li>Monitor (if requested)</li></ul>",
    "<p><strong>Deadline:</strong> end of week. Ask <em>IT</em> if blocked.</p>",
    '<p>Follow <a href="https://wiki.example.com/onboarding">the onboarding guide</a>.</p>',
    "<p>Steps:</p><ol><li>Open a ticket</li><li>Confirm with the manager</li></ol>"
    "<p>Notes: <br>remote employee, ship by courier</p>",
    "<div>Plain text with no markup at all</div>",
)
