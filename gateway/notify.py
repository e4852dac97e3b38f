"""Alerts to a Slack-compatible incoming webhook, rate-limited per kind and domain.

Sent when a dead letter appears, when a sweep repairs more lost webhooks than the
threshold, and when a domain's ticks keep failing. A Redis key per (kind, domain)
with the minimum interval as TTL keeps an outage from flooding the channel, across
every worker. Incoming-webhook URLs are credentials: they are never logged.
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


async def notify(
    *,
    redis: Redis,
    http: httpx.AsyncClient,
    settings: Settings,
    kind: AlertKind,
    domain: str,
    text: str,
) -> Delivery:
    """Post ``text`` unless an alert of this kind for this domain went out recently."""
    urls = webhook_urls(settings)
    if not urls:
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
    payload = {"text": f"PeopleForce-Jira gateway, domain {domain}: {text}"}
    for position, url in enumerate(urls):
        which = "primary" if position == 0 else "fallback"
        try:
            response = await http.post(url, json=payload, timeout=POST_TIMEOUT_SECONDS)
        except httpx.HTTPError as error:
            log.warning("alert %s: %s webhook unreachable (%s)", kind, which, type(error).__name__)
            continue
        if response.is_success:
            metrics.NOTIFICATIONS.labels(kind=kind.value, outcome="sent").inc()
            log.info("alert %s sent via the %s webhook", kind, which, extra={"domain": domain})
            return Delivery.SENT
        log.warning("alert %s: %s webhook answered %s", kind, which, response.status_code)
    metrics.NOTIFICATIONS.labels(kind=kind.value, outcome="failed").inc()
    # Nothing went out: release the claim so the next occurrence tries again.
    with contextlib.suppress(RedisError, OSError):
        await redis.delete(key)
    return Delivery.FAILED
