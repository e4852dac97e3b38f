"""Login throttling in Redis, so every API process shares one count.

Each sign-in attempt is counted *before* its password is checked, in one Lua
script (increment, start the window, compare): thirty simultaneous guesses cannot
all read a count of zero, so at most ``max_per_account`` of them reach argon2.

Three counters, each a fixed window:

* per (username, client address), hard: after ``max_per_account`` failures that
  pair gets 429 - this stops guessing one account's password from one place;
* per client address, hard: stops spraying one password over many accounts;
* per username across all addresses, soft: past ``soft_per_username`` attempts
  each answer is *delayed* (doubling, capped), never refused, so strangers on
  other addresses slow an attack down without locking the real user out.

The client address is the one uvicorn reports, which honours ``X-Forwarded-For``
only from ``GATEWAY_FORWARDED_ALLOW_IPS``; so behind a trusted proxy each client
keeps its own address, and a client cannot pick one by sending the header itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

KEY_PREFIX = "gateway:admin:login-failures:"
WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 50
SOFT_ATTEMPTS_PER_USERNAME = 10
FIRST_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 4.0

# KEYS: account (username+address), address, username. ARGV: window seconds.
# Counts this attempt on all three and returns the counts and the account key's TTL.
_COUNT_ATTEMPT = """
local counts = {}
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    if count == 1 then
        redis.call('EXPIRE', key, ARGV[1])
    end
    counts[i] = count
end
local ttl = redis.call('TTL', KEYS[1])
local address_ttl = redis.call('TTL', KEYS[2])
return {counts[1], counts[2], counts[3], ttl, address_ttl}
"""


@dataclass(frozen=True)
class Throttled:
    """Login is refused for ``retry_after`` seconds."""

    retry_after: int

    @property
    def message(self) -> str:
        """What the sign-in page says, in whole minutes."""
        minutes = max(1, -(-self.retry_after // 60))
        return (
            f"Too many failed sign-in attempts. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )


@dataclass(frozen=True)
class Attempt:
    """The verdict on one counted attempt: refused (``throttled``) or allowed after
    ``delay_seconds``."""

    throttled: Throttled | None
    delay_seconds: float


def _keys(username: str, address: str) -> tuple[str, str, str]:
    name = username.strip().lower()
    account = hashlib.sha256(f"{name}\0{address}".encode()).hexdigest()
    user = hashlib.sha256(name.encode()).hexdigest()
    return (
        KEY_PREFIX + "account:" + account,
        KEY_PREFIX + "address:" + address,
        KEY_PREFIX + "username:" + user,
    )


class LoginThrottle:
    """Counts attempts atomically; a success forgives the account's and username's count."""

    def __init__(
        self,
        redis: Redis,
        *,
        max_per_account: int = MAX_FAILURES_PER_ACCOUNT,
        max_per_address: int = MAX_FAILURES_PER_ADDRESS,
        soft_per_username: int = SOFT_ATTEMPTS_PER_USERNAME,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self._redis = redis
        self._max_per_account = max_per_account
        self._max_per_address = max_per_address
        self._soft_per_username = soft_per_username
        self._window = window_seconds

    def _delay(self, username_count: int) -> float:
        over = username_count - self._soft_per_username
        if over <= 0:
            return 0.0
        return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** min(over - 1, 16))

    async def attempt(self, username: str, address: str) -> Attempt:
        """Count this attempt (one round trip) and say whether it may go ahead."""
        script = self._redis.register_script(_COUNT_ATTEMPT)
        result = await script(keys=list(_keys(username, address)), args=[self._window])
        account, per_address, per_username, ttl, address_ttl = (int(x) for x in result)
        if account > self._max_per_account:
            return Attempt(Throttled(ttl if ttl > 0 else self._window), 0.0)
        if per_address > self._max_per_address:
            return Attempt(Throttled(address_ttl if address_ttl > 0 else self._window), 0.0)
        return Attempt(None, self._delay(per_username))

    async def record_success(self, username: str, address: str) -> None:
        """A success forgives the account's and the username's attempts, and does not
        count against its address."""
        account_key, address_key, username_key = _keys(username, address)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(account_key, username_key)
            pipe.decr(address_key)
            await pipe.execute()
