"""Jira Cloud's burst rate limits as sliding windows on ``time.monotonic``.

Real Jira answers 429 with ``Retry-After`` and ``RateLimit-Reason`` long before
a quota is exhausted, per tenant and per issue. The gateway must back off on
these headers, and the benchmark measures how it behaves under them, so the
limits are configurable and the answer carries the real header set (with an
optional HTML body, which is what clients that assume JSON choke on). Every
allowed answer carries the tenant budget too (``X-RateLimit-Limit``,
``X-RateLimit-Remaining``, ``X-RateLimit-Reset``, and ``X-RateLimit-NearLimit``
under 20% left), which is what a client adapts its pace to.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Budget", "RateLimitMiddleware", "RateLimiter", "RateLimits", "Verdict"]

_ISSUE_WRITE_RE = re.compile(r"^/rest/api/[^/]+/issue/(?!createmeta|bulk|picker)([^/]+)(/.*)?$")
_HTML_BODY = (
    b"<!DOCTYPE html><html><head><title>429 Too Many Requests</title></head>"
    b"<body><h1>Too Many Requests</h1><p>Rate limit exceeded.</p></body></html>"
)


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per window; ``None`` disables that limit."""

    read_per_second: int | None = 100  # GET and POST, per tenant
    write_per_second: int | None = 50  # PUT and DELETE, per tenant
    issue_write_windows: tuple[tuple[int, float], ...] = ((20, 2.0), (100, 30.0))
    """(count, seconds) per issue for PUT/POST/DELETE on ``/issue/{id}...``."""


@dataclass(frozen=True)
class Verdict:
    """Why a request was refused and the headers that say so."""

    reason: str
    limit: int
    retry_after: float
    reset: datetime

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"retry-after", str(max(1, math.ceil(self.retry_after))).encode()),
            (b"ratelimit-reason", self.reason.encode()),
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", b"0"),
            (b"x-ratelimit-reset", iso_reset(self.reset)),
        ]


def iso_reset(reset: datetime) -> bytes:
    """``X-RateLimit-Reset``: the ISO-8601 instant the window has room again."""
    return reset.strftime("%Y-%m-%dT%H:%M:%SZ").encode()


@dataclass(frozen=True)
class Budget:
    """What an allowed request leaves of its tenant window, for the answer's headers."""

    limit: int
    remaining: int
    reset_in: float

    def headers(self) -> list[tuple[bytes, bytes]]:
        reset = datetime.now(UTC) + timedelta(seconds=self.reset_in)
        headers = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", iso_reset(reset)),
        ]
        if self.remaining < 0.2 * self.limit:
            headers.append((b"x-ratelimit-nearlimit", b"true"))
        return headers


@dataclass
class _Window:
    limit: int
    seconds: float
    hits: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        """Seconds until one more hit fits (0 when it fits now)."""
        while self.hits and self.hits[0] <= now - self.seconds:
            self.hits.popleft()
        if len(self.hits) < self.limit:
            return 0.0
        return self.hits[0] + self.seconds - now

    def remaining(self) -> int:
        return max(0, self.limit - len(self.hits))

    def reset_in(self, now: float) -> float:
        """Seconds until the oldest hit leaves the window (0 when it is empty)."""
        return max(0.0, self.hits[0] + self.seconds - now) if self.hits else 0.0


class RateLimiter:
    """Sliding-window counters; ``check`` records the hit only when it is allowed."""

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._lock = threading.Lock()
        self._tenant: dict[str, _Window] = {}
        self._issues: dict[str, list[_Window]] = {}

    def configure(self, limits: RateLimits) -> None:
        with self._lock:
            self.limits = limits
            self._tenant.clear()
            self._issues.clear()

    def check(self, method: str, issue: str | None) -> tuple[Verdict | None, Budget | None]:
        """A refusal, or ``None`` and the tenant budget left in this second."""
        now = time.monotonic()
        kind = "write" if method in ("PUT", "DELETE", "PATCH") else "read"
        limit = self.limits.write_per_second if kind == "write" else self.limits.read_per_second
        with self._lock:
            windows: list[tuple[_Window, str]] = []
            if limit is not None:
                window = self._tenant.get(kind)
                if window is None or window.limit != limit:
                    window = self._tenant[kind] = _Window(limit, 1.0)
                windows.append((window, "jira-burst-based"))
            if issue is not None and method in ("PUT", "POST", "DELETE"):
                per_issue = self._issues.get(issue)
                if per_issue is None:
                    per_issue = self._issues[issue] = [
                        _Window(n, s) for n, s in self.limits.issue_write_windows
                    ]
                windows.extend((w, "jira-per-issue-on-write") for w in per_issue)
            for window, reason in windows:
                wait = window.wait(now)
                if wait > 0:
                    reset = datetime.now(UTC) + timedelta(seconds=wait)
                    return Verdict(reason, window.limit, wait, reset), None
            for window, _ in windows:
                window.hits.append(now)
            if not windows or limit is None:
                return None, None
            tenant = windows[0][0]
            return None, Budget(tenant.limit, tenant.remaining(), tenant.reset_in(now))


class RateLimitMiddleware:
    """ASGI middleware answering 429 when a limit is hit (control plane exempt).

    ``resolve_issue`` maps an id or key in the path to a stable issue id, so a
    client cannot dodge the per-issue limit by alternating key and id.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        enabled: Callable[[], bool],
        html: Callable[[], bool],
        resolve_issue: Callable[[str], str],
        on_limited: Callable[[Scope], None] | None = None,
        control_prefix: str = "/_fake",
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.enabled = enabled
        self.html = html
        self.resolve_issue = resolve_issue
        self.on_limited = on_limited
        self.control_prefix = control_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not self.enabled() or path.startswith(self.control_prefix):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        issue = None
        m = _ISSUE_WRITE_RE.match(path)
        if m is not None:
            issue = self.resolve_issue(m.group(1))
        verdict, budget = self.limiter.check(method, issue)
        if verdict is None:
            await self._pass(scope, receive, send, budget)
            return
        if self.on_limited is not None:
            self.on_limited(scope)
        if self.html():
            body, ctype = _HTML_BODY, b"text/html;charset=UTF-8"
        else:
            message = {"errorMessages": ["Rate limit exceeded."], "errors": {}}
            body, ctype = json.dumps(message).encode(), b"application/json;charset=UTF-8"
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", ctype),
                    (b"content-length", str(len(body)).encode()),
                    *verdict.headers(),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _pass(
        self, scope: Scope, receive: Receive, send: Send, budget: Budget | None
    ) -> None:
        extra = budget.headers() if budget is not None else []

        async def send_with_budget(message: Message) -> None:
            if extra and message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_budget)
