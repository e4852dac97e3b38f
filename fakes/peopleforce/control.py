"""``/_fake`` control plane of the fake PeopleForce: the HR staff who change tasks.

PeopleForce has no task webhooks, so what the gateway must notice is whatever
HR does between two polls. Scenarios play that over HTTP:

- ``GET /_fake/state``; ``POST /_fake/employees`` ``{id?, full_name, email}``
- ``POST /_fake/tasks`` ``{title, description?, assigned_to?, associated_to?, starts_on?,
  ends_on?, created_at?, created_by?, completed?}`` (people are employee ids)
- ``PATCH /_fake/tasks/{id}`` (title, description, dates, people; null clears)
- ``POST /_fake/tasks/{id}/complete``, ``POST /_fake/tasks/{id}/reopen``,
  ``DELETE /_fake/tasks/{id}``; ``POST /_fake/seed`` ``{tasks, employees}``
- plus the fault and clock routes of ``fakes.faults.fault_routes``.

Each route is one call into ``FakePeopleForce`` so Python and HTTP drive the same code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from fakes.peopleforce.fake import FakePeopleForce

__all__ = ["EmployeeIn", "SeedIn", "TaskEdit", "TaskIn", "control_router"]


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


def control_router(pf: FakePeopleForce) -> APIRouter:
    """Routes under ``/_fake``; unknown ids answer 404 and invalid values 422."""
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
