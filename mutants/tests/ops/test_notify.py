"""Alerts reach a Slack-compatible receiver, fall back, and do not flood the channel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr
from redis.asyncio import Redis

from fakes.server import FakeServer
from gateway.notify import AlertKind, Delivery, notify
from gateway.settings import Settings


class Receiver:
    """A tiny incoming-webhook endpoint that records posts and can be told to fail."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.posts.append(await request.json())
            return Response("ok", status_code=self.status)

        self.server = FakeServer(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    primary, fallback = Receiver(), Receiver()
    primary.server.start()
    fallback.server.start()
    try:
        yield primary, fallback
    finally:
        primary.server.stop()
        fallback.server.stop()


async def send(settings: Settings, redis_url: str, kind: AlertKind, domain: str) -> Delivery:
    redis = Redis.from_url(redis_url)
    try:
        async with httpx.AsyncClient() as http:
            return await notify(
                redis=redis,
                http=http,
                settings=settings,
                kind=kind,
                domain=domain,
                text="3 ticks failed in a row",
            )
    finally:
        await redis.aclose()


def configured(settings: Settings, primary: str, fallback: str | None = None) -> Settings:
    return settings.model_copy(
        update={
            "notify_webhook_url": SecretStr(primary),
            "notify_webhook_url_fallback": SecretStr(fallback) if fallback else None,
            "notify_min_interval_seconds": 600,
        }
    )


async def test_alert_is_posted_once_per_interval_per_kind_and_domain(
    settings: Settings, redis_url: str, receivers: tuple[Receiver, Receiver]
) -> None:
    primary, _ = receivers
    chosen = configured(settings, primary.url)
    assert await send(chosen, redis_url, AlertKind.TICK_FAILURES, "acme") == Delivery.SENT
    assert await send(chosen, redis_url, AlertKind.TICK_FAILURES, "acme") == Delivery.SUPPRESSED
    # Another domain or another kind is a different alert.
    assert await send(chosen, redis_url, AlertKind.TICK_FAILURES, "globex") == Delivery.SENT
    assert await send(chosen, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.SENT
    assert len(primary.posts) == 3
    assert "acme" in primary.posts[0]["text"] and "ticks failed" in primary.posts[0]["text"]


async def test_fallback_is_used_when_the_primary_fails(
    settings: Settings, redis_url: str, receivers: tuple[Receiver, Receiver]
) -> None:
    primary, fallback = receivers
    primary.status = 500
    chosen = configured(settings, primary.url, fallback.url)
    assert await send(chosen, redis_url, AlertKind.SWEEP_REPAIRED, "acme") == Delivery.SENT
    assert len(primary.posts) == 1 and len(fallback.posts) == 1


async def test_unreachable_webhooks_fail_and_release_the_claim(
    settings: Settings, redis_url: str, receivers: tuple[Receiver, Receiver]
) -> None:
    primary, _ = receivers
    primary.status = 503
    chosen = configured(settings, primary.url, "http://127.0.0.1:9/unreachable")
    assert await send(chosen, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.FAILED
    # Nothing went out, so the next occurrence is not suppressed.
    primary.status = 200
    assert await send(chosen, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.SENT


async def test_no_url_means_no_alerts(settings: Settings, redis_url: str) -> None:
    assert await send(settings, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.DISABLED


def test_webhook_url_must_be_http_and_is_never_echoed() -> None:
    from gateway.settings import ConfigurationError, load_settings

    with pytest.raises(ConfigurationError) as caught:
        load_settings(notify_webhook_url="hooks.slack.com/services/T000/B000/SECRET")
    assert "GATEWAY_NOTIFY_WEBHOOK_URL" in str(caught.value)
    assert "SECRET" not in str(caught.value)


async def test_worker_alerts_when_ticks_keep_failing(
    settings: Settings,
    engine: Any,
    arq_pool: Any,
    receivers: tuple[Receiver, Receiver],
) -> None:
    from prometheus_client import REGISTRY
    from sqlmodel import Session

    from gateway.clients.retry import RetryPolicy
    from gateway.models import DomainConfig
    from gateway.worker import shutdown, startup, sync_pf_to_jira_task

    primary, _ = receivers
    with Session(engine) as session:
        domain = DomainConfig(
            name="unreachable",
            pf_base_url="http://127.0.0.1:9",
            pf_api_key="pf-key",
            jira_base_url="http://127.0.0.1:9",
            jira_email="bot@example.com",
            jira_api_token="jira-token",
        )
        session.add(domain)
        session.commit()
        session.refresh(domain)
        assert domain.id is not None
        domain_id = domain.id
    chosen = configured(settings, primary.url).model_copy(
        update={"notify_tick_failures_threshold": 2}
    )
    ctx: dict[str, Any] = {
        "settings": chosen,
        "redis": arq_pool,
        "retry_policy": RetryPolicy(max_attempts=1),
    }
    labels = {"domain": "unreachable", "outcome": "failed"}
    failed_before = REGISTRY.get_sample_value("gateway_ticks_total", labels) or 0.0
    await startup(ctx)
    try:
        for _ in range(3):
            await sync_pf_to_jira_task(ctx, domain_id)
    finally:
        await shutdown(ctx)
    assert REGISTRY.get_sample_value("gateway_ticks_total", labels) == failed_before + 3
    # Failure 2 alerted; failure 3 fell inside the minimum interval.
    assert len(primary.posts) == 1
    assert "2 ticks failed in a row" in primary.posts[0]["text"]
