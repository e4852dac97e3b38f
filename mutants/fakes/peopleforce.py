"""Fake PeopleForce API v3: tasks and employees, as the gateway's polling client sees them.

It copies the documented quirks (see shared/api/peopleforce.md) because the
gateway must survive them: ``completed`` defaults to false, the page size is
fixed by the server, the request says ``name`` where the response says
``title``, unset people are absent rather than null, 404 bodies are HTML and
``complete``/``incomplete`` answer with an empty body. The ``/_fake`` control
plane plays the HR staff who create, edit, finish and delete tasks:

- ``GET /_fake/state``; ``POST /_fake/employees`` ``{id?, full_name, email}``
- ``POST /_fake/tasks`` ``{title, description?, assigned_to?, associated_to?, starts_on?,
  ends_on?, created_at?, created_by?, completed?}`` (people are employee ids)
- ``PATCH /_fake/tasks/{id}`` (title, description, dates, people; null clears)
- ``POST /_fake/tasks/{id}/complete``, ``POST /_fake/tasks/{id}/reopen``,
  ``DELETE /_fake/tasks/{id}``; ``POST /_fake/seed`` ``{tasks, employees}``
- plus the fault and clock routes of ``fakes.faults.fault_routes``.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from fakes.clock import FakeClock
from fakes.faults import FaultPlane, fault_routes, install_faults, mark_fault

TASK_TYPE = "Tasks::General"
API_USER: dict[str, Any] = {
    "id": 9000,
    "full_name": "HR Integration",
    "email": "hr-api@example.com",
}
"""``created_by`` of tasks created through the API (the API key's owner)."""

NOT_FOUND_HTML = (
    "<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you were looking for doesn't exist"
    ' (404)</title>\n</head>\n<body>\n  <div class="dialog">\n    <h1>The page you were'
    " looking for doesn't exist.</h1>\n    <p>You may have mistyped the address or the page"
    " may have moved.</p>\n  </div>\n</body>\n</html>\n"
)
_TRUE_VALUES = frozenset({"true", "1", "t", "yes", "on"})
_EDITABLE = frozenset(
    {"title", "description", "starts_on", "ends_on", "assigned_to", "associated_to"}
)


def iso_z(moment: datetime) -> str:
    """PeopleForce's timestamp format: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"p", "div", "li", "br", "h1", "h2", "h3", "h4", "tr", "ul", "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_plain(html: str | None) -> str | None:
    """``description_plain``: the HTML description without tags, one line per block."""
    if html is None:
        return None
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _parse_date(value: Any, field_name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{_human(field_name)} is not a valid date")


def _parse_moment(value: datetime | str | None, clock: FakeClock) -> datetime:
    if value is None:
        return clock.now()
    moment = value
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return moment.astimezone(UTC)


def _human(field_name: str) -> str:
    return field_name.replace("_", " ").capitalize()


def _errors(*messages: str) -> dict[str, Any]:
    return {"success": False, "errors": [{"message": m} for m in messages]}


class PeopleForceError(Exception):
    """An answer in PeopleForce's own error shape (never FastAPI's ``detail``)."""

    def __init__(
        self,
        status: int,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        fault: str | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.fault = fault

    def response(self) -> Response:
        if isinstance(self.body, dict):
            return JSONResponse(self.body, self.status, headers=self.headers)
        if isinstance(self.body, str):
            return Response(self.body, self.status, self.headers, media_type="text/html")
        return Response(b"", self.status, self.headers)


@dataclass(frozen=True)
class TaskRecord:
    """A stored task; people are kept as employee ids and rendered live."""

    id: int
    title: str
    description: str | None
    starts_on: date | None
    ends_on: date | None
    completed: bool
    completed_at: datetime | None
    assigned_to: int | None
    associated_to: int | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class FakePeopleForce:
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
            moment = _parse_moment(created_at, self.clock).replace(microsecond=0)
            record = TaskRecord(
                id=self._next_task_id,
                title=title,
                description=description,
                starts_on=_parse_date(starts_on, "starts_on"),
                ends_on=_parse_date(ends_on, "ends_on"),
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
                    changes[day] = _parse_date(changes[day], day)
            if all(getattr(record, k) == v for k, v in changes.items()):
                return self.render(record)
            return self.render(self._touch(record, **changes))

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

    def delete_task(self, task_id: int) -> None:
        """Remove a task from every list (the API itself has no delete)."""
        with self._lock:
            self._record(task_id)
            del self._records[task_id]
            self._listing_cache.clear()

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


# -- HTTP ------------------------------------------------------------------------------


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE_VALUES


def _page_number(value: str | None) -> int:
    """Like Rails' ``to_i`` plus Kaminari: junk, zero and negatives mean page 1."""
    try:
        return max(1, int(value)) if value is not None else 1
    except ValueError:
        return 1


