"""PeopleForce v3 task API client (see shared/api/peopleforce.md).

PeopleForce has no task webhook, no ``GET /tasks/{id}`` and no change filter, so the
gateway learns everything by paging ``GET /tasks``. Paging is guarded against every
way it can loop or lie: ``page >= pages``, empty or null pages, a server that ignores
``page`` (same ids twice), and a hard cap. A listing cut short is never presented as
complete, because absence from the open list is read as "completed".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
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


def parse_task(raw: dict[str, Any], response: httpx.Response) -> PFTask:
    """The validated task; a shape PeopleForce should never send is a protocol error."""
    try:
        return PFTask.from_raw(raw)
    except ValidationError as exc:
        problem = f"task {raw.get('id')!r}: {summarise_validation_error(exc)}"
        raise protocol_error("peopleforce", response, problem) from None


@dataclass(frozen=True)
class RawTaskPage:
    """One page of ``GET /tasks`` as decoded JSON objects, parsed only on demand.

    A tick at rest needs only each task's id and its exact dict (for the hash); the
    full model is built for the few tasks that changed (``task``). Every item is
    already known to be an object.
    """

    page: int
    pages: int | None
    count: int | None
    items: list[dict[str, Any]]
    response: httpx.Response = field(repr=False, compare=False)
    stop_reason: StopReason | None = None

    def task(self, raw: dict[str, Any]) -> PFTask:
        """The validated task; a shape PeopleForce should never send is a protocol error."""
        return parse_task(raw, self.response)

    def task_id(self, raw: dict[str, Any]) -> int:
        """The task's id, as the full model reads it (``"42"`` is 42) without building it."""
        task_id = raw.get("id")
        if type(task_id) is int:
            return task_id
        return self.task(raw).id


class _PageFetches:
    """Page requests of one listing, the next one sent while the current one is used.

    Once the first page told how many pages there are, the request for page n + 1
    is started before page n is handed over (and before it is awaited), so the
    server prepares the next page while the caller works on this one: at most two
    requests are in flight. Never beyond the last page or the cap, so a listing
    read to its end costs exactly as many requests as without prefetch.
    """

    def __init__(
        self, client: PeopleForceClient, completed: bool, max_pages: int, prefetch: bool
    ) -> None:
        self._client = client
        self._completed = completed
        self._max_pages = max_pages
        self._prefetch = prefetch
        self._pages: int | None = None
        self._started: dict[int, asyncio.Task[RawTaskPage]] = {}

    def _start(self, page_number: int) -> None:
        last = min(self._pages or 0, self._max_pages)
        if self._prefetch and page_number <= last and page_number not in self._started:
            fetch = self._client._fetch_raw_page(self._completed, page_number)
            self._started[page_number] = asyncio.create_task(fetch)

    async def get(self, page_number: int) -> RawTaskPage:
        """Page ``page_number``, from its prefetch if one was started."""
        self._start(page_number + 1)
        started = self._started.pop(page_number, None)
        if started is None:
            page = await self._client._fetch_raw_page(self._completed, page_number)
        else:
            page = await started
        self._pages = page.pages
        self._start(page_number + 1)
        return page

    async def cancel(self) -> None:
        """Drop prefetches nobody will read (the listing stopped early or failed)."""
        started, self._started = list(self._started.values()), {}
        for fetch in started:
            fetch.cancel()
        await asyncio.gather(*started, return_exceptions=True)


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
        async with aclosing(self.iter_raw_pages(completed, max_pages=max_pages)) as pages:
            async for page in pages:
                tasks = [page.task(item) for item in page.items]
                yield TaskPage(
                    page=page.page,
                    pages=page.pages,
                    count=page.count,
                    tasks=tasks,
                    stop_reason=page.stop_reason,
                )

    async def iter_raw_pages(
        self, completed: bool = False, *, max_pages: int = DEFAULT_MAX_PAGES, prefetch: bool = False
    ) -> AsyncGenerator[RawTaskPage, None]:
        """Yield pages of unparsed tasks; the last page yielded carries the ``stop_reason``.

        ``prefetch`` requests the next page while the caller works on this one (see
        ``_PageFetches``): for a listing read to its end, such as the tick's open list.
        A listing usually left early (a search) would pay one request for nothing.
        """
        which = "completed" if completed else "open"
        fetches = _PageFetches(self, completed, max_pages, prefetch)
        previous_ids: list[int] | None = None
        page_number = 1
        try:
            while True:
                page = await fetches.get(page_number)
                ids = [page.task_id(item) for item in page.items]
                stop = self._stop_reason(page, ids, previous_ids, max_pages)
                if stop is not None:
                    self._log_stop(which, page_number, stop)
                    items = [] if stop is StopReason.REPEATED_PAGE else page.items
                    yield replace(page, items=items, stop_reason=stop)
                    return
                yield page
                previous_ids = ids
                page_number += 1
        finally:
            await fetches.cancel()

    @staticmethod
    def _stop_reason(
        page: RawTaskPage, ids: list[int], previous_ids: list[int] | None, max_pages: int
    ) -> StopReason | None:
        """Why the listing ends at this page, or None to read on."""
        if not ids:
            return StopReason.EMPTY_PAGE
        if ids == previous_ids:
            return StopReason.REPEATED_PAGE
        if page.pages is not None and page.page >= page.pages:
            return StopReason.LAST_PAGE
        if page.page >= max_pages:
            return StopReason.CAP
        return None

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
        result_attributes=lambda page: {"gateway.page.tasks": len(page.items)},
    )
    async def _fetch_raw_page(self, completed: bool, page_number: int) -> RawTaskPage:
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
        for item in data:
            if not isinstance(item, dict):
                raise protocol_error("peopleforce", response, "task list: an item is not an object")
        pages, count = _pagination(body)
        return RawTaskPage(
            page=page_number, pages=pages, count=count, items=data, response=response
        )

    def _task(self, raw: dict[str, Any], response: httpx.Response) -> PFTask:
        return parse_task(raw, response)

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
