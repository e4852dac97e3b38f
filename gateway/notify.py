"""Alerts to a Slack-compatible incoming webhook and to Telegram, rate-limited per kind
and domain.

Sent when a dead letter appears, when a sweep repairs more lost webhooks than the
threshold, and when a domain's ticks keep failing. A Redis key per (kind, domain)
with the minimum interval as TTL keeps an outage from flooding the channels, across
every worker; one claim covers every channel, so both say the same thing at the same
time. Each alert links to the admin page that explains it when the gateway's public
URL is set. Incoming-webhook URLs and the bot token are credentials: never logged
(the token is part of the Bot API's URL, so no URL or HTTP error text is logged).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from enum import StrEnum

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway import metrics
from gateway.settings import Settings

log = logging.getLogger("gateway.notify")

NOTIFY_KEY_PREFIX = "gateway:notify:"
POST_TIMEOUT_SECONDS = 5.0


class AlertKind(StrEnum):
    DEAD_LETTER = "dead_letter"
    SWEEP_REPAIRED = "sweep_repaired"
    TICK_FAILURES = "tick_failures"
    BREAKER_OPEN = "breaker_open"
    SWEEP_CAPPED = "sweep_capped"


class Delivery(StrEnum):
    DISABLED = "disabled"
    SUPPRESSED = "suppressed"
    SENT = "sent"
    FAILED = "failed"


def admin_link(settings: Settings, kind: AlertKind, domain_id: int | None) -> str | None:
    """The admin page that explains an alert of this kind; None without a public URL."""
    if not settings.public_url:
        return None
    audit = f"/admin/audit?domain_id={domain_id}&" if domain_id else "/admin/audit?"
    domain_page = f"/admin/domains/{domain_id}" if domain_id else None
    paths: dict[AlertKind, str] = {
        AlertKind.DEAD_LETTER: "/admin/dead-letters",
        AlertKind.SWEEP_REPAIRED: f"{audit}event_type=repaired_by_sweeper",
        AlertKind.TICK_FAILURES: domain_page or f"{audit}event_type=tick_failed",
        AlertKind.BREAKER_OPEN: domain_page or f"{audit}event_type=breaker_opened",
        AlertKind.SWEEP_CAPPED: f"{audit}event_type=sweep",
    }
    return settings.public_url.rstrip("/") + paths[kind]


def alert_key(kind: AlertKind, domain: str) -> str:
    """The rate-limit key; the domain name is hashed so any name is a safe key."""
    digest = hashlib.sha256(domain.encode()).hexdigest()[:16]
    return f"{NOTIFY_KEY_PREFIX}{kind}:{digest}"


def webhook_urls(settings: Settings) -> list[str]:
    """Primary URL first, then the fallback."""
    urls = [settings.notify_webhook_url, settings.notify_webhook_url_fallback]
    return [url.get_secret_value().strip() for url in urls if url is not None]


async def _claim(redis: Redis, key: str, interval: int) -> bool:
    if interval <= 0:
        return True
    return bool(await redis.set(key, str(time.time()), nx=True, ex=interval))


def telegram_configured(settings: Settings) -> bool:
    return bool(settings.notify_telegram_bot_token and settings.notify_telegram_chat_id)


async def notify(
    *,
    redis: Redis,
    http: httpx.AsyncClient,
    settings: Settings,
    kind: AlertKind,
    domain: str,
    text: str,
    domain_id: int | None = None,
) -> Delivery:
    """Send ``text`` to every channel unless an alert of this kind for this domain went
    out recently; SENT when at least one channel took it."""
    urls = webhook_urls(settings)
    if not urls and not telegram_configured(settings):
        return Delivery.DISABLED
    key = alert_key(kind, domain)
    try:
        claimed = await _claim(redis, key, settings.notify_min_interval_seconds)
    except (RedisError, OSError) as error:
        # Without the shared rate limit an outage could flood the channel: stay quiet.
        log.warning("alert %s not sent, Redis unavailable: %s", kind, type(error).__name__)
        metrics.NOTIFICATIONS.labels(kind=kind.value, outcome="failed").inc()
        return Delivery.FAILED
    if not claimed:
        metrics.NOTIFICATIONS.labels(kind=kind.value, outcome="suppressed").inc()
        return Delivery.SUPPRESSED
    message = f"PeopleForce-Jira gateway, domain {domain}: {text}"
    link = admin_link(settings, kind, domain_id)
    if link:
        message += f"\nDetails: {link}"
    sent_webhook = bool(urls) and await _post_webhooks(http, urls, kind, domain, message)
    sent_telegram = telegram_configured(settings) and await _post_telegram(
        http, settings, kind, domain, message
    )
    if sent_webhook or sent_telegram:
        metrics.NOTIFICATIONS.labels(kind=kind.value, outcome="sent").inc()
        return Delivery.SENT
    metrics.NOTIFICATIONS.labels(kind=kind.value, outcome="failed").inc()
    # Nothing went out: release the claim so the next occurrence tries again.
    with contextlib.suppress(RedisError, OSError):
        await redis.delete(key)
    return Delivery.FAILED


async def _post_webhooks(
    http: httpx.AsyncClient, urls: list[str], kind: AlertKind, domain: str, message: str
) -> bool:
    """The primary incoming webhook, then the fallback; True when one took the alert."""
    for position, url in enumerate(urls):
        which = "primary" if position == 0 else "fallback"
        try:
            response = await http.post(url, json={"text": message}, timeout=POST_TIMEOUT_SECONDS)
        except httpx.HTTPError as error:
            log.warning("alert %s: %s webhook unreachable (%s)", kind, which, type(error).__name__)
            continue
        if response.is_success:
            log.info("alert %s sent via the %s webhook", kind, which, extra={"domain": domain})
            return True
        log.warning("alert %s: %s webhook answered %s", kind, which, response.status_code)
    return False


async def _post_telegram(
    http: httpx.AsyncClient, settings: Settings, kind: AlertKind, domain: str, message: str
) -> bool:
    """``sendMessage`` of the Bot API to the configured chat; True when Telegram took it."""
    token = settings.notify_telegram_bot_token
    if token is None:
        return False
    url = (
        f"{settings.notify_telegram_api_url.rstrip('/')}/bot{token.get_secret_value()}/sendMessage"
    )
    body = {
        "chat_id": settings.notify_telegram_chat_id,
        "text": message,
        "disable_web_page_preview": True,
    }
    try:
        response = await http.post(url, json=body, timeout=POST_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        log.warning("alert %s: Telegram unreachable (%s)", kind, type(error).__name__)
        return False
    if response.is_success:
        log.info("alert %s sent via Telegram", kind, extra={"domain": domain})
        return True
    log.warning("alert %s: Telegram answered %s", kind, response.status_code)
    return False
