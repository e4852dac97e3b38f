"""The sweep's window, query and schedule: pure functions, checked at their edges.

The window must cover every minute since the last successful sweep (plus an
overlap), never less than a day or the domain's setting; the query names the
domain's label; the daily schedule is strictly after now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.models import DomainConfig
from gateway.sync.sweeper import next_sweep_after, sweep_jql, sweep_window

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def domain(
    *,
    last_sweep_at: datetime | None = None,
    sweep_window_hours: int = 24,
    tracking_label: str = "PeopleForce",
) -> DomainConfig:
    return DomainConfig(
        name="acme",
        pf_base_url="https://acme.peopleforce.test/api/public/v3",
        jira_base_url="https://acme.atlassian.test",
        last_sweep_at=last_sweep_at,
        sweep_window_hours=sweep_window_hours,
        tracking_label=tracking_label,
    )


def test_without_a_previous_sweep_the_window_is_a_day() -> None:
    assert sweep_window(domain(), NOW) == timedelta(hours=24)


def test_a_recent_sweep_still_gets_the_one_day_floor() -> None:
    last = NOW - timedelta(hours=2)
    assert sweep_window(domain(last_sweep_at=last), NOW) == timedelta(hours=24)


def test_a_longer_domain_setting_raises_the_floor() -> None:
    assert sweep_window(domain(sweep_window_hours=48), NOW) == timedelta(hours=48)
    last = NOW - timedelta(hours=30)
    assert sweep_window(domain(sweep_window_hours=48, last_sweep_at=last), NOW) == timedelta(
        hours=48
    )


def test_a_shorter_domain_setting_never_lowers_the_floor() -> None:
    assert sweep_window(domain(sweep_window_hours=1), NOW) == timedelta(hours=24)


def test_downtime_is_covered_with_the_overlap() -> None:
    last = NOW - timedelta(days=3)
    assert sweep_window(domain(last_sweep_at=last), NOW) == timedelta(days=3, hours=1)


def test_just_past_the_floor_the_overlap_is_added() -> None:
    last = NOW - timedelta(hours=23, minutes=30)
    assert sweep_window(domain(last_sweep_at=last), NOW) == timedelta(hours=24, minutes=30)


def test_a_naive_last_sweep_from_sqlite_counts_as_utc() -> None:
    last = (NOW - timedelta(days=2)).replace(tzinfo=None)
    assert sweep_window(domain(last_sweep_at=last), NOW) == timedelta(days=2, hours=1)


def test_the_query_names_the_label_and_the_window_in_whole_minutes() -> None:
    jql = sweep_jql(domain(tracking_label="PeopleForce"), timedelta(hours=24))
    assert jql == 'labels = "PeopleForce" AND statusCategory = Done AND updated >= "-1440m"'


@pytest.mark.parametrize(
    ("window", "minutes"),
    [(timedelta(seconds=1), 1), (timedelta(seconds=60), 1), (timedelta(seconds=61), 2)],
)
def test_the_window_is_rounded_up_never_down(window: timedelta, minutes: int) -> None:
    assert sweep_jql(domain(tracking_label="x"), window).endswith(f'updated >= "-{minutes}m"')


def test_a_label_with_quotes_is_escaped() -> None:
    jql = sweep_jql(domain(tracking_label='HR "sync" \\ team'), timedelta(hours=24))
    assert jql.startswith('labels = "HR \\"sync\\" \\\\ team" AND ')


@pytest.mark.parametrize(
    ("now", "sweep_time", "expected"),
    [
        (datetime(2026, 11, 30, 2, 59, tzinfo=UTC), "03:00", datetime(2026, 11, 30, 3, 0)),
        (datetime(2026, 11, 30, 3, 0, tzinfo=UTC), "03:00", datetime(2026, 12, 1, 3, 0)),
        (datetime(2026, 11, 30, 4, 0, tzinfo=UTC), "03:00", datetime(2026, 12, 1, 3, 0)),
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "22:15", datetime(2027, 1, 1, 22, 15)),
        (datetime(2026, 11, 30, 6, 0, tzinfo=UTC), "7:5", datetime(2026, 11, 30, 7, 5)),
        (datetime(2026, 11, 30, 1, 0, tzinfo=UTC), "never", datetime(2026, 11, 30, 3, 0)),
        (datetime(2026, 11, 30, 1, 0, tzinfo=UTC), "25:00", datetime(2026, 11, 30, 3, 0)),
        (datetime(2026, 11, 30, 1, 0, tzinfo=UTC), "04", datetime(2026, 11, 30, 3, 0)),
    ],
    ids=["before", "exactly-then", "after", "new-year", "unpadded", "garbage", "hour-25", "no-min"],
)
def test_the_next_sweep_is_the_next_daily_time_strictly_after_now(
    now: datetime, sweep_time: str, expected: datetime
) -> None:
    assert next_sweep_after(now, sweep_time) == expected.replace(tzinfo=UTC)