def _numeric_id(raw: str) -> int:
    if not raw.isdigit():
        raise PeopleForceError(404, NOT_FOUND_HTML)
    return int(raw)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        raise PeopleForceError(400, _errors("Request body is not valid JSON")) from None
    if not isinstance(body, dict):
        raise PeopleForceError(400, _errors("Request body must be a JSON object"))
    return body


def _validate_create(body: dict[str, Any], pf: FakePeopleForce) -> dict[str, Any]:
    """Check a ``POST /tasks`` body; ``employee_id`` becomes the assignee (inference)."""
    problems: list[str] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("Name can't be blank")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        problems.append("Description must be a string")
    employee_id = body.get("employee_id")
    usable = isinstance(employee_id, int | str) and not isinstance(employee_id, bool)
    if usable and str(employee_id).isdigit() and int(str(employee_id)) in pf.employees:
        employee_id = int(str(employee_id))
    else:
        problems.append("Employee must exist")
    days: dict[str, date | None] = {}
    for key in ("starts_on", "ends_on"):
        try:
            days[key] = _parse_date(body.get(key), key)
        except ValueError:
            problems.append(f"{_human(key)} is not a valid date")
    start, end = days.get("starts_on"), days.get("ends_on")
    if start and end and end < start:
        problems.append("Ends on must be on or after starts on")
    if problems:
        raise PeopleForceError(422, _errors(*problems))
    return {
        "title": name,
        "description": description,
        "assigned_to": employee_id,
        "starts_on": start,
        "ends_on": end,
    }


def _api_router(pf: FakePeopleForce) -> APIRouter:
    async def guard(request: Request) -> None:
        pf.admit(request.headers.get("x-api-key"))

    router = APIRouter(dependencies=[Depends(guard)])

    @router.get("/tasks")
    def list_tasks(request: Request) -> dict[str, Any]:
        query = request.query_params
        tasks = pf.list_tasks(completed=_truthy(query.get("completed")))
        return pf.page(tasks, _page_number(query.get("page")))

    @router.post("/tasks")
    async def create_task(request: Request) -> dict[str, Any]:
        fields = _validate_create(await _json_object(request), pf)
        try:
            task = pf.create_task(fields.pop("title"), created_by=API_USER["id"], **fields)
        except KeyError:
            raise PeopleForceError(422, _errors("Employee must exist")) from None
        return {"data": task}

    @router.put("/tasks/{task_id}/complete")
    def complete(task_id: str) -> Response:
        try:
            pf.complete_task(_numeric_id(task_id))
        except KeyError:
            raise PeopleForceError(404, NOT_FOUND_HTML) from None
        return Response(status_code=200)

    @router.put("/tasks/{task_id}/incomplete")
    def incomplete(task_id: str) -> Response:
        try:
            pf.reopen_task(_numeric_id(task_id))
        except KeyError:
            raise PeopleForceError(404, NOT_FOUND_HTML) from None
        return Response(status_code=200)

    @router.get("/employees/{employee_id}/tasks")
    def employee_tasks(employee_id: str, request: Request) -> dict[str, Any]:
        person = _numeric_id(employee_id)
        if person not in pf.employees:
            raise PeopleForceError(404, NOT_FOUND_HTML)
        query = request.query_params
        tasks = pf.list_tasks(completed=_truthy(query.get("completed")), assigned_to=person)
        return pf.page(tasks, _page_number(query.get("page")))

    return router


# -- control plane ---------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmployeeIn(_Body):
    id: int | None = Field(default=None, ge=1)
    full_name: str = Field(min_length=1)
    email: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")


