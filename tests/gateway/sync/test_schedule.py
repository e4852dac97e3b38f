"""Ticks start every poll interval measured from the previous slot, not from the previous start.

Time is the shared scenario clock: the test moves it to where the scheduler's beat
would land, then lets the real worker run what the beat queued. A tick queued ahead
of its slot waits for it in the queue (deferred by the real seconds to the slot).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gateway.clock import as_utc, utcnow
from gateway.jobs import tick_job_id
from gateway.models import DomainConfig
from gateway.sync.scheduler import enqueue_due_work, tick_due_at
from gateway.sync.tick import next_slot
from tests.world import World

INTERVAL = 60
BEAT = 5.0


def started_at(world: World) -> datetime:
    started = as_utc(world.domain().last_poll_at)
    assert started is not None
    return started


async def beat_and_run(world: World) -> list[str]:
    """One scheduler beat (looking one beat ahead, as the worker's cron does), then the jobs."""
    queued = await enqueue_due_work(world.engine, world.pool, lookahead_seconds=BEAT)
    await world.run_worker()
    return queued


async def test_ten_ticks_drift_less_than_a_second(world: World) -> None:
    """The schedule itself does not drift: every slot is the first start plus a whole
    number of intervals, even after a late tick. How late each tick starts after its slot
    is the machine's latency (the queue's deferral, the worker's poll), kept under a beat:
    the old schedule (interval + scheduler beat, from the previous start) was a beat late
    after one tick and ten beats after ten."""
    world.add_domain(poll_interval_seconds=INTERVAL)
    rng = random.Random(17)
    assert await beat_and_run(world) == [tick_job_id(world.domain_id)]
    first = started_at(world)
    starts, slots = [first], [first]
    for n in range(10):
        slot = as_utc(world.domain().next_poll_at)
        assert slot is not None
        slots.append(slot)
        if n == 4:
            # A late beat (a busy worker): this tick starts 3 s after its slot...
            world.advance((slot - utcnow()).total_seconds() + 3)
        else:
            # The beat lands somewhere in the beat before the slot; the tick waits for it.
            world.advance((slot - utcnow()).total_seconds() - rng.uniform(0.05, 0.4))
        assert await beat_and_run(world) == [tick_job_id(world.domain_id)]
        starts.append(started_at(world))

    drift = [
        (slot - (first + timedelta(seconds=INTERVAL * k))).total_seconds()
        for k, slot in enumerate(slots)
    ]
    assert drift == [0.0] * 11, drift
    lateness = [(start - slot).total_seconds() for start, slot in zip(starts, slots, strict=True)]
    assert 3 <= lateness[5] < 3 + BEAT, lateness
    # ...and the ticks after it are back on their slots: no lateness carries over.
    on_time = lateness[:5] + lateness[6:]
    assert all(0 <= late < BEAT for late in on_time), lateness


async def test_no_tick_is_queued_before_the_beat_that_precedes_its_slot(world: World) -> None:
    world.add_domain(poll_interval_seconds=INTERVAL)
    await beat_and_run(world)
    slot = as_utc(world.domain().next_poll_at)
    assert slot is not None
    world.advance((slot - utcnow()).total_seconds() - BEAT - 1)
    assert await enqueue_due_work(world.engine, world.pool, lookahead_seconds=BEAT) == []


def domain(interval: int, *, last: datetime | None, slot: datetime | None) -> DomainConfig:
    return DomainConfig(
        name="acme",
        pf_base_url="https://pf.example",
        jira_base_url="https://jira.example",
        poll_interval_seconds=interval,
        last_poll_at=last,
        next_poll_at=slot,
    )


NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_a_tick_far_behind_its_slot_restarts_the_rhythm_from_its_start() -> None:
    # Workers were down for ten minutes: one tick now, the next an interval later.
    stale = domain(60, last=NOON - timedelta(minutes=11), slot=NOON - timedelta(minutes=10))
    assert next_slot(stale, NOON) == NOON + timedelta(seconds=60)


def test_an_early_manual_tick_restarts_the_rhythm_from_its_start() -> None:
    ahead = domain(60, last=NOON - timedelta(seconds=30), slot=NOON + timedelta(seconds=30))
    assert next_slot(ahead, NOON) == NOON + timedelta(seconds=60)


def test_a_tick_on_its_slot_schedules_the_next_slot_not_its_start_plus_the_interval() -> None:
    on_slot = domain(60, last=NOON - timedelta(seconds=60), slot=NOON)
    assert next_slot(on_slot, NOON + timedelta(seconds=4)) == NOON + timedelta(seconds=60)


def test_a_shortened_interval_applies_before_the_old_slot() -> None:
    shortened = domain(30, last=NOON, slot=NOON + timedelta(seconds=3600))
    assert tick_due_at(shortened) == NOON + timedelta(seconds=30)
    assert tick_due_at(domain(30, last=None, slot=None)) is None
