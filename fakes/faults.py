"""Fault injection shared by the fake PeopleForce and the fake Jira.

The gateway's guarantees only mean something if they hold while the network
misbehaves, so every fake app carries a ``FaultPlane``: partitions (refused or
black-holed connections), added latency, 5xx answers with proxy-style HTML
bodies, 429 storms with ``Retry-After``, and a log of every request with the
status it finally got. Scenarios drive it from Python or over HTTP under
``/_fake``; everything random comes from one seeded ``random.Random`` so a run
can be replayed.

Where a fault has to look like a broken connection rather than an HTTP answer,
the transport does the work: ``FaultyASGITransport`` (in-process) here and the
uvicorn protocol in ``fakes.server`` (loopback).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any, Literal

import httpx
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fakes.clock import FakeClock
from fakes.records import RecordLog

PartitionMode = Literal["refuse", "timeout"]

DEFAULT_CONTROL_PREFIX = "/_fake"
_FAULT_KEY = "fakes.fault"
_POLL_SECONDS = 0.01


@dataclass
class RecordedRequest:
    """One request as the fake saw it; ``status`` 0 means no HTTP answer was given."""

    method: str
    path: str
    endpoint: str
    status: int
    at: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)
    query: str = ""
    fault: str | None = None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def html_error_page(status: int) -> bytes:
    """The kind of page a reverse proxy serves: what clients wrongly parse as JSON."""
    title = f"{status} {_phrase(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def _default_json_error(status: int) -> dict[str, Any]:
    return {"message": _phrase(status)}


def format_retry_after(seconds: float) -> str:
    """Whole seconds as real services send them; fractions survive so fast tests stay fast."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _check_rate(rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {rate}")


def _route_path(routes: list[BaseRoute], method: str, path: str) -> str | None:
    scope: Scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    partial: str | None = None
    for route in routes:
        match, _ = route.matches(scope)
        template = getattr(route, "path", None)
        if match is Match.FULL and template is not None:
            return template
        if match is Match.PARTIAL and partial is None and template is not None:
            partial = template
    return partial


HoldStage = Literal["before", "after"]


