"""The webhook ingress's fast path: its two POST routes served without FastAPI's routing.

Jira delivers webhooks in bursts, and for a request this small the framework
cost more than the work: matching the path against every route of the app,
resolving the endpoint's dependencies and running its exit stacks took more
CPU than verifying, parsing and queueing the delivery together. This pure ASGI
middleware, the innermost of the app's own (so request ids, log context and
security headers apply as before), sends ``POST`` to the global and per-domain
webhook paths straight to the same endpoint functions the routers declare, and
renders their refusals exactly as FastAPI's handler does. Anything else on
those paths (another method, a trailing slash) goes on to the router as before,
which also keeps the routes in the OpenAPI description.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.admin.webhook_secrets import DOMAIN_WEBHOOK_PREFIX
from gateway.api import domain_webhooks, webhooks
from gateway.api.webhooks import WEBHOOK_PATH

Endpoint = Callable[[Request], Awaitable[Response]]


def route_path(scope: Scope) -> str:
    """The path the router would match: ``path`` without the ``root_path`` prefix."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :]
    return path


def webhook_endpoint(scope: Scope) -> Endpoint | None:
    """The ingress endpoint for a ``POST`` to a webhook path, or None for anything else.

    Matches exactly what the routes match: the global path, or the per-domain prefix
    followed by one non-empty path segment (Starlette's default ``{param}``).
    """
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path = route_path(scope)
    if path == WEBHOOK_PATH:
        return webhooks.receive_jira_webhook
    if path.startswith(DOMAIN_WEBHOOK_PREFIX):
        public_id = path[len(DOMAIN_WEBHOOK_PREFIX) :]
        if public_id and "/" not in public_id:
            return lambda request: domain_webhooks.receive_domain_webhook(request, public_id)
    return None


async def answer(endpoint: Endpoint, request: Request) -> Response:
    """The endpoint's response, or its refusal rendered as FastAPI renders an HTTPException."""
    try:
        return await endpoint(request)
    except HTTPException as refusal:
        return JSONResponse(
            {"detail": refusal.detail}, status_code=refusal.status_code, headers=refusal.headers
        )


class WebhookFastPath:
    """Pure ASGI: webhook deliveries go straight to their endpoint, the rest to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = webhook_endpoint(scope)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        response = await answer(endpoint, request)
        await response(scope, receive, send)
