"""The adaptive Jira window: grows per window of successes, shrinks on the site's word.

A manual clock and a recording sleep stand in for time, so nothing here waits.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway.clients.rate_window import (
    RateWindow,
    Signal,
    SiteWindows,
    Ticket,
    Tuning,
    limit_kind,
    read_signal,
)

from .conftest import RecordingSleep

NO_PACE = Tuning(pace_fraction=0.0)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok(remaining: int | None = None, limit: int | None = None) -> Signal:
    return Signal(status=200, limit=limit, remaining=remaining)


async def round_trip(window: RateWindow, signal: Signal, sleep: RecordingSleep) -> None:
    """Fill the window, then answer every request in it with ``signal``."""
    tickets = [await window.acquire(sleep) for _ in range(window.slots)]
    for ticket in tickets:
        window.release(ticket, signal)


async def test_slow_start_doubles_the_window_per_round_trip_of_successes() -> None:
    sleep = RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(initial=2, pace_fraction=0.0))
    sizes = []
    for _ in range(4):
        await round_trip(window, ok(), sleep)
        sizes.append(window.slots)
    assert sizes == [4, 8, 16, 32]


async def test_after_slow_start_the_window_grows_by_one_per_window_of_successes() -> None:
    sleep = RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(initial=8, pace_fraction=0.0))
    window.slow_start = False
    await round_trip(window, ok(), sleep)
    assert window.slots == 9
    await round_trip(window, ok(), sleep)
    assert window.slots == 10


async def test_a_window_that_is_not_full_does_not_grow() -> None:
    """One request at a time never proves that eight at a time are welcome."""
    sleep = RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(initial=8, pace_fraction=0.0))
    for _ in range(50):
        window.release(await window.acquire(sleep), ok())
    assert window.slots == 8


async def test_a_429_halves_the_window_and_pauses_every_slot_for_retry_after() -> None:
    clock, sleep = ManualClock(), RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(initial=16, pace_fraction=0.0), clock=clock)
    tickets = [await window.acquire(sleep) for _ in range(16)]
    window.release(tickets[0], Signal(status=429, retry_after=3.0))
    assert window.slots == 8
    assert window.refusals == 1
    for ticket in tickets[1:]:
        window.release(ticket, None)
    assert sleep.delays == []
    await window.acquire(sleep)  # any other request waits for the pause first
    assert sleep.delays == [3.0]


async def test_one_hot_issue_refused_neither_shrinks_nor_pauses_the_site() -> None:
    sleep = RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(initial=16))
    ticket = await window.acquire(sleep, "PUT")
    refused = Signal(429, limit=20, remaining=0, retry_after=2.0, reason="jira-per-issue-on-write")
    window.release(ticket, refused)
    assert (window.slots, window.paused_until, window.intervals) == (16, 0.0, {})
    assert window.refusals == 1
    tenant = Signal(429, limit=50, remaining=0, retry_after=2.0, reason="jira-burst-based")
    window.release(await window.acquire(sleep, "PUT"), tenant)
    assert window.slots == 8 and window.paused_until > 0.0


async def test_refusals_to_requests_sent_before_the_decrease_count_once() -> None:
    """A burst of 429s for one overfull window is one signal, not sixteen halvings."""
    sleep = RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(initial=16, pace_fraction=0.0))
    tickets = [await window.acquire(sleep) for _ in range(16)]
    for ticket in tickets:
        window.release(ticket, Signal(status=429, retry_after=1.0))
    assert window.slots == 8
    assert window.decreases == 1
    later = await window.acquire(sleep)
    window.release(later, Signal(status=429, retry_after=1.0))
    assert window.slots == 4


async def test_the_window_never_drops_below_the_floor_nor_grows_above_the_cap() -> None:
    sleep = RecordingSleep()
    window = RateWindow(cap=6, tuning=Tuning(floor=2, initial=4, pace_fraction=0.0))
    for _ in range(10):
        await round_trip(window, ok(), sleep)
    assert window.slots == 6
    for _ in range(10):
        await round_trip(window, Signal(status=429, retry_after=0.0), sleep)
    assert window.slots == 2


async def test_little_budget_left_shrinks_the_window_and_some_left_holds_it() -> None:
    sleep = RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(initial=10, pace_fraction=0.0))
    await round_trip(window, ok(remaining=5, limit=100), sleep)  # under 10% left: hold
    assert window.slots == 10
    assert not window.slow_start
    await round_trip(window, ok(remaining=1, limit=100), sleep)  # under 2% left: shrink
    assert window.slots == 8
    assert window.paused_until == 0.0
    await round_trip(window, ok(remaining=60, limit=100), sleep)
    assert window.slots == 9


async def test_near_limit_without_remaining_stops_slow_start() -> None:
    sleep = RecordingSleep()
    window = RateWindow(cap=64, tuning=NO_PACE)
    await round_trip(window, Signal(status=200, near_limit=True), sleep)
    assert window.slots == 4
    assert not window.slow_start


async def test_a_stated_limit_spaces_departures_of_its_kind() -> None:
    clock, sleep = ManualClock(), RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(pace_fraction=0.5), clock=clock)
    window.release(await window.acquire(sleep, "POST"), ok(remaining=90, limit=100))
    assert window.intervals == {"read": pytest.approx(0.02)}
    await window.acquire(sleep, "POST")
    await window.acquire(sleep, "POST")
    await window.acquire(sleep, "PUT")  # another limit: not paced yet
    assert sleep.delays == [pytest.approx(0.02)]


async def test_a_refusal_despite_the_pace_slows_it_and_successes_win_it_back() -> None:
    clock, sleep = ManualClock(), RecordingSleep()
    tuning = Tuning(pace_fraction=1.0, pace_backoff=0.5, pace_recovery=0.25)
    window = RateWindow(cap=64, tuning=tuning, clock=clock)
    window.release(await window.acquire(sleep), ok(remaining=90, limit=10))
    window.release(await window.acquire(sleep), Signal(429, limit=10, retry_after=0.0))
    assert window.pace_scale == 0.5
    clock.now += 10.0
    first = await window.acquire(sleep)
    second = await window.acquire(sleep)
    assert sleep.delays[-1] == pytest.approx(0.2)  # 0.1 s between departures, slowed by half
    window.release(first, ok(remaining=90, limit=10))
    window.release(second, ok(remaining=90, limit=10))
    assert window.pace_scale == 1.0


async def test_a_stall_does_not_bank_a_burst_of_departures() -> None:
    clock, sleep = ManualClock(), RecordingSleep()
    window = RateWindow(cap=64, tuning=Tuning(pace_fraction=1.0), clock=clock)
    window.release(await window.acquire(sleep), ok(remaining=90, limit=10))
    await window.acquire(sleep)
    clock.now += 5.0
    await window.acquire(sleep)
    await window.acquire(sleep)
    assert sleep.delays == [pytest.approx(0.1)]


async def test_a_waiter_gets_the_slot_a_finished_request_gives_back() -> None:
    sleep = RecordingSleep()
    window = RateWindow(cap=1, tuning=Tuning(initial=1, pace_fraction=0.0))
    first = await window.acquire(sleep)
    second = asyncio.create_task(window.acquire(sleep))
    await asyncio.sleep(0)
    assert not second.done()
    window.release(first, ok())
    ticket = await asyncio.wait_for(second, 1.0)
    assert window.in_flight == 1
    window.release(ticket, None)
    assert window.in_flight == 0


async def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    sleep = RecordingSleep()
    window = RateWindow(cap=1, tuning=Tuning(initial=1, pace_fraction=0.0))
    first = await window.acquire(sleep)
    cancelled = asyncio.create_task(window.acquire(sleep))
    waiting = asyncio.create_task(window.acquire(sleep))
    await asyncio.sleep(0)
    window.release(first, ok())
    cancelled.cancel()
    await asyncio.sleep(0)
    ticket = await asyncio.wait_for(waiting, 1.0)
    assert isinstance(ticket, Ticket)
    assert window.in_flight == 1


def test_signal_reads_jiras_headers_and_tolerates_garbage() -> None:
    request = httpx.Request("POST", "https://acme.atlassian.test/rest/api/3/issue")
    headers = {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "7",
        "X-RateLimit-NearLimit": "true",
        "Retry-After": "2",
        "Beta-Retry-After": "5",
        "RateLimit-Reason": "jira-burst-based",
    }
    signal = read_signal(httpx.Response(429, headers=headers, request=request))
    assert signal == Signal(
        429, 100, 7, 2.0, near_limit=True, beta_retry_after=True, reason="jira-burst-based"
    )
    assert signal.refused
    garbage = {"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "", "Retry-After": "soon"}
    signal = read_signal(httpx.Response(503, headers=garbage, request=request))
    assert signal == Signal(503)
    assert not signal.refused  # a 503 without Retry-After is an outage, not a limit
    assert read_signal(httpx.Response(503, headers={"Retry-After": "1"}, request=request)).refused


def test_limit_kinds_follow_jiras_burst_limits() -> None:
    assert [limit_kind(m) for m in ("GET", "POST", "PUT", "delete")] == [
        "read",
        "read",
        "write",
        "write",
    ]


def test_one_window_per_site_whatever_the_spelling_and_the_cap_follows_the_domain() -> None:
    windows = SiteWindows()
    first = windows.for_site("https://Acme.atlassian.net/", cap=64)
    again = windows.for_site("https://acme.atlassian.net", cap=3)
    assert again is first
    assert first.cap == 3 and first.slots == 3
    assert windows.for_site("https://other.atlassian.net", cap=8) is not first
    assert len(windows) == 2


def test_bad_tuning_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="floor"):
        Tuning(floor=0)
    with pytest.raises(ValueError, match="shrink_fraction"):
        Tuning(shrink_fraction=0.5, hold_fraction=0.1)
    with pytest.raises(ValueError, match="factors"):
        Tuning(refused_factor=1.0)
    with pytest.raises(ValueError, match="factors"):
        Tuning(pace_backoff=0.0)
    with pytest.raises(ValueError, match="floor <= cap"):
        RateWindow(cap=1, tuning=Tuning(floor=2))