def _template_pattern(template: str) -> re.Pattern[str]:
    """A route template (``/issue/{issue_id}/transitions``) as a regex over request paths.

    Matched on the raw path, before any routing: a hold may act before the app runs.
    """
    parts = re.split(r"\{[^{}/]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


class AnswerHold:
    """Requests of one (method, endpoint template) kept waiting, so a test decides the order.

    ``stage="after"``: the app acts first and only its answer waits, like a network that
    delivers the request and loses the reply; held past the client's timeout, that is
    "Jira created the issue, the gateway never heard". ``stage="before"``: the request
    waits before the app sees it. With ``parties`` >= 2 the hold is a barrier per path:
    requests are let through in groups of ``parties`` for the same path, so two writers
    racing for one issue are forced to overlap instead of merely being likely to.
    ``timeout`` bounds every wait (None: until ``release``); ``limit`` holds only the
    first requests and lets later ones pass untouched. Thread-safe: the fake serves
    from its own thread while the test waits and releases from another.
    """

    def __init__(
        self,
        method: str,
        endpoint: str,
        *,
        stage: HoldStage = "after",
        parties: int = 0,
        timeout: float | None = None,
        limit: int | None = None,
    ) -> None:
        if stage not in ("before", "after"):
            raise ValueError(f"unknown hold stage {stage!r}")
        if parties == 1 or parties < 0:
            raise ValueError("parties is 0 (hold until released) or at least 2")
        self.method = method.upper()
        self.endpoint = endpoint
        self._path = _template_pattern(endpoint)
        self.stage: HoldStage = stage
        self.parties = parties
        self.timeout = timeout
        self.limit = limit
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._arrived: Counter[str] = Counter()
        self._held = 0
        self._passed = 0
        self._timed_out = 0

    def claims(self, method: str, path: str) -> bool:
        """Whether the next request of ``method`` on ``path`` is to be held."""
        if method.upper() != self.method or not self._path.fullmatch(path):
            return False
        if self._released.is_set():
            return False
        return self.limit is None or self._held < self.limit

    @property
    def held(self) -> int:
        """How many requests reached the hold (for ``after``: how many the app acted on)."""
        return self._held

    @property
    def passed(self) -> int:
        """How many held requests have been let through (by release, barrier or timeout)."""
        return self._passed

    @property
    def timed_out(self) -> int:
        """How many waits ended by ``timeout`` rather than a release or a full barrier."""
        return self._timed_out

    def release(self) -> None:
        """Let every held request through now, and hold no more."""
        self._released.set()

    async def wait_held(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Wait until ``count`` requests reached the hold; False if ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        while self._held < count:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_SECONDS / 2)
        return True

    def _arrive(self, path: str) -> int:
        with self._lock:
            self._held += 1
            index = self._arrived[path]
            self._arrived[path] += 1
        return index

    async def _wait(self, path: str, index: int) -> None:
        """Wait for the release, this request's barrier group, or the timeout."""
        group_end = (index // self.parties + 1) * self.parties if self.parties else None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while not self._released.is_set():
            if group_end is not None and self._arrived[path] >= group_end:
                break
            if deadline is not None and time.monotonic() >= deadline:
                with self._lock:
                    self._timed_out += 1
                break
            await asyncio.sleep(_POLL_SECONDS / 2)
        with self._lock:
            self._passed += 1


@dataclass
class Refusal:
    """Every request of ``method`` on a path matching ``pattern`` answered with ``status``.

    Unlike the error rate this picks its requests: "Jira rejects every edit of this one
    issue with 400" (a poison task), or "this endpoint answers 503 with Retry-After".
    The body has the service's error shape (``FaultPlane.json_error_body``) plus ``message``.
    """

    method: str
    pattern: re.Pattern[str]
    status: int
    message: str = ""
    retry_after: float | None = None
    limit: int | None = None
    """Answer only the first ``limit`` matching requests (None: all of them)."""
    after: bool = False
    """Let the app act first and only replace its answer (a lost response)."""
    answered: int = 0


class FaultPlane:
    """The switchboard of faults for one fake service, plus its request log.

    Mutated from test code while the fake serves from another thread, so the
    log sits behind a lock and every fault setting is a single attribute write.
    Partition durations run on real monotonic time: they shape real waiting,
    not the fake calendar.
    """

    def __init__(self, seed: int = 0, clock: FakeClock | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = clock if clock is not None else FakeClock()
        self.control_prefix = DEFAULT_CONTROL_PREFIX
        self.json_error_body: Callable[[int], dict[str, Any]] = _default_json_error
        """Body of non-HTML injected errors; a fake may swap in its service's error shape."""
        self.rate_limit_headers: dict[str, str] = {}
        """Extra headers on storm answers (e.g. Jira's ``RateLimit-Reason``)."""
        self._lock = threading.Lock()
        self._requests: RecordLog[RecordedRequest] = RecordLog()
        self._routes: Callable[[], list[BaseRoute]] | None = None
        self._partition_mode: PartitionMode | None = None
        self._partition_until: float | None = None
        self.error_rate = 0.0
        self.error_status = 500
        self.error_html = True
        self.error_after = False
        self.latency = 0.0
        self.storm_rate = 0.0
        self.storm_retry_after = 1.0
        self.storm_html = False
        self._holds: list[AnswerHold] = []
        self._refusals: list[Refusal] = []

    # -- partitions --------------------------------------------------------------------

    def partition(self, mode: PartitionMode = "refuse", duration: float | None = None) -> None:
        """Cut the service off: ``refuse`` resets connections, ``timeout`` never answers."""
        if mode not in ("refuse", "timeout"):
            raise ValueError(f"unknown partition mode {mode!r}")
        if duration is not None and duration <= 0:
            raise ValueError("duration must be positive")
        self._partition_until = None if duration is None else time.monotonic() + duration
        self._partition_mode = mode

    def heal(self) -> None:
        """End the partition now."""
        self._partition_mode = None
        self._partition_until = None

    @property
    def partition_mode(self) -> PartitionMode | None:
        """The active partition mode, or None once healed or expired."""
        until = self._partition_until
        if until is not None and time.monotonic() >= until:
            self.heal()
        return self._partition_mode

    @property
    def partitioned(self) -> bool:
        return self.partition_mode is not None

    @property
    def refusing(self) -> bool:
        """True while connections must fail outright."""
        return self.partition_mode == "refuse"

    def partition_remaining(self) -> float | None:
        """Seconds until an active partition expires (None: no partition or no end)."""
        if self.partition_mode is None or self._partition_until is None:
            return None
        return max(0.0, self._partition_until - time.monotonic())

    async def wait_healed(self, timeout: float | None = None) -> bool:
        """Wait until no partition is active; False if ``timeout`` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.partitioned:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_SECONDS)
        return True

    # -- answers instead of the app ----------------------------------------------------

    def set_error_rate(
        self, rate: float, status: int = 500, html: bool = True, *, after: bool = False
    ) -> None:
        """Answer that fraction of requests with ``status``.

        ``after=True`` lets the request reach the app first (its side effects
        happen) and only replaces the answer, like a proxy timing out on a
        backend that did commit: the case that breeds duplicates.
        """
        _check_rate(rate)
        if not 400 <= status <= 599:
            raise ValueError(f"error status must be 4xx or 5xx, got {status}")
        self.error_status = status
        self.error_html = html
        self.error_after = after
        self.error_rate = rate

    def set_latency(self, seconds: float) -> None:
        """Delay every request by ``seconds`` before the app sees it."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self.latency = float(seconds)

    def storm(self, rate: float, retry_after: float = 1.0, html: bool = False) -> None:
        """Rate-limit that fraction of requests with 429 and ``Retry-After``."""
        _check_rate(rate)
        if retry_after < 0:
            raise ValueError("retry_after cannot be negative")
        self.storm_retry_after = float(retry_after)
        self.storm_html = html
        self.storm_rate = rate

    def hold(
        self,
        method: str,
        endpoint: str,
        *,
        stage: HoldStage = "after",
        parties: int = 0,
        timeout: float | None = None,
        limit: int | None = None,
    ) -> AnswerHold:
        """Hold requests of ``method`` on the route template ``endpoint`` (see AnswerHold)."""
        hold = AnswerHold(
            method, endpoint, stage=stage, parties=parties, timeout=timeout, limit=limit
        )
        with self._lock:
            self._holds.append(hold)
        return hold

    def refuse(
        self,
        method: str,
        path: str,
        status: int,
        message: str = "",
        *,
        retry_after: float | None = None,
        limit: int | None = None,
        after: bool = False,
    ) -> Refusal:
        """Answer every ``method`` request on ``path`` (a concrete path or a route template
        such as ``/rest/api/3/issue/{issue}``) with ``status`` until ``clear``."""
        if not 400 <= status <= 599:
            raise ValueError(f"refusal status must be 4xx or 5xx, got {status}")
        refusal = Refusal(
            method.upper(),
            _template_pattern(path),
            status,
            message,
            retry_after=retry_after,
            limit=limit,
            after=after,
        )
        with self._lock:
            self._refusals.append(refusal)
        return refusal

    def refusal_for(self, method: str, path: str) -> Refusal | None:
        """The refusal that answers this request, if any."""
        with self._lock:
            refusals = list(self._refusals)
        return next(
            (
                r
                for r in refusals
                if r.method == method.upper()
                and r.pattern.fullmatch(path)
                and (r.limit is None or r.answered < r.limit)
            ),
            None,
        )

    def refusal_response(self, refusal: Refusal) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """JSON body in the service's error shape, and the Retry-After header if set."""
        body = self.json_error_body(refusal.status)
        if refusal.message:
            body = {**body, "message": refusal.message, "errorMessages": [refusal.message]}
        headers: list[tuple[bytes, bytes]] = []
        if refusal.retry_after is not None:
            headers.append((b"retry-after", format_retry_after(refusal.retry_after).encode()))
        return json.dumps(body).encode(), headers

    def release_holds(self) -> None:
        """Let every held request through and forget the holds."""
        with self._lock:
            holds, self._holds = self._holds, []
        for hold in holds:
            hold.release()

    def hold_for(self, method: str, path: str) -> AnswerHold | None:
        """The hold that claims this request, if any."""
        with self._lock:
            holds = list(self._holds)
        return next((h for h in holds if h.claims(method, path)), None)

    def clear(self) -> None:
        """Switch every fault off (the log is kept)."""
        self.heal()
        self.error_rate = 0.0
        self.error_after = False
        self.latency = 0.0
        self.storm_rate = 0.0
        self.release_holds()
        with self._lock:
            self._refusals = []

    def draw_storm(self) -> bool:
        """Whether this request is caught by the storm (draws only while one blows)."""
        return self.storm_rate > 0 and self.rng.random() < self.storm_rate

    def draw_error(self) -> bool:
        """Whether this request gets an injected error (draws only while a rate is set)."""
        return self.error_rate > 0 and self.rng.random() < self.error_rate

    def error_response(self, status: int, html: bool) -> tuple[bytes, bytes]:
        """Body and content type of an injected error."""
        if html:
            return html_error_page(status), b"text/html; charset=utf-8"
        return json.dumps(self.json_error_body(status)).encode(), b"application/json"

    # -- request log -------------------------------------------------------------------

    def bind_routes(self, app: FastAPI) -> None:
        """Resolve endpoints against ``app``'s routes (read live: routes added later count)."""
        self._routes = lambda: app.router.routes

    def endpoint_for(self, method: str, path: str) -> str:
        """The route template serving ``path``, or the raw path when none matches."""
        if self._routes is None:
            return path
        return _route_path(self._routes(), method, path) or path

    def is_control(self, path: str) -> bool:
        prefix = self.control_prefix.rstrip("/")
        return path == prefix or path.startswith(prefix + "/")

    def record(
        self,
        method: str,
        path: str,
        endpoint: str | None = None,
        status: int = 0,
        *,
        query: str = "",
        fault: str | None = None,
        at: float | None = None,
        wall: float | None = None,
    ) -> RecordedRequest:
        """Log one request; ``endpoint`` is resolved from the routes when omitted.

        ``at``/``wall`` default to now; the middleware passes the arrival time, so
        "no request before Retry-After elapsed" compares arrivals, not completions.
        """
        entry = RecordedRequest(
            method=method,
            path=path,
            endpoint=endpoint if endpoint is not None else self.endpoint_for(method, path),
            status=status,
            query=query,
            fault=fault,
            at=time.monotonic() if at is None else at,
            wall=time.time() if wall is None else wall,
        )
        self._requests.append(entry)
        return entry

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the log, oldest first."""
        return self._requests.snapshot()

    def counts(self) -> dict[tuple[str, str, int], int]:
        """How many requests each (method, endpoint template, status) got."""
        return dict(Counter((r.method, r.endpoint, r.status) for r in self.requests))

    def reset_log(self) -> None:
        self._requests.clear()

    def snapshot(self) -> dict[str, Any]:
        """JSON-able view of the faults and the request counts, for the control plane."""
        counts = [
            {"method": m, "endpoint": e, "status": s, "count": n}
            for (m, e, s), n in sorted(self.counts().items())
        ]
        return {
            "seed": self.seed,
            "partition": {
                "active": self.partitioned,
                "mode": self.partition_mode,
                "remaining": self.partition_remaining(),
            },
            "error_rate": {
                "rate": self.error_rate,
                "status": self.error_status,
                "html": self.error_html,
                "after": self.error_after,
            },
            "latency": {"seconds": self.latency},
            "storm": {
                "rate": self.storm_rate,
                "retry_after": self.storm_retry_after,
                "html": self.storm_html,
            },
            "clock": clock_state(self.clock),
            "requests": len(self.requests),
            "counts": counts,
        }


def clock_state(clock: FakeClock) -> dict[str, Any]:
    return {"now": clock.now().isoformat().replace("+00:00", "Z"), "offset": clock.offset}


def mark_fault(request: Request, fault: str) -> None:
    """Let an app label its own answer in the log (e.g. its built-in rate limit)."""
    box = request.scope.get(_FAULT_KEY)
    if isinstance(box, dict):
        box["fault"] = fault


class PartitionRefused(ConnectionResetError):
    """Raised into a bare ASGI transport that cannot express a refused connection."""


# -- middleware ------------------------------------------------------------------------


async def _answer(
    send: Send, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class FaultMiddleware:
    """Pure ASGI middleware applying a ``FaultPlane`` to every non-control request."""

    def __init__(self, app: ASGIApp, *, plane: FaultPlane) -> None:
        self.app = app
        self.plane = plane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.plane.is_control(scope["path"]):
            await self.app(scope, receive, send)
            return
        plane = self.plane
        method: str = scope["method"]
        path: str = scope["path"]
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        arrived, arrived_wall = time.monotonic(), time.time()
        box: dict[str, Any] = {"fault": None}
        scope[_FAULT_KEY] = box
        status = 0
        try:
            status = await self._serve(scope, receive, send, box)
        except Exception:
            if box["fault"] is None:
                status = 500
            raise
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or plane.endpoint_for(method, path)
            plane.record(
                method,
                path,
                endpoint,
                status,
                query=query,
                fault=box["fault"],
                at=arrived,
                wall=arrived_wall,
            )

    async def _serve(self, scope: Scope, receive: Receive, send: Send, box: dict[str, Any]) -> int:
        plane = self.plane
        mode = plane.partition_mode
        if mode == "refuse":
            box["fault"] = "partition"
            raise PartitionRefused("fake partition: connection refused")
        if mode == "timeout":
            receive, left = await self._hold(receive)
            if left:
                box["fault"] = "partition"
                return 0
        if plane.latency > 0:
            await asyncio.sleep(plane.latency)
        if plane.draw_storm():
            box["fault"] = "storm"
            body, ctype = plane.error_response(429, plane.storm_html)
            headers = [(b"retry-after", format_retry_after(plane.storm_retry_after).encode())]
            extra = plane.rate_limit_headers.items()
            headers += [(k.lower().encode(), v.encode()) for k, v in extra]
            await _answer(send, 429, body, ctype, headers)
            return 429
        if plane.draw_error():
            status, html = plane.error_status, plane.error_html
            if plane.error_after:
                await self._run_app(scope, receive, _discard)
            box["fault"] = "error"
            body, ctype = plane.error_response(status, html)
            await _answer(send, status, body, ctype, [])
            return status
        refusal = plane.refusal_for(scope["method"], scope["path"])
        if refusal is not None:
            refusal.answered += 1
            if refusal.after:
                await self._run_app(scope, receive, _discard)
            box["fault"] = "refused"
            body, headers = plane.refusal_response(refusal)
            await _answer(send, refusal.status, body, b"application/json", headers)
            return refusal.status
        hold = plane.hold_for(scope["method"], scope["path"])
        if hold is not None:
            return await self._run_held(scope, receive, send, hold)
        return await self._run_app(scope, receive, send)

    async def _run_app(self, scope: Scope, receive: Receive, send: Send) -> int:
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, capture)
        return status

    async def _run_held(self, scope: Scope, receive: Receive, send: Send, hold: AnswerHold) -> int:
        """Serve one request under ``hold``: wait before the app, or buffer its answer."""
        path: str = scope["path"]
        index = hold._arrive(path) if hold.stage == "before" else -1
        if hold.stage == "before":
            await hold._wait(path, index)
            return await self._run_app(scope, receive, send)
        buffered: list[Message] = []

        async def keep(message: Message) -> None:
            buffered.append(message)

        status = await self._run_app(scope, receive, keep)
        await hold._wait(path, hold._arrive(path))
        for message in buffered:
            await send(message)
        return status

    async def _hold(self, receive: Receive) -> tuple[Receive, bool]:
        """Sit on a request during a timeout partition.

        Returns a receive that replays the buffered body, and whether the client
        gave up meanwhile (then, as on a real black-holed link, the request is
        never processed).
        """
        buffered: list[Message] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive, True
            buffered.append(message)
            more = bool(message.get("more_body", False))
        waiter = asyncio.ensure_future(receive())
        try:
            while self.plane.partition_mode == "timeout":
                done, _ = await asyncio.wait({waiter}, timeout=_POLL_SECONDS * 2)
                if done:
                    if waiter.result()["type"] == "http.disconnect":
                        return receive, True
                    waiter = asyncio.ensure_future(receive())
        finally:
            if not waiter.done():
                waiter.cancel()

        async def replay() -> Message:
            if buffered:
                return buffered.pop(0)
            return await receive()

        return replay, False


async def _discard(message: Message) -> None:
    return None


def install_faults(
    app: FastAPI, plane: FaultPlane, *, control_prefix: str = DEFAULT_CONTROL_PREFIX
) -> None:
    """Put ``plane`` in front of every route of ``app`` except those under ``control_prefix``."""
    plane.control_prefix = control_prefix
    plane.bind_routes(app)
    app.state.faults = plane
    app.add_middleware(FaultMiddleware, plane=plane)


# -- in-process transport --------------------------------------------------------------


class FaultyASGITransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` that fails like a network.

    A refusing partition raises ``httpx.ConnectError``; a timeout partition
    waits for the client's connect timeout and raises ``httpx.ConnectTimeout``;
    a slow answer raises ``httpx.ReadTimeout`` after the client's read timeout
    while the app keeps working in the background, as a real server would.
    """

    def __init__(self, app: ASGIApp, plane: FaultPlane | None = None, **kwargs: Any) -> None:
        if plane is None:
            plane = getattr(getattr(app, "state", None), "faults", None)
        if not isinstance(plane, FaultPlane):
            raise ValueError("no FaultPlane given and app.state.faults is not one")
        self.plane = plane
        self._inner = httpx.ASGITransport(app=app, **kwargs)
        self._background: set[asyncio.Future[httpx.Response]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        plane = self.plane
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        path = request.url.path
        if not plane.is_control(path):
            mode = plane.partition_mode
            if mode == "refuse":
                self._record_cut(request)
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            if mode == "timeout" and not await plane.wait_healed(timeouts.get("connect")):
                self._record_cut(request)
                raise httpx.ConnectTimeout("timed out", request=request)
        read_timeout = timeouts.get("read")
        task = asyncio.ensure_future(self._inner.handle_async_request(request))
        try:
            return await asyncio.wait_for(asyncio.shield(task), read_timeout)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out", request=request) from None
        except PartitionRefused as exc:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request) from exc
        finally:
            if not task.done():
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    def _record_cut(self, request: httpx.Request) -> None:
        self.plane.record(
            request.method,
            request.url.path,
            query=request.url.query.decode("latin-1"),
            fault="partition",
        )

    async def aclose(self) -> None:
        """Stop requests the client abandoned, so no task outlives the event loop."""
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self._inner.aclose()


# -- control plane ---------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartitionBody(_Body):
    mode: PartitionMode = "refuse"
    duration: float | None = Field(default=None, gt=0, description="seconds; omit for no end")


class ErrorRateBody(_Body):
    rate: float = Field(ge=0, le=1)
    status: int = Field(default=500, ge=400, le=599)
    html: bool = True
    after: bool = False


class LatencyBody(_Body):
    seconds: float = Field(ge=0, le=600)


class StormBody(_Body):
    rate: float = Field(ge=0, le=1)
    retry_after: float = Field(default=1.0, ge=0, le=3600)
    html: bool = False


class AdvanceBody(_Body):
    seconds: float = Field(ge=0, description="how far to move the fake clock forward")


def fault_routes(plane: FaultPlane, *, prefix: str = DEFAULT_CONTROL_PREFIX) -> APIRouter:
    """HTTP control of ``plane``; the router already carries ``prefix`` (include it bare)."""
    router = APIRouter(prefix=prefix, tags=["fake control"])

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        return plane.snapshot()

    @router.post("/faults/partition")
    def post_partition(body: PartitionBody) -> dict[str, Any]:
        plane.partition(body.mode, body.duration)
        return plane.snapshot()

    @router.post("/faults/heal")
    def post_heal() -> dict[str, Any]:
        plane.heal()
        return plane.snapshot()

    @router.post("/faults/error-rate")
    def post_error_rate(body: ErrorRateBody) -> dict[str, Any]:
        plane.set_error_rate(body.rate, body.status, body.html, after=body.after)
        return plane.snapshot()

    @router.post("/faults/latency")
    def post_latency(body: LatencyBody) -> dict[str, Any]:
        plane.set_latency(body.seconds)
        return plane.snapshot()

    @router.post("/faults/storm")
    def post_storm(body: StormBody) -> dict[str, Any]:
        plane.storm(body.rate, body.retry_after, body.html)
        return plane.snapshot()

    @router.post("/faults/clear")
    def post_clear() -> dict[str, Any]:
        plane.clear()
        return plane.snapshot()

    @router.get("/requests")
    def get_requests() -> dict[str, Any]:
        log = plane.requests
        return {
            "requests": [asdict(r) for r in log],
            "counts": plane.snapshot()["counts"],
        }

    @router.delete("/requests")
    def delete_requests() -> dict[str, Any]:
        plane.reset_log()
        return {"requests": [], "counts": []}

    @router.get("/clock")
    def get_clock() -> dict[str, Any]:
        return clock_state(plane.clock)

    @router.post("/clock/advance")
    def post_clock_advance(body: AdvanceBody) -> dict[str, Any]:
        plane.clock.advance(body.seconds)
        return clock_state(plane.clock)

    return router
