"""Delivery of the fake Jira's admin webhooks: queue, signed POST, Jira's retry policy.

The fake reproduces what makes the return vector hard: at-least-once delivery
with Jira's retries, an identifier that stays the same across retries and
duplicates, and injectable loss, duplication, delay and reordering (drawn from
a seeded ``random.Random`` so a scenario replays). Every attempt lands in a log
that a scenario can compare with what the gateway received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from fakes.jira.jql import JqlRecord, parse_jql
from fakes.jira.webhooks import DEFAULT_FILTER, DeliveryRecord, Webhook, WebhookFaults, sign
from fakes.records import RecordLog

__all__ = ["DEFAULT_RETRY_DELAYS", "RETRYABLE_STATUSES", "WebhookDispatcher"]

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Jira waits 5-15 minutes between its five retries; compressed here to keep runs short."""
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
_IDLE_POLL_SECONDS = 0.02


@dataclass
class _Pending:
    identifier: str
    webhook: Webhook
    issue_id: str | None
    event: str
    body: bytes
    due: float
    seq: int
    attempt: int = 0
    duplicate: bool = False


class WebhookDispatcher:
    """Queue, deliver and retry webhook events.

    ``fire`` may be called from any thread (REST handlers on the server's loop,
    control-plane calls from a test); delivery runs either in the background
    task started by ``start`` (the app's lifespan does this under uvicorn) or
    on demand through ``drain``/``deliver_due``.
    """

    def __init__(
        self,
        *,
        rng: random.Random,
        now: Callable[[], datetime],
        base_url: str,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.rng = rng
        self._now = now
        self.base_url = base_url
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.transport = transport
        self.faults = WebhookFaults()
        self.hooks: dict[int, Webhook] = {}
        self._next_id = 1
        self._seq = 0
        self._lock = threading.RLock()
        self._pending: list[_Pending] = []
        self._in_flight = 0
        self._log: RecordLog[DeliveryRecord] = RecordLog()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # -- registration ----------------------------------------------------------

    def register(
        self,
        url: str,
        *,
        name: str = "gateway",
        events: Sequence[str] = ("jira:issue_updated",),
        jql: str | None = DEFAULT_FILTER,
        secret: str | None = None,
        exclude_body: bool = False,
    ) -> Webhook:
        """Add a webhook; an invalid JQL filter raises ``JqlError`` (Jira answers 400)."""
        query = parse_jql(jql) if jql else None
        with self._lock:
            hook = Webhook(
                id=self._next_id,
                name=name,
                url=url,
                events=list(events),
                jql=jql or None,
                secret=secret or None,
                exclude_body=exclude_body,
                query=query,
            )
            self.hooks[hook.id] = hook
            self._next_id += 1
        return hook

    def unregister(self, hook_id: int) -> bool:
        with self._lock:
            return self.hooks.pop(hook_id, None) is not None

    def all(self) -> list[Webhook]:
        with self._lock:
            return list(self.hooks.values())

    def set_faults(self, **changes: Any) -> WebhookFaults:
        """Change some fault settings (``drop_rate``, ``duplicate_rate``, ``delay``, ...)."""
        with self._lock:
            data = asdict(self.faults) | changes
            data["delay"] = tuple(data["delay"])
            faults = WebhookFaults(**data)
            faults.validate()
            self.faults = faults
            return faults

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = WebhookFaults()

    # -- firing ----------------------------------------------------------------

    def fire(
        self, event: str, record: JqlRecord, payload: dict[str, Any], now: datetime
    ) -> list[str]:
        """Queue ``payload`` for every webhook whose events and filter match; return ids."""
        with self._lock:
            hooks = [h for h in self.hooks.values() if h.wants(event, record, now)]
            if not hooks:
                return []
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            identifiers = []
            for hook in hooks:
                identifier = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
                identifiers.append(identifier)
                self._queue(hook, identifier, str(record.id), event, body)
        self._poke()
        return identifiers

    def _queue(
        self, hook: Webhook, identifier: str, issue_id: str, event: str, body: bytes
    ) -> None:
        faults = self.faults
        sent_body = b"" if hook.exclude_body else body
        if faults.drop_rate and self.rng.random() < faults.drop_rate:
            self._record(identifier, hook, issue_id, event, 0, None, None, "dropped")
            return
        copies = 1
        if faults.duplicate_rate and self.rng.random() < faults.duplicate_rate:
            copies += faults.duplicate_count
        for n in range(copies):
            self._seq += 1
            self._pending.append(
                _Pending(
                    identifier=identifier,
                    webhook=hook,
                    issue_id=issue_id,
                    event=event,
                    body=sent_body,
                    due=time.monotonic() + self._draw_delay(),
                    seq=self._seq,
                    duplicate=n > 0,
                )
            )
        if faults.reorder:
            self.rng.shuffle(self._pending)

    def _draw_delay(self) -> float:
        low, high = self.faults.delay
        return self.rng.uniform(low, high) if high > 0 else 0.0

    # -- delivery --------------------------------------------------------------

    def _take_due(self) -> list[_Pending]:
        with self._lock:
            now = time.monotonic()
            due = [p for p in self._pending if p.due <= now]
            if not due:
                return []
            self._pending = [p for p in self._pending if p.due > now]
            if not self.faults.reorder:
                due.sort(key=lambda p: (p.due, p.seq))
            self._in_flight += len(due)
            return due

    async def deliver_due(self, client: httpx.AsyncClient | None = None) -> int:
        """Send every delivery that is due now, in order; return how many were attempted."""
        batch = self._take_due()
        if not batch:
            return 0
        async with contextlib.AsyncExitStack() as stack:
            if client is None:
                client = await stack.enter_async_context(self._client())
            for index, pending in enumerate(batch):
                try:
                    await self._attempt(client, pending)
                except BaseException:
                    with self._lock:
                        self._pending.extend(batch[index + 1 :])
                        self._in_flight -= len(batch) - index
                    raise
                with self._lock:
                    self._in_flight -= 1
        return len(batch)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.timeout, transport=self.transport)

    async def _attempt(self, client: httpx.AsyncClient, p: _Pending) -> None:
        hook = p.webhook
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": p.identifier,
            "X-Atlassian-Webhook-Flow": "Primary",
        }
        if p.attempt > 0:
            headers["X-Atlassian-Webhook-Retry"] = str(p.attempt)
        if hook.secret:
            headers["X-Hub-Signature"] = sign(hook.secret, p.body)
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(hook.url, content=p.body, headers=headers)
            status = response.status_code
        except httpx.TimeoutException as exc:
            error = f"timeout: {type(exc).__name__}"
        except httpx.TransportError as exc:
            error = f"connection: {type(exc).__name__}: {exc}"
        retryable = error is not None or (
            status is not None and (status in RETRYABLE_STATUSES or status >= 500)
        )
        if status is not None and 200 <= status < 300:
            outcome = "duplicate" if p.duplicate else "sent"
        elif retryable and not p.duplicate and p.attempt < len(self.retry_delays):
            outcome = "retried"
            delay = self.retry_delays[p.attempt]
            with self._lock:
                self._seq += 1
                retry = replace(
                    p, due=time.monotonic() + delay, seq=self._seq, attempt=p.attempt + 1
                )
                self._pending.append(retry)
        else:
            outcome = "failed"
        self._record(p.identifier, hook, p.issue_id, p.event, p.attempt, status, error, outcome)

    async def drain(self, timeout: float = 30.0) -> None:
        """Deliver until nothing is queued or in flight, waiting out delays and retries."""
        deadline = time.monotonic() + timeout
        async with self._client() as client:
            while True:
                await self.deliver_due(client)
                with self._lock:
                    idle = not self._pending and self._in_flight == 0
                    next_due = min((p.due for p in self._pending), default=None)
                if idle:
                    return
                now = time.monotonic()
                if now >= deadline:
                    raise TimeoutError(f"webhook queue not drained within {timeout} s")
                wait = _IDLE_POLL_SECONDS if next_due is None else next_due - now
                await asyncio.sleep(min(max(wait, 0.0), _IDLE_POLL_SECONDS, deadline - now))

    # -- background task -------------------------------------------------------

    def start(self) -> None:
        """Deliver continuously on the running loop (idempotent)."""
        if self._task is not None and not self._task.done():
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = self._loop.create_task(self._run(), name="fake-jira-webhooks")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None
        self._wake = None

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        async with self._client() as client:
            while True:
                await self.deliver_due(client)
                with self._lock:
                    next_due = min((p.due for p in self._pending), default=None)
                wait = _IDLE_POLL_SECONDS * 5
                if next_due is not None:
                    wait = min(wait, max(next_due - time.monotonic(), 0.0))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), wait)
                wake.clear()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(wake.set)

    # -- log -------------------------------------------------------------------

    def _record(
        self,
        identifier: str,
        hook: Webhook,
        issue_id: str | None,
        event: str,
        attempt: int,
        status: int | None,
        error: str | None,
        outcome: str,
    ) -> None:
        entry = DeliveryRecord(
            identifier=identifier,
            webhook_id=hook.id,
            issue_id=issue_id,
            event=event,
            attempt=attempt,
            status=status,
            error=error,
            outcome=outcome,
            at=self._now().isoformat(),
            url=hook.url,
        )
        self._log.append(entry)

    @property
    def log(self) -> list[DeliveryRecord]:
        """Every attempt so far, oldest first (a copy)."""
        return self._log.snapshot()

    def reset_log(self) -> None:
        self._log.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending) + self._in_flight

    def counters(self) -> dict[str, int]:
        """Attempts by outcome, plus how many deliveries are still queued."""
        with self._lock:
            log = self._log.snapshot()
            counts = Counter(entry.outcome for entry in log)
            result = {k: counts.get(k, 0) for k in ("sent", "dropped", "retried", "failed")}
            result["duplicate"] = counts.get("duplicate", 0)
            result["pending"] = len(self._pending) + self._in_flight
            result["identifiers"] = len({entry.identifier for entry in log})
        return result

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            faults = asdict(self.faults)
            hooks = [h.to_json(self.base_url) for h in self.hooks.values()]
        return {
            "webhooks": hooks,
            "faults": faults,
            "retry_delays": list(self.retry_delays),
            "counters": self.counters(),
        }
