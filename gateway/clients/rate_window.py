"""Adaptive concurrency for one upstream site: a window that follows what the site says.

Jira Cloud limits each site (100 GET/POST per second, 50 PUT/DELETE, per-issue
write windows) and says how close a caller is on every answer: ``X-RateLimit-Limit``
and ``X-RateLimit-Remaining``, ``X-RateLimit-NearLimit`` under 20% left,
``Beta-Retry-After`` where a stricter limit would have refused, and 429 (or 503)
with ``Retry-After`` once it refuses. A fixed number of parallel requests is either
too few for a slow site or too many for a fast one, so the gateway adapts.

Once the site has stated its limit (its first answer does), the rate is set by a
pacer (``gateway.clients.pacer``): departures of each kind are spaced to
``pace_fraction`` of the stated per-second limit, and the pace, not the window,
takes the decreases. The window then only has to hold enough requests in flight
for that pace, which by Little's law is rate x round trip: it jumps there
(``headroom`` times the smoothed round trip) instead of doubling per round trip,
which on a slow site took seconds and overshot. For paced requests:

- a refusal slows the pace (once per round trip) and only the refused request
  waits its ``Retry-After`` (its retry honours it): the others leave at the slower
  pace, which the site's sliding second has room for, instead of every slot
  stalling a whole second for one late arrival; only when the pace is at its
  slowest and the site still refuses (someone else spends the budget) does every
  slot pause for ``Retry-After`` and the window halve;
- little budget left is not a warning sign: it is the pace using the budget; none
  left (or a refusal) skips one beat of the pace, so the next arrivals find room.

Before the site states a limit (or with ``pace_fraction=0``), the window alone
adapts, as TCP's congestion window does:

- it starts small and doubles every round trip (slow start) until the first sign
  of the limit, then grows by one per round trip of successes (additive increase);
- it holds while Jira reports fewer than ``hold_fraction`` of the limit left, and
  shrinks by ``near_factor`` when fewer than ``shrink_fraction`` are left, so the
  requests already on their way do not run into a refusal;
- a refusal halves it (multiplicative decrease) and pauses every slot for
  ``Retry-After``: the other requests would be refused too.

Always:

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from gateway.clients.instrument import report_window
from gateway.clients.pacer import MIN_PACE_SCALE, Pacer
from gateway.clients.rate_signal import (
    PER_ISSUE_REASON,
    REFUSALS,
    Signal,
    Tuning,
    limit_kind,
    read_signal,
)

__all__ = [
    "INITIAL_WINDOW",
    "MIN_PACE_SCALE",
    "PER_ISSUE_REASON",
    "REFUSALS",
    "RateWindow",
    "Signal",
    "SiteWindows",
    "Ticket",
    "Tuning",
    "limit_kind",
    "read_signal",
]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
WindowObserver = Callable[["RateWindow"], None]

INITIAL_WINDOW = Tuning().initial
HISTORY = 256
DEFAULT_PAUSE_SECONDS = 1.0
"""Pause after a refusal that names no ``Retry-After`` (Jira's burst limits are per second)."""
RTT_GAIN = 0.125
"""Weight of the newest round trip in the smoothed one (TCP's SRTT gain)."""


@dataclass(frozen=True)
class Ticket:
    """One slot held by one request: its place in the send order, its kind of limit, how
    often the window had been full before it left (to tell whether it filled since),
    when it left and whether it left paced."""

    number: int
    kind: str
    full_before: int
    sent_at: float = 0.0
    paced: bool = False


class RateWindow:
    """How many requests one site may have in flight; ``acquire`` before, ``release`` after."""

    def __init__(
        self,
        *,
        cap: int,
        tuning: Tuning | None = None,
        clock: Clock = time.monotonic,
        observer: WindowObserver | None = None,
    ) -> None:
        self.tuning = tuning = tuning or Tuning()
        if cap < tuning.floor:
            raise ValueError("a rate window needs 1 <= floor <= cap")
        self.cap = cap
        self.clock = clock
        self.observer = observer
        """Told after every change of slots or pace (the metrics' gauges)."""
        self.size = float(min(max(tuning.initial, tuning.floor), cap))
        self.slow_start = True
        self.in_flight = 0
        self.paused_until = 0.0
        self.refusals = 0
        self.decreases = 0
        self.pace_cuts = 0
        self.smallest = self.size
        self.largest = self.size
        self.history: deque[int] = deque([self.slots], maxlen=HISTORY)
        """The latest slot counts, one entry per change (for logs and tests)."""
        self.pacer = Pacer(tuning.pace_fraction, clock)
        self.round_trip = 0.0
        """Smoothed seconds from departure to answer of successful requests."""
        self._sent = 0
        self._filled = 0
        """How often a departure filled the window: only a full window has earned growth."""
        self._recovery_from = 0
        self._pace_cut_from = 0
        self._acked = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def slots(self) -> int:
        """Requests allowed in flight now: the window's whole part."""
        return max(self.tuning.floor, min(self.cap, int(self.size)))

    @property
    def intervals(self) -> dict[str, float]:
        """Seconds between departures per kind at full pace, once the site stated its limit."""
        return self.pacer.intervals

    @property
    def pace_scale(self) -> float:
        """How much of ``pace_fraction`` the pace allows now (refusals lower it)."""
        return self.pacer.scale

    def set_cap(self, cap: int) -> None:
        """A new cap (a domain's ``max_concurrency`` changed); the window is clamped to it."""
        if cap < self.tuning.floor:
            raise ValueError("cap must not be below the floor")
        self.cap = cap
        self._resize(min(self.size, float(cap)))
        if self.observer is not None:
            self.observer(self)

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
        kind = limit_kind(method)
        paced = self.pacer.paced(kind)
        departure = self.pacer.schedule(kind)
        ticket = Ticket(self._sent + 1, kind, self._filled, departure, paced)
        self.in_flight += 1
        self._sent += 1
        if self.in_flight >= self.slots:
            self._filled += 1
        try:
            delay = departure - self.clock()
            if delay > 0:
                await sleep(delay)
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

    def release(self, ticket: Ticket, signal: Signal | None) -> None:
        """Give the slot back and adapt to the answer (``None``: no answer, e.g. a timeout)."""
        self.in_flight -= 1
        if signal is not None:
            slots, rate = self.slots, self.pacer.rate(ticket.kind)
            self._adapt(ticket, signal)
            if self.observer is not None and (slots, rate) != (
                self.slots,
                self.pacer.rate(ticket.kind),
            ):
                self.observer(self)
        self._wake()

    def _adapt(self, ticket: Ticket, signal: Signal) -> None:
        if signal.per_issue:
            self.refusals += int(signal.refused)
            return
        if signal.limit:
            self.pacer.learn(ticket.kind, signal.limit)
        if ticket.paced:
            self._adapt_paced(ticket, signal)
        else:
            self._adapt_window(ticket, signal)

    def _adapt_paced(self, ticket: Ticket, signal: Signal) -> None:
        """A paced request's answer moves the pace; the window follows rate x round trip."""
        tuning = self.tuning
        if signal.refused:
            self.refusals += 1
            self.pacer.skip_beat(ticket.kind)  # the site's second is full, as below
            if ticket.number > self._pace_cut_from:  # one cut per round trip, as above
                self._pace_cut_from = self._sent
                self.pace_cuts += 1
                self.pacer.slow_down(tuning.pace_backoff)
            if self.pacer.slowest:
                # Refused at half the stated pace: the budget goes elsewhere; wait as told.
                self.pause(_pause_for(signal))
                if ticket.number > self._recovery_from:
                    self._decrease(tuning.refused_factor)
            return
        if signal.status >= 400:
            return
        if signal.remaining is not None and signal.remaining <= 0:
            self.pacer.skip_beat(ticket.kind)
        self.pacer.recover(tuning.pace_recovery)
        round_trip = max(0.0, self.clock() - ticket.sent_at)
        smoothed = self.round_trip or round_trip
        self.round_trip = smoothed + RTT_GAIN * (round_trip - smoothed)
        needed = self.pacer.rate(ticket.kind) * self.round_trip * tuning.headroom + 1.0
        if needed > self.size:
            self.slow_start = False
            self._resize(needed)

    def _adapt_window(self, ticket: Ticket, signal: Signal) -> None:
        """An unpaced request's answer moves the window (slow start, AIMD)."""
        tuning = self.tuning
        fresh = ticket.number > self._recovery_from
        if signal.refused:
            self.refusals += 1
            self.pause(_pause_for(signal))
            if fresh:
                self._decrease(tuning.refused_factor)
                self.pacer.slow_down(tuning.pace_backoff)
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
            self.pacer.recover(tuning.pace_recovery)
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


def _pause_for(signal: Signal) -> float:
    return signal.retry_after if signal.retry_after is not None else DEFAULT_PAUSE_SECONDS


def site_gauges(site: str) -> WindowObserver:
    """An observer that shows a site's window and pace on the metrics' gauges."""

    def observe(window: RateWindow) -> None:
        pacer = window.pacer
        report_window(site, window.slots, {kind: pacer.rate(kind) for kind in pacer.intervals})

    return observe


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
            if window.observer is None:
                window.observer = site_gauges(httpx.URL(key).host or key)
            window.observer(window)
        elif window.cap != cap:
            window.set_cap(cap)
        return window

    def __len__(self) -> int:
        return len(self._windows)
