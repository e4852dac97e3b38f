"""Instruments the harness puts around the fakes, so checks can see what logs do not.

The fakes' request logs name endpoints, not the task a request was about, and
record arrivals only. ``RequestProbe`` wraps a fake app (outside its fault
plane, so it sees injected 429s too) and records, per request, a fingerprint
of method, path, query and body, the PeopleForce task it concerns, and when it
started and finished. ``FreshIdentifierTransport`` re-sends the fake Jira's
deliveries under a new identifier each time: a harness switch that defeats the
ingress dedupe for negative tests.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fakes.records import RecordLog

IDENTIFIER_HEADER = "X-Atlassian-Webhook-Identifier"
_JIRA_ISSUE_PATH = re.compile(r"^/rest/api/\d/issue/([^/]+)")
_PF_TASK_PATH = re.compile(r"^/tasks/(\d+)/")


@dataclass(frozen=True)
class ProbedRequest:
    """One request as the probe saw it; times are ``time.monotonic()`` seconds."""

    method: str
    path: str
    fingerprint: str
    task_id: int | None
    started: float
    answered: float
    """When the answer's status line was sent: the earliest the client could act on it."""
    finished: float
    status: int
    retry_after: float | None

    @property
    def is_read(self) -> bool:
        return self.method in ("GET", "HEAD") or "/search" in self.path


TaskResolver = Callable[[str, str, bytes], int | None]


class RequestProbe:
    """ASGI wrapper recording every non-control request with its task and timing."""

    def __init__(self, app: ASGIApp, resolve_task: TaskResolver, control_prefix: str = "/_fake"):
        self.app = app
        self.resolve_task = resolve_task
        self.control_prefix = control_prefix
        self._log: RecordLog[ProbedRequest] = RecordLog()

    @property
    def requests(self) -> list[ProbedRequest]:
        return self._log.snapshot()

    def reset(self) -> None:
        self._log.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.control_prefix):
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        body, replay = await _buffer_body(receive)
        method: str = scope["method"]
        path: str = scope["path"]
        query = bytes(scope.get("query_string", b""))
        digest = hashlib.sha256(method.encode() + b" " + path.encode() + b"?" + query)
        digest.update(b"\n" + body)
        try:
            task_id = self.resolve_task(method, path, body)
        except Exception:
            task_id = None
        outcome: dict[str, Any] = {"status": 0, "retry_after": None, "answered": None}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                outcome["answered"] = time.monotonic()
                for name, value in message.get("headers", []):
                    if name.lower() == b"retry-after":
                        outcome["retry_after"] = _seconds(value.decode("latin-1"))
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            entry = ProbedRequest(
                method=method,
                path=path,
                fingerprint=digest.hexdigest(),
                task_id=task_id,
                started=started,
                answered=outcome["answered"] or time.monotonic(),
                finished=time.monotonic(),
                status=outcome["status"],
                retry_after=outcome["retry_after"],
            )
            self._log.append(entry)


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return b"".join(chunks), replay


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def jira_task_resolver(lineage_of_issue: Callable[[str], int | None]) -> TaskResolver:
    """Creates carry the task id in their lineage property; other calls name the issue."""

    def resolve(method: str, path: str, body: bytes) -> int | None:
        if method == "POST" and path.rstrip("/").endswith("/rest/api/3/issue"):
            payload = json.loads(body or b"{}")
            for prop in payload.get("properties") or []:
                value = prop.get("value")
                if isinstance(value, dict) and isinstance(value.get("pf_task_id"), int):
                    return value["pf_task_id"]
            return None
        match = _JIRA_ISSUE_PATH.match(path)
        return lineage_of_issue(match.group(1)) if match else None

    return resolve


def peopleforce_task_resolver(method: str, path: str, body: bytes) -> int | None:
    match = _PF_TASK_PATH.match(path)
    return int(match.group(1)) if match else None


def without_lifespan(app: ASGIApp) -> ASGIApp:
    """Serve ``app`` without its lifespan: the fake Jira then delivers webhooks only when
    the harness drains them, which makes delivery order a function of the seed."""

    async def shim(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return shim


class FreshIdentifierTransport(httpx.AsyncBaseTransport):
    """Deliver every webhook copy under a new identifier (defeats dedupe by identifier).

    The dispatcher closes its client after each drain, so closing is deferred to
    ``close`` at the end of the run.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.inner = httpx.AsyncHTTPTransport()
        self.rewritten = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers[IDENTIFIER_HEADER] = str(uuid.UUID(int=self.rng.getrandbits(128)))
        self.rewritten += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None

    async def close(self) -> None:
        await self.inner.aclose()
