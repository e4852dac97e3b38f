"""Login throttling in Redis, so every API process shares one count.

Failures are counted per (username, client address) and per address alone: the
first stops guessing one account's password, the second stops spraying one
password over many accounts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

KEY_PREFIX = "gateway:admin:login-failures:"
WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 50


@dataclass(frozen=True)
class Throttled:
    """Login is refused for ``retry_after`` seconds."""

    retry_after: int

    @property
    def message(self) -> str:
        minutes = max(1, -(-self.retry_after // 60))
        return (
            f"Too many failed sign-in attempts. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )


def _keys(username: str, address: str) -> tuple[str, str]:
    account = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return KEY_PREFIX + "account:" + account, KEY_PREFIX + "address:" + address


class LoginThrottle:
    """Fixed-window failure counters; a success clears the account's counter."""

    def __init__(
        self,
        redis: Redis,
        *,
        max_per_account: int = MAX_FAILURES_PER_ACCOUNT,
        max_per_address: int = MAX_FAILURES_PER_ADDRESS,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self._redis = redis
        self._max_per_account = max_per_account
        self._max_per_address = max_per_address
        self._window = window_seconds

    async def check(self, username: str, address: str) -> Throttled | None:
        """Throttled when either counter has reached its limit, else None."""
        account_key, address_key = _keys(username, address)
        for key, limit in (
            (account_key, self._max_per_account),
            (address_key, self._max_per_address),
        ):
            count = await self._redis.get(key)
            if count is not None and int(count) >= limit:
                ttl = await self._redis.ttl(key)
                return Throttled(retry_after=ttl if ttl > 0 else self._window)
        return None

    async def record_failure(self, username: str, address: str) -> None:
        for key in _keys(username, address):
            async with self._redis.pipeline(transaction=True) as pipe:
                # SET NX starts the window once (EXPIRE NX needs Redis 7; this works on 6).
                pipe.set(key, 0, ex=self._window, nx=True)
                pipe.incr(key)
                await pipe.execute()

    async def record_success(self, username: str, address: str) -> None:
        account_key, _ = _keys(username, address)
        await self._redis.delete(account_key)
