"""The fake Jira Cloud app: ``create_jira_app(...)`` wires state, routes and faults.

The layers, outermost first: the fault plane (partitions, latency, injected
errors, request log), the optional burst rate limiter, basic auth, then the
REST routes over one ``FakeJira`` (``app.state.jira``). Webhook delivery runs
as a background task for the app's lifespan under uvicorn; in-process tests
call ``await app.state.jira.webhooks.drain()`` instead.
"""

from __future__ import annotations

import base64
import binascii
import random
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.types import Scope

from fakes.clock import FakeClock
from fakes.faults import FaultPlane, fault_routes, install_faults, mark_fault
from fakes.jira.api import api_router, webhook_router
from fakes.jira.bulk import bulk_router
from fakes.jira.control import control_router
from fakes.jira.delivery import DEFAULT_RETRY_DELAYS, WebhookDispatcher
from fakes.jira.errors import JiraError, error_body_for_status
from fakes.jira.fake import FakeJira
from fakes.jira.ratelimit import RateLimiter, RateLimitMiddleware, RateLimits
from fakes.jira.webhooks import DEFAULT_FILTER

__all__ = ["UNAUTHORIZED_BODY", "create_jira_app"]

UNAUTHORIZED_BODY = "Client must be authenticated to access this resource."


class _Unauthorized(Exception):
    pass


def create_jira_app(
    *,
    email: str = "bot@example.com",
    api_token: str = "jira-test-token",
    seed: int = 0,
    clock: FakeClock | None = None,
    plane: FaultPlane | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_jql: str = DEFAULT_FILTER,
    base_url: str = "http://jira.test",
    index_lag: float = 0.0,
    enforce_rate_limits: bool = False,
    html_429: bool = False,
    rate_limits: RateLimits | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    webhook_timeout: float = 5.0,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    search_max_results: int = 100,
) -> FastAPI:
    """Build the fake Jira app; ``app.state.jira`` is the ``FakeJira``, ``app.state.faults``
    the ``FaultPlane``.

    ``webhook_url`` registers one admin webhook (filter ``webhook_jql``) at start;
    ``webhook_transport`` lets deliveries go to an in-process ASGI app.
    """
    if plane is None:
        plane = FaultPlane(seed=seed, clock=clock)
    clock = clock or plane.clock
    rng = random.Random(seed)
    webhooks = WebhookDispatcher(
        rng=random.Random(plane.rng.getrandbits(64)),
        now=clock.now,
        base_url=base_url.rstrip("/"),
        retry_delays=retry_delays,
        timeout=webhook_timeout,
        transport=webhook_transport,
    )
    jira = FakeJira(
        email=email,
        api_token=api_token,
        clock=clock,
        rng=rng,
        base_url=base_url,
        index_lag=index_lag,
        webhooks=webhooks,
        search_max_results=search_max_results,
    )
    if webhook_url:
        webhooks.register(webhook_url, name="gateway", jql=webhook_jql, secret=webhook_secret)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncGenerator[None]:
        webhooks.start()
        try:
            yield
        finally:
            await webhooks.stop()

    app = FastAPI(title="Fake Jira Cloud", lifespan=lifespan)
    app.state.jira = jira

    def guard(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        try:
            given = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            given = ""
        # Read on every request, so a test can revoke the token (``jira.api_token = ...``).
        if scheme.lower() != "basic" or given != f"{email}:{jira.api_token}":
            raise _Unauthorized

    @app.exception_handler(_Unauthorized)
    async def unauthorized(_request: Request, _exc: Exception) -> PlainTextResponse:
        return PlainTextResponse(
            UNAUTHORIZED_BODY,
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="protected-area"'},
        )

    @app.exception_handler(JiraError)
    async def jira_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, JiraError)
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith("/_fake"):
            return JSONResponse({"detail": exc.errors()}, status_code=422)
        messages = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"errorMessages": messages, "errors": {}}, status_code=400)

    @app.exception_handler(ValueError)
    async def value_error(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"errorMessages": [str(exc)], "errors": {}}, status_code=400)

    for version in ("2", "3"):
        app.include_router(bulk_router(jira, version, guard))
        app.include_router(api_router(jira, version, guard))
    app.include_router(webhook_router(jira, guard))

    limiter = RateLimiter(rate_limits)
    settings = {"enabled": enforce_rate_limits, "html": html_429}
    app.state.rate_limiter = limiter
    app.state.rate_limit_settings = settings
    app.include_router(control_router(jira, limiter, settings))
    app.include_router(fault_routes(plane))

    def resolve_issue(id_or_key: str) -> str:
        try:
            return str(jira.resolve(id_or_key).id)
        except JiraError:
            return id_or_key.upper()

    def limited(scope: Scope) -> None:
        mark_fault(Request(scope), "rate_limit")

    app.add_middleware(
        RateLimitMiddleware,
        limiter=limiter,
        enabled=lambda: settings["enabled"],
        html=lambda: settings["html"],
        resolve_issue=resolve_issue,
        on_limited=limited,
    )
    plane.json_error_body = error_body_for_status
    plane.rate_limit_headers = {"RateLimit-Reason": "jira-burst-based"}
    install_faults(app, plane)
    return app
