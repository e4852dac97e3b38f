"""Request ids and the Prometheus ``/metrics`` endpoint of the API.

Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new
one), echoed in the response and attached to every log line of the request.
``/metrics`` is public by default, as Prometheus expects; set
``GATEWAY_METRICS_TOKEN`` to require a bearer token, or ``GATEWAY_METRICS_ENABLED=false``
to switch it off.
"""

from __future__ import annotations

import hmac
import logging
import os
import re

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.jobs import QUEUE_NAME
from gateway.logs import pop_context, push_context
from gateway.settings import Settings

log = logging.getLogger("gateway.api")

REQUEST_ID_HEADER = "X-Request-ID"
METRICS_PATH = "/metrics"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

router = APIRouter(tags=["observability"])


def request_id_from(scope: Scope) -> str:
    """The caller's id when it is short and plain (it lands in logs), else a fresh one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(given):
                return given
    # 128 random bits as 32 hex digits, as uuid4().hex gave, without building a UUID.
    return os.urandom(16).hex()


class RequestIdMiddleware:
    """Pure ASGI (streams untouched): sets the log context and the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        token = push_context({"request_id": request_id})
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            pop_context(token)


def metrics_allowed(settings: Settings, authorization: str | None) -> bool:
    """Public unless a token is configured; then ``Bearer <token>`` in constant time."""
    if settings.metrics_token is None:
        return True
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
    return hmac.compare_digest(expected, (authorization or "").encode())


@router.get(METRICS_PATH, include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """This process's metrics, the workers' (``gateway.monitoring.fleet_metrics``) and
    gauges read from the database and Redis."""
    from gateway.monitoring.fleet_metrics import fleet_registry, process_id, read_snapshots
    from gateway.observe import refresh_database_gauges, refresh_redis_gauges

    settings: Settings = request.app.state.settings
    if not settings.metrics_enabled:
        return Response(status_code=404)
    if not metrics_allowed(settings, request.headers.get("authorization")):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        await refresh_redis_gauges(request.app.state.redis, QUEUE_NAME)
    except Exception as error:
        log.warning("metrics: Redis gauges not refreshed: %s", type(error).__name__)
    try:
        await anyio.to_thread.run_sync(refresh_database_gauges, request.app.state.engine)
    except Exception as error:
        log.warning("metrics: database gauges not refreshed: %s", type(error).__name__)
    try:
        snapshots = await read_snapshots(request.app.state.redis, exclude=process_id())
    except Exception as error:
        log.warning("metrics: workers' metrics not read: %s", type(error).__name__)
        snapshots = {}
    return Response(generate_latest(fleet_registry(snapshots)), media_type=CONTENT_TYPE_LATEST)
