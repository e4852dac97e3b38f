"""Adaptive concurrency for one upstream site: a window that follows what the site says.

Jira Cloud limits each site (100 GET/POST per second, 50 PUT/DELETE, per-issue
write windows) and says how close a caller is on every answer: ``X-RateLimit-Limit``
and ``X-RateLimit-Remaining``, ``X-RateLimit-NearLimit`` under 20% left,
``Beta-Retry-After`` where a stricter limit would have refused, and 429 (or 503)
with ``Retry-After`` once it refuses. A fixed number of parallel requests is either
too few for a slow site or too many for a fast one, so the number of requests in
flight is a window that adapts, as TCP's congestion window does:

- it starts small and doubles every round trip (slow start) until the first sign
  of the limit, then grows by one per round trip of successes (additive increase);
- it holds while Jira reports fewer than ``hold_fraction`` of the limit left, and
  shrinks by ``near_factor`` when fewer than ``shrink_fraction`` are left, so the
  requests already on their way do not run into a refusal;
- a refusal halves it (multiplicative decrease) and pauses every slot for
  ``Retry-After``: the other requests would be refused too;
- once the site states its limit, departures of each kind (GET/POST, PUT/DELETE)
  are spaced to ``pace_fraction`` of it: a window counts requests, not seconds, and
  at a few tens of milliseconds per round trip one slot more or less is a fifth of
  the budget, while the per-second limit is exact (Jira's burst limits, the ones
  these headers state, are per second); a refusal despite the pace slows it (a
  server that stalls and then counts a bunch of arrivals at once), successes with
  budget left win the pace back;
- a refusal for one hot issue (``RateLimit-Reason: jira-per-issue-on-write``) says
  nothing about the site: only that request waits (the retry honours its
  ``Retry-After``), the window and the other slots carry on;
- it never drops below ``floor`` nor grows above ``cap`` (a domain's
  ``max_concurrency``), and only grows while it is full, so a quiet spell does not
  leave a large window that a burst then overruns.

One decrease per round trip: answers to requests sent before the last decrease
describe the old window and are not held against the new one. Sites are keyed by
base URL in a ``SiteWindows`` shared by every job of a worker process, so two
domains on the same Jira site share one budget.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from gateway.clients.errors import MAX_RETRY_AFTER_SECONDS, parse_retry_after

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

INITIAL_WINDOW = 4
"""The old fixed default: a new site starts where every domain used to stay."""
HISTORY = 256
REFUSALS = frozenset({429, 503})
MIN_PACE_SCALE = 0.5
PER_ISSUE_REASON = "jira-per-issue-on-write"
DEFAULT_PAUSE_SECONDS = 1.0
"""Pause after a refusal that names no ``Retry-After`` (Jira's burst limits are per second)."""


@dataclass(frozen=True)
class Signal:
    """What one answer says about the site's budget; every field is optional on the wire."""

    status: int
    limit: int | None = None
    remaining: int | None = None
    retry_after: float | None = None
    near_limit: bool = False
    beta_retry_after: bool = False
    reason: str | None = None

    @property
    def per_issue(self) -> bool:
        """The limit of one issue's writes, not the site's budget."""
        return self.reason == PER_ISSUE_REASON

    @property
    def refused(self) -> bool:
        """A 429, or a 503 that names a ``Retry-After`` (Jira sheds load that way too)."""
        return self.status == 429 or (self.status in REFUSALS and self.retry_after is not None)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def read_signal(response: httpx.Response) -> Signal:
    """The budget headers of one answer; a malformed header counts as absent."""
    headers = response.headers
    return Signal(
        status=response.status_code,
        limit=_header_int(headers, "X-RateLimit-Limit"),
        remaining=_header_int(headers, "X-RateLimit-Remaining"),
        retry_after=parse_retry_after(headers.get("Retry-After")),
        near_limit=headers.get("X-RateLimit-NearLimit", "").strip().lower() == "true",
        beta_retry_after="Beta-Retry-After" in headers,
        reason=headers.get("RateLimit-Reason"),
    )


@dataclass(frozen=True)
class Tuning:
    """The window's constants; the defaults suit Jira Cloud's per-second burst limits."""

    floor: int = 1
    initial: int = INITIAL_WINDOW
    hold_fraction: float = 0.1
    """Stop growing while fewer than this share of the limit is left."""
    shrink_fraction: float = 0.02
    """Shrink by ``near_factor`` while fewer than this share is left."""
    near_factor: float = 0.8
    refused_factor: float = 0.5
    pace_fraction: float = 0.95
    """Space departures to this share of a stated per-second limit (0: do not pace)."""
    pace_backoff: float = 0.85
    """A refusal despite the pace slows the pace by this factor (down to half) ..."""
    pace_recovery: float = 0.0005
    """... and each success with budget left wins this much of it back."""
    max_pause: float = MAX_RETRY_AFTER_SECONDS

    def __post_init__(self) -> None:
        if self.floor < 1 or self.initial < 1:
            raise ValueError("floor and initial window must be at least 1")
        if not 0 <= self.shrink_fraction <= self.hold_fraction < 1:
            raise ValueError("need 0 <= shrink_fraction <= hold_fraction < 1")
        factors = (self.near_factor, self.refused_factor, self.pace_backoff)
        if not all(0 < factor < 1 for factor in factors):
            raise ValueError("decrease factors must lie strictly between 0 and 1")
        if not 0 <= self.pace_fraction <= 1:
            raise ValueError("pace_fraction must lie between 0 and 1")


@dataclass(frozen=True)
class Ticket:
    """One slot held by one request: its place in the send order, its kind of limit, and
    how often the window had been full before it left (to tell whether it filled since)."""

    number: int
    kind: str
    full_before: int


def limit_kind(method: str) -> str:
    """Jira counts GET/POST and PUT/DELETE against separate burst limits."""
    return "write" if method.upper() in ("PUT", "DELETE", "PATCH") else "read"


class RateWindow:
    """How many requests one site may have in flight; ``acquire`` before, ``release`` after."""

    def __init__(
        self, *, cap: int, tuning: Tuning | None = None, clock: Clock = time.monotonic
    ) -> None:
        self.tuning = tuning = tuning or Tuning()
        if cap < tuning.floor:
            raise ValueError("a rate window needs 1 <= floor <= cap")
        self.cap = cap
        self.clock = clock
        self.size = float(min(max(tuning.initial, tuning.floor), cap))
        self.slow_start = True
        self.in_flight = 0
        self.paused_until = 0.0
        self.refusals = 0
        self.decreases = 0
        self.smallest = self.size
        self.largest = self.size
        self.history: deque[int] = deque([self.slots], maxlen=HISTORY)
        """The latest slot counts, one entry per change (for logs and tests)."""
        self.intervals: dict[str, float] = {}
        """Seconds between departures per kind of limit, once the site stated the limit."""
        self.pace_scale = 1.0
        """How much of ``pace_fraction`` the pace allows now (refusals lower it)."""
        self._next_departure: dict[str, float] = {}
        self._sent = 0
        self._filled = 0
        """How often a departure filled the window: only a full window has earned growth."""
        self._recovery_from = 0
        self._acked = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def slots(self) -> int:
        """Requests allowed in flight now: the window's whole part."""
        return max(self.tuning.floor, min(self.cap, int(self.size)))

    def set_cap(self, cap: int) -> None:
        """A new cap (a domain's ``max_concurrency`` changed); the window is clamped to it."""
        if cap < self.tuning.floor:
            raise ValueError("cap must not be below the floor")
        self.cap = cap
        self._resize(min(self.size, float(cap)))

    async def acquire(self, sleep: Sleep = asyncio.sleep, method: str = "GET") -> Ticket:
        """Wait out any pause, for a free slot and for the pace; the ticket for ``release``.

        A pause is waited for once per value it had, not until the clock passes it, so
        a ``sleep`` that returns at once (tests) cannot spin.
        """
        waited_for = 0.0
        while True:
            until = self.paused_until
            if until > waited_for and until > self.clock():
                waited_for = until
                await sleep(until - self.clock())
                continue
            if self.in_flight < self.slots:
                break
            await self._wait_for_slot()
        ticket = Ticket(self._sent + 1, limit_kind(method), self._filled)
        self.in_flight += 1
        self._sent += 1
        if self.in_flight >= self.slots:
            self._filled += 1
        try:
            await self._pace(ticket.kind, sleep)
        except BaseException:
            self.release(ticket, None)
            raise
        return ticket

    async def _wait_for_slot(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # the slot this waiter was woken for goes to the next one
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def _pace(self, kind: str, sleep: Sleep) -> None:
        """Keep departures of one kind apart, so a stated per-second limit is never overrun.

        The next departure is never set before now: a stall does not bank a burst.
        """
        interval = self.intervals.get(kind)
        if not interval:
            return
        now = self.clock()
        start = max(now, self._next_departure.get(kind, 0.0))
        self._next_departure[kind] = start + interval / self.pace_scale
        if start > now:
            await sleep(start - now)

    def release(self, ticket: Ticket, signal: Signal | None) -> None:
        """Give the slot back and adapt to the answer (``None``: no answer, e.g. a timeout)."""
        self.in_flight -= 1
        if signal is not None:
            self._adapt(ticket, signal)
        self._wake()

    def _adapt(self, ticket: Ticket, signal: Signal) -> None:
        tuning = self.tuning
        fresh = ticket.number > self._recovery_from
        if signal.per_issue:
            self.refusals += int(signal.refused)
            return
        if signal.limit and tuning.pace_fraction:
            self.intervals[ticket.kind] = 1.0 / (signal.limit * tuning.pace_fraction)
        if signal.refused:
            self.refusals += 1
            pause = signal.retry_after if signal.retry_after is not None else DEFAULT_PAUSE_SECONDS
            self.pause(pause)
            if fresh:
                self._decrease(tuning.refused_factor)
                self.pace_scale = max(MIN_PACE_SCALE, self.pace_scale * tuning.pace_backoff)
            return
        left = self._left(signal)
        if left is not None and left < tuning.shrink_fraction:
            if fresh:
                self._decrease(tuning.near_factor)
            return
        near = signal.near_limit or signal.beta_retry_after
        if (left is not None and left < tuning.hold_fraction) or (left is None and near):
            self.slow_start = False
            return
        if signal.status < 400:
            self.pace_scale = min(1.0, self.pace_scale + tuning.pace_recovery)
            if self._filled > ticket.full_before:
                self._grow()

    def _grow(self) -> None:
        """One more slot per success in slow start, per window of successes after it."""
        if self.slow_start:
            self._resize(self.size + 1.0)
            return
        self._acked += 1
        if self._acked >= self.slots:
            self._acked = 0
            self._resize(self.size + 1.0)

    @staticmethod
    def _left(signal: Signal) -> float | None:
        """The fraction of the limit left, when the answer says both."""
        if signal.limit is None or signal.remaining is None or signal.limit <= 0:
            return None
        return max(0, signal.remaining) / signal.limit

    def pause(self, seconds: float) -> None:
        """Hold every slot for ``seconds`` (clamped to ``max_pause``): the site said so."""
        seconds = min(max(seconds, 0.0), self.tuning.max_pause)
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    def _decrease(self, factor: float) -> None:
        """Shrink once per round trip: later answers to earlier requests are the old news."""
        self.slow_start = False
        self.decreases += 1
        self._recovery_from = self._sent
        self._resize(self.size * factor)

    def _resize(self, size: float) -> None:
        slots = self.slots
        self.size = min(max(size, float(self.tuning.floor)), float(self.cap))
        self.smallest = min(self.smallest, self.size)
        self.largest = max(self.largest, self.size)
        if self.slots != slots:
            self.history.append(self.slots)

    def _wake(self) -> None:
        """Wake as many waiters as there are free slots; each checks again on waking."""
        free = self.slots - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


class SiteWindows:
    """One ``RateWindow`` per site base URL, shared by every job of a worker process."""

    def __init__(self, factory: Callable[[int], RateWindow] | None = None) -> None:
        self._factory = factory or (lambda cap: RateWindow(cap=cap))
        self._windows: dict[str, RateWindow] = {}

    def for_site(self, base_url: str, *, cap: int) -> RateWindow:
        """The site's window, its cap set to ``cap`` (the last domain to ask sets it)."""
        key = base_url.rstrip("/").lower()
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = self._factory(cap)
        elif window.cap != cap:
            window.set_cap(cap)
        return window

    def __len__(self) -> int:
        return len(self._windows)
