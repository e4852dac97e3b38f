"""Departures spaced to the per-second limit a site states, as a token bucket would.

Jira states its burst limit on every answer (``X-RateLimit-Limit``: 100 GET/POST
and 50 PUT/DELETE per second per site) and counts it over a sliding second. A
window of requests in flight cannot hold that rate on its own: by Little's law it
sends window / round trip per second, so at 50 ms one slot more or less is a fifth
of the budget, and every wobble of the round trip moves the rate. Spacing the
departures of each kind of limit ``1 / (limit x fraction)`` apart holds the rate
exactly whatever the round trip; the fraction left over absorbs the jitter
between leaving here and being counted there.

Three rules keep the bucket honest:

- at most ``limit x fraction`` departures of a kind in any second, counting those
  sent before the limit was known (the first requests of a new site leave at once);
- the next departure is never set before now, so a stall does not bank a burst;
- an answer that says nothing is left of the site's second skips a beat: a stall
  on either side made the site count a bunch at once, and the requests right
  behind would be refused; one interval later a hit has left the site's window.

The pace itself is additive-increase, multiplicative-decrease: a refusal despite
the pace means the site counted more than we sent (it stalled and counted a bunch
of arrivals at once, or another client spends the same budget), so ``slow_down``
multiplies the pace by a factor, down to ``MIN_PACE_SCALE``; each success wins a
little of it back.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]

MIN_PACE_SCALE = 0.5
PER_SECOND = 1.0


class Pacer:
    """When each request of a kind may leave; ``learn`` a stated limit, ``schedule`` each."""

    def __init__(self, fraction: float, clock: Clock = time.monotonic) -> None:
        self.fraction = fraction
        self.clock = clock
        self.intervals: dict[str, float] = {}
        """Seconds between departures per kind at full pace, once the site stated its limit."""
        self.budgets: dict[str, int] = {}
        """Departures per kind allowed in any one second at full pace."""
        self.scale = 1.0
        """How much of the full pace is allowed now (refusals lower it)."""
        self._next: dict[str, float] = {}
        self._departures: dict[str, deque[float]] = {}

    def learn(self, kind: str, limit: int) -> None:
        """The site stated ``limit`` per second for ``kind`` (0 fraction: never pace)."""
        if limit <= 0 or not self.fraction:
            return
        self.intervals[kind] = PER_SECOND / (limit * self.fraction)
        self.budgets[kind] = max(1, math.floor(limit * self.fraction))

    def paced(self, kind: str) -> bool:
        return kind in self.intervals

    def rate(self, kind: str) -> float:
        """Departures per second now allowed for ``kind`` (0 while it is not paced)."""
        interval = self.intervals.get(kind)
        return self.scale / interval if interval else 0.0

    def schedule(self, kind: str) -> float:
        """The time the next request of ``kind`` leaves (now or later); it is counted."""
        now = self.clock()
        departures = self._departures.setdefault(kind, deque())
        while departures and departures[0] <= now - PER_SECOND:
            departures.popleft()
        interval = self.intervals.get(kind)
        start = now
        if interval:
            start = max(now, self._next.get(kind, 0.0))
            budget = max(1, math.floor(self.budgets[kind] * self.scale))
            if len(departures) >= budget:
                start = max(start, departures[-budget] + PER_SECOND)
            self._next[kind] = start + interval / self.scale
        departures.append(start)
        return start

    def skip_beat(self, kind: str) -> None:
        """The site's second is full (an answer said nothing is left): the next departure
        of ``kind`` waits one interval more, so the arrivals right behind it find room."""
        interval = self.intervals.get(kind)
        if interval:
            now = self.clock()
            self._next[kind] = max(self._next.get(kind, now), now) + interval / self.scale

    def slow_down(self, factor: float) -> None:
        self.scale = max(MIN_PACE_SCALE, self.scale * factor)

    def recover(self, step: float) -> None:
        self.scale = min(1.0, self.scale + step)

    @property
    def slowest(self) -> bool:
        """The pace is as slow as it goes: refusals now are not about our pace."""
        return self.scale <= MIN_PACE_SCALE
