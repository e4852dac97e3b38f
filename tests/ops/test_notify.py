"""Alerts reach a Slack-compatible receiver, fall back, and do not flood the channel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr
from redis.asyncio import Redis

from fakes.alerts import AlertReceiver
from fakes.server import FakeServer
from gateway.notify import AlertKind, Delivery, notify
from gateway.settings import Settings


@pytest.fixture
def receivers() -> Iterator[tuple[AlertReceiver, AlertReceiver]]:
    primary, fallback = AlertReceiver(), AlertReceiver()
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
    settings: Settings, redis_url: str, receivers: tuple[AlertReceiver, AlertReceiver]
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
    settings: Settings, redis_url: str, receivers: tuple[AlertReceiver, AlertReceiver]
) -> None:
    primary, fallback = receivers
    primary.status = 500
    chosen = configured(settings, primary.url, fallback.url)
    assert await send(chosen, redis_url, AlertKind.SWEEP_REPAIRED, "acme") == Delivery.SENT
    assert len(primary.posts) == 1 and len(fallback.posts) == 1


async def test_unreachable_webhooks_fail_and_release_the_claim(
    settings: Settings, redis_url: str, receivers: tuple[AlertReceiver, AlertReceiver]
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
    receivers: tuple[AlertReceiver, AlertReceiver],
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


BOT_TOKEN = "123456789:AAF-secret_bot_token_value"


class TelegramReceiver:
    """A local Bot API server: ``POST /bot<token>/sendMessage``, as api.telegram.org."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        app = FastAPI()

        @app.post("/bot{token}/sendMessage")
        async def send_message(token: str, request: Request) -> Response:
            self.messages.append((token, await request.json()))
            body = '{"ok": true, "result": {"message_id": 1}}'
            return Response(body, status_code=self.status, media_type="application/json")

        self.server = FakeServer(app)


@pytest.fixture
def telegram() -> Iterator[TelegramReceiver]:
    receiver = TelegramReceiver()
    receiver.server.start()
    try:
        yield receiver
    finally:
        receiver.server.stop()


def with_telegram(settings: Settings, receiver: TelegramReceiver) -> Settings:
    return settings.model_copy(
        update={
            "notify_telegram_bot_token": SecretStr(BOT_TOKEN),
            "notify_telegram_chat_id": "-1001234567890",
            "notify_telegram_api_url": receiver.server.url,
            "public_url": "https://gateway.example.com/",
            "notify_min_interval_seconds": 600,
        }
    )


async def test_telegram_alone_gets_the_alert_once_per_interval_with_its_admin_link(
    settings: Settings, redis_url: str, telegram: TelegramReceiver
) -> None:
    chosen = with_telegram(settings, telegram)
    assert await send(chosen, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.SENT
    assert await send(chosen, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.SUPPRESSED
    [(token, body)] = telegram.messages
    assert token == BOT_TOKEN and body["chat_id"] == "-1001234567890"
    assert "domain acme: 3 ticks failed in a row" in body["text"]
    assert body["text"].endswith("Details: https://gateway.example.com/admin/dead-letters")


async def test_both_channels_say_the_same_and_one_working_channel_is_enough(
    settings: Settings,
    redis_url: str,
    telegram: TelegramReceiver,
    receivers: tuple[AlertReceiver, AlertReceiver],
) -> None:
    primary, _ = receivers
    chosen = with_telegram(configured(settings, primary.url), telegram)
    chosen = chosen.model_copy(update={"notify_min_interval_seconds": 600})
    assert await send(chosen, redis_url, AlertKind.SWEEP_REPAIRED, "acme") == Delivery.SENT
    [(_, body)] = telegram.messages
    assert primary.posts == [{"text": body["text"]}]
    assert "/admin/audit?event_type=repaired_by_sweeper" in body["text"]
    # Slack down, Telegram up: still sent.
    primary.status = 500
    assert await send(chosen, redis_url, AlertKind.TICK_FAILURES, "acme") == Delivery.SENT
    # Both down: failed, and the claim is released for the next occurrence.
    telegram.status = 502
    assert await send(chosen, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.FAILED
    telegram.status = 200
    assert await send(chosen, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.SENT


async def test_tick_failure_alerts_link_to_the_domain_page(
    settings: Settings, redis_url: str, telegram: TelegramReceiver
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        async with httpx.AsyncClient() as http:
            await notify(
                redis=redis,
                http=http,
                settings=with_telegram(settings, telegram),
                kind=AlertKind.TICK_FAILURES,
                domain="acme",
                text="3 ticks failed in a row",
                domain_id=7,
            )
    finally:
        await redis.aclose()
    [(_, body)] = telegram.messages
    assert body["text"].endswith("Details: https://gateway.example.com/admin/domains/7")


async def test_the_bot_token_never_reaches_the_log(
    settings: Settings, redis_url: str, telegram: TelegramReceiver
) -> None:
    import logging
    from io import StringIO

    from gateway.logs import configure_logging

    root, httpx_log = logging.getLogger(), logging.getLogger("httpx")
    saved = (list(root.handlers), root.level, httpx_log.level)
    stream = StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    httpx_log.setLevel(logging.DEBUG)  # the request line names the URL, token and all
    try:
        chosen = with_telegram(settings, telegram)
        assert await send(chosen, redis_url, AlertKind.DEAD_LETTER, "acme") == Delivery.SENT
        telegram.status = 401
        assert await send(chosen, redis_url, AlertKind.TICK_FAILURES, "acme") == Delivery.FAILED
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        httpx_log.setLevel(saved[2])
    text = stream.getvalue()
    assert "/bot<redacted>/sendMessage" in text and "Telegram answered 401" in text
    assert BOT_TOKEN not in text and BOT_TOKEN.split(":")[1] not in text


@pytest.mark.parametrize("kind", list(AlertKind))
async def test_every_alert_kind_is_sent_with_a_link_when_a_public_url_is_set(
    settings: Settings,
    redis_url: str,
    receivers: tuple[AlertReceiver, AlertReceiver],
    kind: AlertKind,
) -> None:
    """A kind without an admin page must not make the alert fail to build (it did, for the
    breaker and the sweep cap: a KeyError, reduced to one warning, and no alert sent)."""
    primary, _ = receivers
    chosen = configured(settings, primary.url).model_copy(
        update={"public_url": "https://gateway.example.com"}
    )
    assert await send(chosen, redis_url, kind, "acme") == Delivery.SENT
    [post] = primary.posts
    assert "Details: https://gateway.example.com/admin/" in post["text"]
