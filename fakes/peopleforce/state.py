"""The fake PeopleForce account: what its API reads and changes.

Tasks and employees in memory, rendered the way the API renders them (people
absent rather than null, whole-second timestamps), listed newest first in
fixed-size pages, behind an API key and an optional per-second rate limit.
``FakePeopleForce`` (``fakes.peopleforce.fake``) adds what HR staff do in the
UI. Every method locks, because the server answers on another thread than the
test or scenario that calls it.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from fakes.clock import FakeClock
from fakes.peopleforce.errors import PeopleForceError
from fakes.peopleforce.model import (
    API_USER,
    TASK_TYPE,
    TaskRecord,
    html_to_plain,
    iso_z,
    parse_date,
    parse_moment,
)

__all__ = ["PeopleForceAccount"]


class PeopleForceAccount:
    """The in-memory account: tasks, employees, API keys and the optional rate limit.

    Every method is safe to call from a test thread while the app serves from
    the server thread.
    """

    def __init__(
        self,
        *,
        api_key: str = "pf-test-key",
        page_size: int = 50,
        clock: FakeClock | None = None,
        rng: random.Random | None = None,
        rate_limit: int | None = None,
        forbidden_keys: set[str] | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if rate_limit is not None and rate_limit < 1:
            raise ValueError("rate_limit must be at least 1 request per second")
        self.api_key = api_key
        self.forbidden_keys: set[str] = set(forbidden_keys or ())
        self.repeat_complete_status: int | None = None
        """When set (a 4xx), completing an already completed task over the API answers it:
        PeopleForce does not document that case, so the gateway must cope with either."""
        self.page_size = page_size
        self.clock = clock if clock is not None else FakeClock()
        self.rng = rng if rng is not None else random.Random(0)
        self.rate_limit = rate_limit
        self.employees: dict[int, dict[str, Any]] = {}
        self._records: dict[int, TaskRecord] = {}
        self._next_task_id = 1
        self._lock = threading.RLock()
        self._recent: deque[float] = deque()
        # Rendered listings, dropped on every change: paging N tasks must not render N^2.
        self._listing_cache: dict[tuple[bool, int | None], list[dict[str, Any]]] = {}

    # -- employees ---------------------------------------------------------------------

    def add_employee(self, full_name: str, email: str, id: int | None = None) -> dict[str, Any]:
        """Add (or replace) an employee; ids are allocated after the highest one when omitted."""
        with self._lock:
            employee_id = id if id is not None else max(self.employees, default=0) + 1
            employee = {"id": employee_id, "full_name": full_name, "email": email}
            self.employees[employee_id] = employee
            self._listing_cache.clear()
            return dict(employee)

    def list_employees(self) -> list[dict[str, Any]]:
        """Every employee by id, as ``GET /employees`` lists them."""
        with self._lock:
            return [dict(self.employees[key]) for key in sorted(self.employees)]

    def _person(self, employee_id: int | None, *, typed: bool = False) -> dict[str, Any] | None:
        if employee_id is None:
            return None
        found = self.employees.get(employee_id)
        if found is None and employee_id == API_USER["id"]:
            found = API_USER
        if found is None:
            return None
        person = {"id": found["id"], "full_name": found["full_name"], "email": found["email"]}
        return {"id": found["id"], "type": "Employee", **person} if typed else person

    def _require_employee(self, employee_id: int | None) -> None:
        if employee_id is not None and employee_id not in self.employees:
            raise KeyError(f"no employee {employee_id}")

    # -- tasks -------------------------------------------------------------------------

    @property
    def tasks(self) -> dict[int, dict[str, Any]]:
        """Every task (open, completed) as the API renders it, by id."""
        with self._lock:
            return {task_id: self.render(r) for task_id, r in sorted(self._records.items())}

    def get_task(self, task_id: int) -> dict[str, Any]:
        with self._lock:
            return self.render(self._record(task_id))

    def render(self, record: TaskRecord) -> dict[str, Any]:
        """The API's Task object: people absent (not null) when unset."""
        task: dict[str, Any] = {
            "id": record.id,
            "title": record.title,
            "type": TASK_TYPE,
            "description": record.description,
            "description_plain": html_to_plain(record.description),
            "starts_on": record.starts_on.isoformat() if record.starts_on else None,
            "ends_on": record.ends_on.isoformat() if record.ends_on else None,
            "completed": record.completed,
            "completed_at": iso_z(record.completed_at) if record.completed_at else None,
        }
        associated = self._person(record.associated_to, typed=True)
        if associated is not None:
            task["associated_to"] = associated
        assigned = self._person(record.assigned_to)
        if assigned is not None:
            task["assigned_to"] = assigned
        task["created_by"] = self._person(record.created_by)
        task["created_at"] = iso_z(record.created_at)
        task["updated_at"] = iso_z(record.updated_at)
        return task

    def _record(self, task_id: int) -> TaskRecord:
        record = self._records.get(task_id)
        if record is None:
            raise KeyError(f"no task {task_id}")
        return record

    def _touch(self, record: TaskRecord, **changes: Any) -> TaskRecord:
        """Apply ``changes`` and bump ``updated_at``, strictly: timestamps have whole seconds."""
        now = self.clock.now().replace(microsecond=0)
        updated = max(now, record.updated_at.replace(microsecond=0) + timedelta(seconds=1))
        new = replace(record, **changes, updated_at=updated)
        self._records[record.id] = new
        self._listing_cache.clear()
        return new

    def create_task(
        self,
        title: str,
        *,
        description: str | None = None,
        assigned_to: int | None = None,
        associated_to: int | None = None,
        starts_on: date | str | None = None,
        ends_on: date | str | None = None,
        created_at: datetime | str | None = None,
        created_by: int | None = None,
        completed: bool = False,
    ) -> dict[str, Any]:
        """What an HR user does in the PeopleForce UI; people are employee ids."""
        if not title or not title.strip():
            raise ValueError("title can't be blank")
        with self._lock:
            self._require_employee(assigned_to)
            self._require_employee(associated_to)
            if created_by != API_USER["id"]:
                self._require_employee(created_by)
            moment = parse_moment(created_at, self.clock).replace(microsecond=0)
            record = TaskRecord(
                id=self._next_task_id,
                title=title,
                description=description,
                starts_on=parse_date(starts_on, "starts_on"),
                ends_on=parse_date(ends_on, "ends_on"),
                completed=completed,
                completed_at=moment if completed else None,
                assigned_to=assigned_to,
                associated_to=associated_to,
                created_by=created_by if created_by is not None else API_USER["id"],
                created_at=moment,
                updated_at=moment,
            )
            self._next_task_id += 1
            self._records[record.id] = record
            self._listing_cache.clear()
            return self.render(record)

    def complete_task(self, task_id: int) -> dict[str, Any]:
        """Mark done; completing a completed task changes nothing (like the real API)."""
        with self._lock:
            record = self._record(task_id)
            if record.completed:
                return self.render(record)
            now = self.clock.now().replace(microsecond=0)
            return self.render(self._touch(record, completed=True, completed_at=now))

    def reopen_task(self, task_id: int) -> dict[str, Any]:
        """Mark open again and clear ``completed_at``."""
        with self._lock:
            record = self._record(task_id)
            if not record.completed:
                return self.render(record)
            return self.render(self._touch(record, completed=False, completed_at=None))

    def list_tasks(
        self, *, completed: bool = False, assigned_to: int | None = None
    ) -> list[dict[str, Any]]:
        """Tasks in API order (id descending), filtered like the list endpoints."""
        with self._lock:
            cached = self._listing_cache.get((completed, assigned_to))
            if cached is not None:
                return cached
            records = [
                r
                for r in self._records.values()
                if r.completed == completed and assigned_to in (None, r.assigned_to)
            ]
            records.sort(key=lambda r: r.id, reverse=True)
            listing = [self.render(r) for r in records]
            self._listing_cache[(completed, assigned_to)] = listing
            return listing

    def page(self, tasks: list[dict[str, Any]], page: int) -> dict[str, Any]:
        """The pagination envelope; ``pages`` is at least 1 and a page past the end is empty."""
        size = self.page_size
        start = (page - 1) * size
        return {
            "data": tasks[start : start + size],
            "metadata": {
                "pagination": {
                    "page": page,
                    "pages": max(1, math.ceil(len(tasks) / size)),
                    "count": len(tasks),
                    "items": size,
                }
            },
        }

    # -- API guards --------------------------------------------------------------------

    def admit(self, api_key: str | None) -> None:
        """Rate limit, then authenticate; raises the answer a real account would give."""
        with self._lock:
            if self.rate_limit is not None:
                now = time.monotonic()
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                if len(self._recent) >= self.rate_limit:
                    wait = max(1, math.ceil(self._recent[0] + 1.0 - now))
                    raise PeopleForceError(
                        429,
                        {"message": "Too many requests"},
                        {"Retry-After": str(wait)},
                        fault="rate_limit",
                    )
                self._recent.append(now)
        if api_key is not None and api_key in self.forbidden_keys:
            raise PeopleForceError(403, {"message": "Forbidden"})
        if api_key is None or api_key != self.api_key:
            raise PeopleForceError(401, {"message": "Bad Credentials"})
