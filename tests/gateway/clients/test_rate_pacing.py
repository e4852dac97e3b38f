"""The paced rate window: once Jira states its limit, the pace takes the decreases.

A manual clock and a recording sleep stand in for time, so nothing here waits.
"""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from gateway.clients.pacer import MIN_PACE_SCALE, Pacer
from gateway.clients.rate_window import RateWindow, Signal, SiteWindows, Tuning

from .conftest import RecordingSleep

LIMIT = 100


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok(remaining: int = 50) -> Signal:
    return Signal(status=200, limit=LIMIT, remaining=remaining)


def refused(retry_after: float = 1.0) -> Signal:
    return Signal(429, limit=LIMIT, remaining=0, retry_after=retry_after, reason="jira-burst-based")


async def paced_window(
    clock: ManualClock, sleep: RecordingSleep, tuning: Tuning | None = None
) -> RateWindow:
    """A window whose site has stated its limit (the first answer does)."""
    window = RateWindow(cap=64, tuning=tuning, clock=clock)
    window.release(await window.acquire(sleep, "POST"), ok())
    return window


async def test_a_refusal_of_a_paced_request_slows_the_pace_and_stalls_no_other_slot() -> None:
    clock, sleep = ManualClock(), RecordingSleep()
    window = await paced_window(clock, sleep)
    tickets = [await window.acquire(sleep, "POST") for _ in range(4)]
    slots = window.slots
    window.release(tickets[0], refused(retry_after=3.0))
    assert window.pace_scale == pytest.approx(Tuning().pace_backoff)
    assert window.paused_until == 0.0
    assert window.slots == slots
    for ticket in tickets[1:]:
        window.release(ticket, refused(retry_after=3.0))  # sent before the cut: one signal
    assert window.pace_cuts == 1
    clock.now += 10.0
    sleep.delays.clear()
    await window.acquire(sleep, "POST")
    assert sleep.delays == []  # no slot waits for the refused request's Retry-After


async def test_the_same_refusal_of_an_unpaced_request_pauses_every_slot() -> None:
    """The counterpart: before a limit is stated, a refusal is all the window knows."""
    clock, sleep = ManualClock(), RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(pace_fraction=0.0), clock=clock)
    tickets = [await window.acquire(sleep, "POST") for _ in range(4)]
    window.release(tickets[0], refused(retry_after=3.0))
    assert window.paused_until == clock.now + 3.0
    for ticket in tickets[1:]:
        window.release(ticket, None)
    await window.acquire(sleep, "POST")
    assert sleep.delays == [3.0]


async def test_refused_at_the_slowest_pace_every_slot_waits_as_told() -> None:
    """Refusals at half the stated pace: someone else spends the budget, so wait."""
    clock, sleep = ManualClock(), RecordingSleep()
    window = await paced_window(clock, sleep)
    while window.pace_scale > MIN_PACE_SCALE:
        window.release(await window.acquire(sleep, "POST"), refused(retry_after=2.0))
        assert window.paused_until == 0.0 or window.pace_scale == MIN_PACE_SCALE
    assert window.paused_until == clock.now + 2.0
    assert window.decreases == 1


async def test_a_paced_window_holds_rate_times_round_trip_at_once() -> None:
    """Little's law: at the stated pace and a 300 ms round trip, ~44 in flight, without
    doubling there round trip by round trip."""
    clock, sleep = ManualClock(), RecordingSleep()
    window = await paced_window(clock, sleep, Tuning(headroom=1.5, pace_fraction=1.0))
    ticket = await window.acquire(sleep, "POST")
    clock.now += 0.3
    window.release(ticket, ok())
    assert window.round_trip == pytest.approx(0.3)
    assert window.slots == int(LIMIT * window.round_trip * 1.5 + 1)
    assert not window.slow_start


async def test_low_budget_left_does_not_shrink_a_paced_window() -> None:
    """Little left is the pace using the budget, not a warning."""
    clock, sleep = ManualClock(), RecordingSleep()
    window = await paced_window(clock, sleep)
    slots = window.slots
    for _ in range(20):
        window.release(await window.acquire(sleep, "POST"), ok(remaining=0))
    assert window.slots >= slots
    assert window.decreases == 0


def test_the_pacer_counts_what_left_before_the_limit_was_known() -> None:
    """Ten sent at once, then the site says ten per second: the next leaves a second
    after the first, not one interval after the last."""
    clock = ManualClock()
    pacer = Pacer(fraction=1.0, clock=clock)
    for _ in range(10):
        assert pacer.schedule("read") == clock.now
    pacer.learn("read", 10)
    assert pacer.schedule("read") == pytest.approx(clock.now + 1.0)
    assert pacer.schedule("read") == pytest.approx(clock.now + 1.1)


def test_without_the_one_second_count_the_pacer_would_overrun_the_limit() -> None:
    """The counterpart: departures spaced by the interval alone, after a burst."""
    clock = ManualClock()
    pacer = Pacer(fraction=1.0, clock=clock)
    pacer.learn("read", 10)
    for _ in range(3):
        pacer.schedule("read")
    assert pacer.schedule("read") == pytest.approx(clock.now + 0.3)  # only spacing applies


async def test_the_site_gauges_show_the_window_and_the_pace() -> None:
    clock, sleep = ManualClock(), RecordingSleep()
    windows = SiteWindows(lambda cap: RateWindow(cap=cap, clock=clock))
    window = windows.for_site("https://gauges.atlassian.test/", cap=64)
    site = {"site": "gauges.atlassian.test"}
    assert REGISTRY.get_sample_value("gateway_jira_window_slots", site) == window.slots
    ticket = await window.acquire(sleep, "POST")
    window.release(ticket, ok())
    ticket = await window.acquire(sleep, "POST")
    clock.now += 0.3
    window.release(ticket, ok())
    assert REGISTRY.get_sample_value("gateway_jira_window_slots", site) == window.slots > 4
    pace = REGISTRY.get_sample_value("gateway_jira_pace_per_second", {**site, "kind": "read"})
    assert pace == pytest.approx(LIMIT * Tuning().pace_fraction * window.pace_scale)


async def test_an_answer_with_nothing_left_skips_one_beat_of_the_pace() -> None:
    clock, sleep = ManualClock(), RecordingSleep()
    window = await paced_window(clock, sleep, Tuning(pace_fraction=1.0))
    first = await window.acquire(sleep, "POST")
    window.release(first, ok(remaining=0))
    await window.acquire(sleep, "POST")
    assert sleep.delays == [pytest.approx(0.02)]  # two intervals of 10 ms, not one


async def test_an_answer_with_budget_left_skips_no_beat() -> None:
    """The counterpart: the same departures, one interval apart."""
    clock, sleep = ManualClock(), RecordingSleep()
    window = await paced_window(clock, sleep, Tuning(pace_fraction=1.0))
    first = await window.acquire(sleep, "POST")
    window.release(first, ok(remaining=1))
    await window.acquire(sleep, "POST")
    assert sleep.delays == [pytest.approx(0.01)]


async def test_a_refusal_of_a_paced_request_skips_one_beat_too() -> None:
    clock, sleep = ManualClock(), RecordingSleep()
    window = await paced_window(clock, sleep, Tuning(pace_fraction=1.0))
    first = await window.acquire(sleep, "POST")
    window.release(first, refused(retry_after=0.0))
    await window.acquire(sleep, "POST")
    assert sleep.delays == [pytest.approx(0.02)]  # its own 10 ms beat and one skipped
