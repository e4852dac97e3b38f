"""The API application factory: webhook ingress, admin, health."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.api import domain_webhooks, health, observability, webhooks
from gateway.api.admin.main import install_admin
from gateway.api.fast_ingress import WebhookFastPath
from gateway.api.outages import install_outage_handlers, redis_watched
from gateway.db import make_engine
from gateway.jobs import open_pool
from gateway.monitoring.tracing import install_middleware
from gateway.redis import resolve_redis
from gateway.security.crypto import load_cipher
from gateway.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; resources are opened once in the lifespan and shared."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None]:
        app.state.engine = make_engine(
            settings.effective_database_url, cipher=load_cipher(settings)
        )
        app.state.redis = await open_pool(resolve_redis(settings))
        try:
            async with redis_watched(app.state.redis, settings):
                yield
        finally:
            await app.state.redis.aclose()
            app.state.engine.dispose()

    app = FastAPI(
        title="PeopleForce-Jira gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # The gateway records its own spans (gateway.monitoring.tracing); FastAPI's native
        # telemetry would only add a second server span, and its check of the global
        # OpenTelemetry providers costs three environment reads per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.include_router(health.router)
    app.include_router(observability.router)
    app.include_router(webhooks.router)
    app.include_router(domain_webhooks.router)
    # Added first, so it is the innermost of the app's middleware: deliveries still get
    # a request id and the security headers, but skip the router (gateway.api.fast_ingress).
    app.add_middleware(WebhookFastPath)
    install_admin(app, settings)
    install_outage_handlers(app)
    # Inside the request id, so the request's server span sees its id; off: not installed.
    install_middleware(app, templates=(webhooks.WEBHOOK_PATH, domain_webhooks.DOMAIN_WEBHOOK_PATH))
    # Outermost, so every log line of a request (admin and webhooks too) carries its id.
    app.add_middleware(observability.RequestIdMiddleware)
    return app
