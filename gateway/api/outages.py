"""The API while Redis or the database is unreachable: 503 with a clear body, not a 500.

Admin pages and the admin API reach Redis (sessions, throttling, the queue) and the
database on nearly every request. When either is down, a request gets 503 and
``Retry-After`` with a body that says which one, instead of a bare 500 and a
traceback in the log; the webhook ingress already answers 503 so Jira retries.
Each refused request is logged in one line, without a traceback.

With the embedded Redis the API also supervises it: a watcher pings it every few
seconds, logs its outages once per state change (``redis_link``) and restarts it
when it is dead (one process wins, on its own data), so a single-machine install
heals without an operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from redis.asyncio import Redis

from gateway.runtime.link import heal_embedded_redis, redis_link
from gateway.runtime.unavailable import DATABASE_UNAVAILABLE, REDIS_UNAVAILABLE
from gateway.settings import Settings

log = logging.getLogger("gateway.api")

RETRY_AFTER_SECONDS = 5
WATCH_INTERVAL_SECONDS = 2.0


def _what(error: Exception) -> str:
    return "Redis" if isinstance(error, REDIS_UNAVAILABLE) else "the database"


async def unavailable(request: Request, error: Exception) -> Response:
    """503 naming what is down; JSON for the API, a short page for the admin UI."""
    what = _what(error)
    log.warning(
        "%s %s answered 503: %s unreachable (%s)",
        request.method,
        request.url.path,
        what,
        type(error).__name__,
    )
    detail = f"{what} is unreachable; the gateway answers again as soon as it is back"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(
            {"detail": detail, "unavailable": what}, status_code=503, headers=headers
        )
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>Temporarily unavailable</title></head><body>"
        f"<h1>Temporarily unavailable</h1><p>{html.escape(detail)}.</p>"
        f"<p>Try again in a few seconds.</p></body></html>"
    )
    return HTMLResponse(page, status_code=503, headers=headers)


def install_outage_handlers(app: FastAPI) -> None:
    for error in (*REDIS_UNAVAILABLE, *DATABASE_UNAVAILABLE):
        app.add_exception_handler(error, unavailable)


async def watch_redis(redis: Redis, settings: Settings, interval: float) -> None:
    """Ping Redis; log state changes once; restart the embedded server when it is dead."""
    while True:
        try:
            await redis.ping()
        except (*REDIS_UNAVAILABLE, OSError) as error:
            redis_link.down(error)
            if settings.uses_embedded_redis:
                await asyncio.to_thread(heal_embedded_redis, settings)
        else:
            redis_link.up()
        await asyncio.sleep(interval)


@asynccontextmanager
async def redis_watched(
    redis: Redis, settings: Settings, interval: float = WATCH_INTERVAL_SECONDS
) -> AsyncGenerator[None]:
    """Run ``watch_redis`` for the lifetime of the app when Redis is the embedded one.

    A configured GATEWAY_REDIS_URL is someone else's server to restart: the API then
    sends Redis nothing a request does not need (refused requests are logged anyway).
    """
    if not settings.uses_embedded_redis:
        yield
        return
    task = asyncio.create_task(watch_redis(redis, settings, interval))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