class TaskIn(_Body):
    title: str = Field(min_length=1)
    description: str | None = None
    assigned_to: int | None = None
    associated_to: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    created_at: datetime | None = None
    created_by: int | None = None
    completed: bool = False


class TaskEdit(_Body):
    title: str | None = Field(default=None, min_length=1)
    description: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    assigned_to: int | None = None
    associated_to: int | None = None


class SeedIn(_Body):
    tasks: int = Field(default=0, ge=0, le=10_000)
    employees: int = Field(default=0, ge=0, le=10_000)


def _control_router(pf: FakePeopleForce) -> APIRouter:
    router = APIRouter(prefix="/_fake", tags=["fake control"])

    def run(action: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    @router.get("/state")
    def state() -> dict[str, Any]:
        return pf.state()

    @router.post("/employees", status_code=201)
    def add_employee(body: EmployeeIn) -> dict[str, Any]:
        return pf.add_employee(body.full_name, body.email, id=body.id)

    @router.post("/tasks", status_code=201)
    def create_task(body: TaskIn) -> dict[str, Any]:
        fields = body.model_dump()
        return run(pf.create_task, fields.pop("title"), **fields)

    @router.patch("/tasks/{task_id}")
    def edit_task(task_id: int, body: TaskEdit) -> dict[str, Any]:
        return run(pf.edit_task, task_id, **body.model_dump(exclude_unset=True))

    @router.post("/tasks/{task_id}/complete")
    def complete_task(task_id: int) -> dict[str, Any]:
        return run(pf.complete_task, task_id)

    @router.post("/tasks/{task_id}/reopen")
    def reopen_task(task_id: int) -> dict[str, Any]:
        return run(pf.reopen_task, task_id)

    @router.delete("/tasks/{task_id}", status_code=204)
    def delete_task(task_id: int) -> Response:
        run(pf.delete_task, task_id)
        return Response(status_code=204)

    @router.post("/seed", status_code=201)
    def seed(body: SeedIn) -> dict[str, Any]:
        employees = pf.seed_employees(body.employees)
        tasks = pf.seed_tasks(body.tasks)
        return {"employees": employees, "tasks": tasks}

    return router


def create_peopleforce_app(
    *,
    api_key: str = "pf-test-key",
    page_size: int = 50,
    seed: int = 0,
    clock: FakeClock | None = None,
    plane: FaultPlane | None = None,
    rate_limit: int | None = None,
    forbidden_keys: set[str] | None = None,
    base_path: str = "",
) -> FastAPI:
    """Build the fake; state on ``app.state.pf``, faults on ``app.state.faults``.

    ``base_path`` mounts the API under e.g. ``/api/public/v3`` to exercise a
    client's base-URL handling; the control plane stays at ``/_fake``.
    """
    if plane is None:
        plane = FaultPlane(seed=seed, clock=clock)
    elif clock is not None:
        plane.clock = clock
    pf = FakePeopleForce(
        api_key=api_key,
        page_size=page_size,
        clock=plane.clock,
        rng=plane.rng,
        rate_limit=rate_limit,
        forbidden_keys=forbidden_keys,
    )
    app = FastAPI(
        title="Fake PeopleForce API v3",
        docs_url="/_fake/docs",
        openapi_url="/_fake/openapi.json",
        redoc_url=None,
    )
    app.state.pf = pf

    @app.exception_handler(PeopleForceError)
    async def peopleforce_error(request: Request, exc: PeopleForceError) -> Response:
        if exc.fault is not None:
            mark_fault(request, exc.fault)
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def unmatched(request: Request, exc: StarletteHTTPException) -> Response:
        # Rails answers unknown routes and methods with its static 404 page.
        if plane.is_control(request.url.path) or exc.status_code not in (404, 405):
            return await http_exception_handler(request, exc)
        return PeopleForceError(404, NOT_FOUND_HTML).response()

    app.include_router(_api_router(pf), prefix=base_path.rstrip("/"))
    app.include_router(_control_router(pf))
    app.include_router(fault_routes(plane))
    install_faults(app, plane)
    return app


__all__ = [
    "API_USER",
    "FakePeopleForce",
    "PeopleForceError",
    "TaskRecord",
    "create_peopleforce_app",
    "html_to_plain",
    "iso_z",
]
