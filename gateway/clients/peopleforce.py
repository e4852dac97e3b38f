"""PeopleForce v3 task API client (see shared/api/peopleforce.md).

PeopleForce has no task webhook, no ``GET /tasks/{id}`` and no change filter, so the
gateway learns everything by paging ``GET /tasks``. Paging is guarded against every
way it can loop or lie: ``page >= pages``, empty or null pages, a server that ignores
``page`` (same ids twice), and a hard cap. A listing cut short is never presented as
complete, because absence from the open list is read as "completed".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from datetime import date
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from gateway.clients.errors import TruncatedListingError
from gateway.clients.models import PFTask, StopReason, TaskPage
from gateway.clients.retry import RetryPolicy
from gateway.clients.transport import (
    Timeout,
    Transport,
    protocol_error,
    reveal,
    summarise_validation_error,
)
from gateway.monitoring.tracing import traced

log = logging.getLogger("gateway.clients")

TASKS_PATH = "/tasks"
TASK_COMPLETE_PATH = "/tasks/{task_id}/complete"
TASK_INCOMPLETE_PATH = "/tasks/{task_id}/incomplete"
API_KEY_HEADER = "X-API-KEY"

DEFAULT_MAX_PAGES = 1000
DEFAULT_COMPLETED_SCAN_PAGES = 100
COMPLETE_STOP_REASONS = frozenset({StopReason.LAST_PAGE, StopReason.EMPTY_PAGE})


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _pagination(body: dict[str, Any]) -> tuple[int | None, int | None]:
    """``(pages, count)`` from the nested ``metadata.pagination`` or the flat ``metadata``."""
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        return None, None
    nested = metadata.get("pagination")
    sources = [nested, metadata] if isinstance(nested, dict) else [metadata]
    pages = count = None
    for source in sources:
        pages = pages if pages is not None else _as_int(source.get("pages"))
        count = count if count is not None else _as_int(source.get("count"))
    return pages, count


class PeopleForceClient:
    """One PeopleForce account, reached through the shared HTTP client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: SecretStr | str,
        *,
        policy: RetryPolicy | None = None,
        timeout: Timeout = None,
    ) -> None:
        key = reveal(api_key)
        self._transport = Transport(
            service="peopleforce",
            http=http,
            base_url=base_url,
            policy=policy or RetryPolicy(),
            headers={API_KEY_HEADER: key, "Accept": "application/json"},
            timeout=timeout,
            secrets=(key,),
        )

    def __repr__(self) -> str:
        return f"PeopleForceClient(base_url={self._transport.base_url!r})"

    async def iter_task_pages(
        self, completed: bool = False, *, max_pages: int = DEFAULT_MAX_PAGES
    ) -> AsyncGenerator[TaskPage, None]:
        """Yield pages of tasks; the last page yielded carries the ``stop_reason``."""
        which = "completed" if completed else "open"
        previous_ids: list[int] | None = None
        page_number = 1
        while True:
            page = await self._fetch_page(completed, page_number)
            ids = [task.id for task in page.tasks]
            if not ids:
                self._log_stop(which, page_number, StopReason.EMPTY_PAGE)
                yield page.model_copy(update={"stop_reason": StopReason.EMPTY_PAGE})
                return
            if ids == previous_ids:
                self._log_stop(which, page_number, StopReason.REPEATED_PAGE)
                yield TaskPage(
                    page=page_number,
                    pages=page.pages,
                    count=page.count,
                    tasks=[],
                    stop_reason=StopReason.REPEATED_PAGE,
                )
                return
            if page.pages is not None and page_number >= page.pages:
                self._log_stop(which, page_number, StopReason.LAST_PAGE)
                yield page.model_copy(update={"stop_reason": StopReason.LAST_PAGE})
                return
            if page_number >= max_pages:
                self._log_stop(which, page_number, StopReason.CAP)
                yield page.model_copy(update={"stop_reason": StopReason.CAP})
                return
            yield page
            previous_ids = ids
            page_number += 1

    async def list_open_tasks(self, *, max_pages: int = DEFAULT_MAX_PAGES) -> list[PFTask]:
        """Every open task, de-duplicated by id (pages shift while they are read).

        Raises TruncatedListingError rather than return a partial list, since a task
        missing from this list would otherwise be taken for completed.
        """
        tasks: dict[int, PFTask] = {}
        stop_reason: StopReason | None = None
        pages_read = 0
        async with aclosing(self.iter_task_pages(False, max_pages=max_pages)) as pages:
            async for page in pages:
                pages_read += 1
                stop_reason = page.stop_reason
                for task in page.tasks:
                    tasks.setdefault(task.id, task)
        if stop_reason not in COMPLETE_STOP_REASONS:
            raise TruncatedListingError("peopleforce open tasks", pages_read)
        return list(tasks.values())

    async def find_completed(
        self, ids: Iterable[int], *, max_pages: int = DEFAULT_COMPLETED_SCAN_PAGES
    ) -> dict[int, PFTask]:
        """The wanted tasks found on the completed list, stopping once all are found.

        The completed list holds all of history, so reading it whole on every tick is
        not an option; ids not returned are unconfirmed (deleted, or beyond the scan).
        """
        wanted = set(ids)
        found: dict[int, PFTask] = {}
        if not wanted:
            return found
        pages_read = 0
        async with aclosing(self.iter_task_pages(True, max_pages=max_pages)) as pages:
            async for page in pages:
                pages_read += 1
                for task in page.tasks:
                    if task.id in wanted:
                        found[task.id] = task
                if len(found) == len(wanted):
                    log.info(
                        "peopleforce completed scan: all %d wanted tasks found after %d pages",
                        len(wanted),
                        pages_read,
                    )
                    break
        return found

    async def complete_task(self, task_id: int) -> None:
        """Mark a task completed; completing twice is harmless, so it is retried."""
        path = TASK_COMPLETE_PATH.format(task_id=int(task_id))
        await self._transport.request("PUT", path, idempotent=True)

    async def incomplete_task(self, task_id: int) -> None:
        path = TASK_INCOMPLETE_PATH.format(task_id=int(task_id))
        await self._transport.request("PUT", path, idempotent=True)

    async def create_task(
        self,
        *,
        name: str,
        employee_id: int,
        description: str | None = None,
        starts_on: date | str | None = None,
        ends_on: date | str | None = None,
    ) -> PFTask:
        """Create a task (not retried: a repeat would create a second task)."""
        body: dict[str, Any] = {"name": name, "employee_id": employee_id}
        if description is not None:
            body["description"] = description
        if starts_on is not None:
            body["starts_on"] = str(starts_on)
        if ends_on is not None:
            body["ends_on"] = str(ends_on)
        response = await self._transport.request(
            "POST", TASKS_PATH, idempotent=False, json_body=body
        )
        payload = self._transport.json(response)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise protocol_error("peopleforce", response, "create task: no task object in 'data'")
        return self._task(data, response)

    @traced(
        "peopleforce.page",
        attributes=lambda self, completed, page_number: {
            "gateway.page.number": page_number,
            "gateway.page.completed": completed,
        },
        result_attributes=lambda page: {"gateway.page.tasks": len(page.tasks)},
    )
    async def _fetch_page(self, completed: bool, page_number: int) -> TaskPage:
        params = {"completed": "true" if completed else "false", "page": page_number}
        response = await self._transport.request("GET", TASKS_PATH, idempotent=True, params=params)
        body = self._transport.json(response)
        if not isinstance(body, dict):
            raise protocol_error("peopleforce", response, "task list: body is not an object")
        data = body.get("data")
        if data is None:
            data = []
        if not isinstance(data, list):
            raise protocol_error("peopleforce", response, "task list: 'data' is not a list")
        tasks = []
        for item in data:
            if not isinstance(item, dict):
                raise protocol_error("peopleforce", response, "task list: an item is not an object")
            tasks.append(self._task(item, response))
        pages, count = _pagination(body)
        return TaskPage(page=page_number, pages=pages, count=count, tasks=tasks)

    def _task(self, raw: dict[str, Any], response: httpx.Response) -> PFTask:
        try:
            return PFTask.from_raw(raw)
        except ValidationError as exc:
            problem = f"task {raw.get('id')!r}: {summarise_validation_error(exc)}"
            raise protocol_error("peopleforce", response, problem) from None

    @staticmethod
    def _log_stop(which: str, page_number: int, reason: StopReason) -> None:
        level = logging.DEBUG if reason in COMPLETE_STOP_REASONS else logging.WARNING
        log.log(
            level,
            "peopleforce %s tasks: stopped at page %d (%s)",
            which,
            page_number,
            reason.value,
            extra={"service": "peopleforce", "stop_reason": reason.value},
        )
