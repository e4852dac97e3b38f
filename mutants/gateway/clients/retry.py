"""Back-off for transient upstream failures.

Exponential back-off with jitter and a cap, ``Retry-After`` treated as a minimum (Jira's
advice), and only for idempotent calls: a Jira create has no idempotency key, so its
failure goes straight to the caller, which records intent and looks for an orphan.
The one exception is 429: a rate limiter refuses the request before it is processed,
so repeating even a create cannot duplicate anything (``retry_refused_writes``).
Sleep and randomness are injectable so tests never wait.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from gateway.clients.errors import (
    MAX_RETRY_AFTER_SECONDS,
    Service,
    UpstreamError,
    classify,
    classify_transport,
)

log = logging.getLogger("gateway.clients")

Sleep = Callable[[float], Awaitable[None]]
Send = Callable[[], Awaitable[httpx.Response]]


class Jitter(StrEnum):
    FULL = "full"
    DECORRELATED = "decorrelated"
    NONE = "none"


@dataclass(frozen=True)
class RetryEvent:
    """What the metrics hook sees for each retry (never headers or bodies)."""

    service: Service
    method: str
    path: str
    attempt: int
    status: int | None
    delay: float
    error: UpstreamError


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; one instance can be shared by many clients."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: Jitter = Jitter.FULL
    max_retry_after: float = MAX_RETRY_AFTER_SECONDS
    retry_refused_writes: bool = True
    sleep: Sleep = field(default=asyncio.sleep, compare=False, repr=False)
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    on_retry: Callable[[RetryEvent], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must not be negative")
        if self.base_delay > self.max_delay:
            raise ValueError("base_delay must not exceed max_delay")

    def backoff(self, attempt: int, previous: float | None = None) -> float:
        """Jittered delay before retry ``attempt`` (1-based), never above ``max_delay``."""
        exponent = min(max(attempt - 1, 0), 62)
        ceiling = min(self.max_delay, self.base_delay * 2.0**exponent)
        if self.jitter is Jitter.FULL:
            return self.rng.uniform(0.0, ceiling)
        if self.jitter is Jitter.DECORRELATED:
            upper = max(self.base_delay, (previous or self.base_delay) * 3.0)
            return min(self.max_delay, self.rng.uniform(self.base_delay, upper))
        return ceiling

    def delay(self, attempt: int, previous: float | None, retry_after: float | None) -> float:
        """Back-off, raised to the server's ``Retry-After`` (itself clamped to a sane maximum)."""
        delay = self.backoff(attempt, previous)
        if retry_after is not None:
            delay = max(delay, min(max(retry_after, 0.0), self.max_retry_after))
        return delay


NO_RETRY = RetryPolicy(max_attempts=1)
# The status that guarantees the upstream did not act on the request.
REFUSED = 429


async def send_with_retries(
    send: Send,
    *,
    service: Service,
    method: str,
    url: httpx.URL | str,
    policy: RetryPolicy,
    idempotent: bool,
    secrets: Iterable[str] = (),
) -> httpx.Response:
    """Return the first 2xx response, or raise the typed error of the last failure."""
    secrets = tuple(secrets)
    path = httpx.URL(str(url)).path
    previous: float | None = None
    attempt = 0
    while True:
        attempt += 1
        cause: Exception | None = None
        try:
            response = await send()
        except httpx.TransportError as exc:
            cause = exc
            error = classify_transport(
                exc, service=service, method=method, url=url, secrets=secrets
            )
        else:
            if response.is_success:
                return response
            error = classify(response, service=service, secrets=secrets)
        retryable = idempotent or (policy.retry_refused_writes and error.status == REFUSED)
        if not (error.transient and retryable and attempt < policy.max_attempts):
            if error.transient and attempt > 1:
                log.warning(
                    "giving up on %s %s %s after %d attempts (status %s)",
                    service,
                    method,
                    path,
                    attempt,
                    error.status,
                    extra={"service": service, "method": method, "path": path},
                )
            raise error from cause
        delay = policy.delay(attempt, previous, error.retry_after)
        previous = delay
        log.info(
            "retrying %s %s %s after status %s in %.2fs (attempt %d of %d)",
            service,
            method,
            path,
            error.status if error.status is not None else "transport-error",
            delay,
            attempt,
            policy.max_attempts,
            extra={
                "service": service,
                "method": method,
                "path": path,
                "status": error.status,
                "delay": delay,
            },
        )
        if policy.on_retry is not None:
            policy.on_retry(
                RetryEvent(
                    service=service,
                    method=method,
                    path=path,
                    attempt=attempt,
                    status=error.status,
                    delay=delay,
                    error=error,
                )
            )
        await policy.sleep(delay)
